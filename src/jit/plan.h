/* plan.h: the jit core's own internals, shared by jit.c, pipeline.c, plan.c, exec.c,
 * exec_control.c and nancheck.c: the program of steps an executable runs (one
 * per fusion group, nested programs for cond/while/scan bodies), its buffer plan (slots
 * reused by liveness, in-place kernels, donation), and the executor's entry points. */
#ifndef JX_JIT_PLAN_H
#define JX_JIT_PLAN_H

#include "jit.h"

/* ------------------------------------------------------------------ pipeline (pipeline.c) */

/* The function jit compiles: every call, custom_jvp_call, custom_vjp_call and
 * checkpoint inlined (at run time they are just their `fn`), in nested functions too,
 * then jx_fn_simplify. Dumps JX_DUMP=ir / passes. NULL with the error set. */
jx_fn *jx__jit_prepare(jx_loc loc, const jx_fn *f);

/* ------------------------------------------------------------------ programs (plan.c) */

typedef struct jx__prog jx__prog;

/* One fusion group, ready to run. */
typedef struct jx__step {
    jx__gkind kind;       /* what the executor does; a LOOP or DOT/CONV group the backend
                           * cannot take runs as OPAQUE (its equations through the interpreter) */
    const jx__group *g;   /* in the program's fusion */
    jx__kernel *kernel;   /* LOOP: owned by the executable's module (the backend's type) */
    int64_t grain;        /* LOOP: least iterations per thread-pool chunk */
    int32_t *inplace;     /* per g->out: index into g->in whose storage it may take, or -1 */
    int32_t nfree;
    int32_t *free;        /* variables whose last reader is this step (released after it) */
    int32_t nsubs;
    jx__prog **subs;      /* CONTROL: cond's branches; while's cond, body; scan's body */
    const char *note;     /* why a group fell back to OPAQUE (static text), or NULL */
    jx__conv_view *view;  /* CONV with transposes in its group: how the conv reads and
                           * writes through them (fuse.c), found once here; else NULL */
} jx__step;

struct jx__prog {
    jx_fn *f; /* retained */
    const jx__backend *be; /* whose kernels the steps hold */
    jx__fusion *fu;
    int32_t nsteps;
    jx__step *steps;
    int32_t *last;  /* per variable: the last step reading it; nsteps for outputs; -1 none */
    int32_t *slot;  /* per variable: its buffer slot, or -1 (never stored: group-internal) */
    int32_t nslots;
    size_t *slot_bytes;
    bool *donate;   /* per input: its storage may be reused (opts.donate at the top level) */
    struct jx__prof *prof; /* JX_DUMP=profile: the top level's step times (profile.c), or NULL */
};

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

/* Runs the equations of group g of f one by one with the interpreter's impl rules: env
 * (per variable) holds the operands and receives every output (new references). With
 * check_nan, fails at the first equation whose float output holds a NaN (nancheck.c). */
jx_status jx__run_eqns_interp(const jx_fn *f, const jx__group *g, jx_array **env, bool check_nan);


/* ------------------------------------------------------------------ NaN checks (nancheck.c) */

/* Whether a float array holds a NaN (false for other dtypes). */
bool jx__array_has_nan(const jx_array *a);
/* The JX_DEBUG_NANS failure for equation e: "<file>:<line>: <prim>: produced NaN". */
jx_status jx__nan_fail(const jx__eqn *e);

#endif /* JX_JIT_PLAN_H */
