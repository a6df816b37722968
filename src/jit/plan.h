/* plan.h: the jit core's own internals, shared by jit.c, pipeline.c, plan.c, exec.c and
 * exec_control.c: building the program of steps an executable runs (its types are in
 * src/backends/prog.h: one step per fusion group, nested programs for cond/while/scan
 * bodies, the buffer plan of slots reused by liveness, in-place kernels, donation), and
 * the CPU executor's entry points. */
#ifndef JX_JIT_PLAN_H
#define JX_JIT_PLAN_H

#include "jit.h"
#include "../backends/interp/run_group.h"

/* ------------------------------------------------------------------ pipeline (pipeline.c) */

/* The function jit compiles for backend be (NULL: the interpreter): every call,
 * custom_jvp_call, custom_vjp_call and checkpoint inlined (at run time they are just
 * their `fn`), in nested functions too, what be cannot take lowered (pooling where it has
 * no window_ok, sort and top_k where it has owner_folds: below), then jx_fn_simplify,
 * then the convs be declines with their padding as a pad where it asks (below). Dumps
 * JX_DUMP=ir / passes. NULL with the error set. */
jx_fn *jx__jit_prepare(jx_loc loc, const jx_fn *f, const jx__backend *be);

/* ------------------------------------------------------------------ pooling lowered (lower_window.c) */

/* Whether window op e (reduce_window_*, select_and_{scatter,gather}_add) of f has a
 * lowering to slices, pads, concatenates and elementwise ops with the interpreter's bits. */
bool jx__window_lowerable(const jx_fn *f, const jx__eqn *e);
/* Binds e's lowering on the current trace with operands in[]; out[0] its result. The
 * trace's status (errors are set on it). */
jx_status jx__window_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out);

/* ------------------------------------------------------------------ sort lowered (lower_sort.c) */

/* Whether sort or top_k e of f is lowered for backend be (owner_folds, and within the
 * work bound) to comparisons, sums and a gather with the interpreter's bits. */
bool jx__sort_lowerable(const jx__backend *be, const jx_fn *f, const jx__eqn *e);
/* Binds e's lowering on the current trace with operands in[]; out[] its results. The
 * trace's status. */
jx_status jx__sort_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out);

/* ------------------------------------------------------------------ convs with explicit pads (lower_conv.c) */

/* Whether conv e of f, which be declines, has lhs dilation or padding to make a pad of
 * (be->conv_explicit_pads). */
bool jx__conv_lowerable(const jx__backend *be, const jx_fn *f, const jx__eqn *e);
/* Binds pad(x, 0, lo, hi, lhs dilation - 1) and a conv of it with neither on the current
 * trace; out[0] its result. The trace's status. */
jx_status jx__conv_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out);

/* ------------------------------------------------------------------ programs (plan.c) */

/* Builds the program of f (calls inlined) and, recursively, of the functions nested in
 * its cond/while/scan equations. LOOP groups get their kernels from backend be's module
 * mod (NULL: none, they run through the interpreter); be also says which library calls
 * run as DOT/CONV steps. donate: per input of f, or NULL. NULL with the error set. */
jx__prog *jx__prog_build(const jx_fn *f, bool fuse, const jx__backend *be, void *mod, const bool *donate);
void jx__prog_free(jx__prog *p);
/* Steps, kernels and slots as text (JX_DUMP=plan); nested programs indented. A step
 * kind's name ("LOOP", "DOT", ...). */
void jx__prog_print(FILE *out, const jx__prog *p, int indent);
const char *jx__step_kind_name(jx__gkind k);

/* ------------------------------------------------------------------ profile (profile.c) */

/* JX_DUMP=profile: per program, the time of its runs and of each step, summed; printed
 * when freed (jx__prof_free, which jx__prog_free calls) or at exit. jx__prof_new returns
 * NULL when out of memory (then no profile). Times in nanoseconds (jx__prof_now). */
typedef struct jx__prof jx__prof;
jx__prof *jx__prof_new(const jx__prog *p);
int64_t jx__prof_now(void);
void jx__prof_step(jx__prof *pr, int k, int64_t ns);
void jx__prof_run(jx__prof *pr, int64_t ns);
void jx__prof_free(jx__prof *pr);

/* ------------------------------------------------------------------ executor (exec.c) */

/* What a run needs besides the program. */
typedef struct jx__rt {
    void *runner;  /* the backend's (jx__backend.runner_get: the CPU's thread pool) */
    bool nancheck; /* JX_DEBUG_NANS: check each step, keep inputs intact (no in-place) */
} jx__rt;

/* A program's run state (variables, spare buffers per slot); it keeps its spare buffers
 * between runs, so a loop body reuses its temporaries from one iteration to the next. */
typedef struct jx__frame jx__frame;
jx__frame *jx__frame_new(const jx__rt *rt, const jx__prog *p);
void jx__frame_free(jx__frame *fr);
/* Runs the program on in[] (borrowed; in[i] with donated[i] set may be overwritten when
 * nobody but the caller and the frame holds it); out[] receives new references. */
jx_status jx__frame_run(jx__frame *fr, jx_array *const *in, const bool *donated, jx_array **out);

/* Runs CONTROL step s (equation e of f: cond, while, scan) on its operand arrays; out[]
 * receives new references to the equation's outputs (exec_control.c). */
jx_status jx__control_run(const jx__rt *rt, const jx__step *s, const jx_fn *f, const jx__eqn *e,
                          jx_array *const *in, jx_array **out);

#endif /* JX_JIT_PLAN_H */
