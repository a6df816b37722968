/* vmap_check.h: checks vmap against its definition, a loop of calls, for the vmap
 * suites: the batched function is evaluated once on the batched inputs and compared,
 * slice by slice, with the reference interpreter run on each slice of the inputs. */
#ifndef JX_TEST_VMAP_CHECK_H
#define JX_TEST_VMAP_CHECK_H

#include "harness.h"

/* Checks vmap(f, in_axes, out_axes=0) against a loop of jx_eval calls on slices:
 * in[i] are batched inputs (mapped at in_axes[i], or unmapped: JX_NOT_MAPPED); tol is
 * the max relative error. Returns 1 when equal (CUnit assertions are made inside,
 * naming `what` on failure). in is borrowed. */
int jt_check_vmap(const char *what, const jx_fn *f, jx_ints in_axes, int nin,
                  jx_array *const *in, double tol);

/* The same with out_axes (one entry per output of f, negative counting from the end of
 * the batched output's rank; JX_NOINTS: all 0). */
int jt_check_vmap_out(const char *what, const jx_fn *f, jx_ints in_axes, jx_ints out_axes,
                      int nin, jx_array *const *in, double tol);

/* Slice i of x along axis (host-side copy, the axis removed); NULL on a bad axis. */
jx_array *jt_slice_axis(const jx_array *x, int axis, int64_t i);

/* The same comparison for a vmapped function g made elsewhere (e.g. vmap of vmap, or
 * vmap_named): g(in) must equal f run on slices; in_axes as given to vmap (normalised
 * here), axis_size -1 to take it from the mapped inputs. */
int jt_check_vmapped(const char *what, const jx_fn *f, const jx_fn *g, jx_ints in_axes,
                     jx_ints out_axes, int64_t axis_size, int nin, jx_array *const *in,
                     double tol);

/* vmap of vmap: outer = vmap(vmap(f, in1, out1, size1), in2, out2, size2), checked with
 * jt_check_vmapped against the inner vmap run on slices along in2's axes (in are the
 * doubly batched inputs). A vmap that fails is a CUnit failure (returns 0). */
int jt_check_vmap_nested(const char *what, const jx_fn *f, jx_ints in1, jx_ints out1,
                         int64_t size1, jx_ints in2, jx_ints out2, int64_t size2, int nin,
                         jx_array *const *in, double tol);

/* One input of a vmap case: what f sees (av), where its mapped axis goes (its in_axes
 * entry, or JX_NOT_MAPPED), and the range [lo, hi) of its values (for fill, which may
 * ignore it). */
typedef struct jt_vinput {
    jx_aval av;
    int64_t axis;
    double lo, hi;
} jt_vinput;

/* A suite's value generator: fills v[0..n) for a batched array of input in. */
typedef void (*jt_vfill)(const jt_vinput *in, int64_t n, double *v);

/* The batched array for in: av's shape with size inserted at in->axis (negative counts
 * from the end of the batched rank; nothing inserted when unmapped), values from fill. */
jx_array *jt_vmap_input(const jt_vinput *in, int64_t size, jt_vfill fill);

/* jt_check_vmap of f on batched inputs made by jt_vmap_input from in[0..nin) (nin <= 8),
 * in_axes from in[i].axis. */
int jt_check_vmap_inputs(const char *what, const jx_fn *f, int nin, const jt_vinput *in,
                         int64_t size, jt_vfill fill, double tol);

/* Traces body on the avals of in[0..nin) (nin <= 8) and checks its vmap as
 * jt_check_vmap_inputs does; when g is not NULL, vmap(f, in's axes, out axes 0, size)
 * goes to *g (NULL if tracing failed; release it). */
int jt_check_vmap_avals(const char *what, jx_body body, void *user, int nin, const jt_vinput *in,
                        int nout, int64_t size, jt_vfill fill, double tol, jx_fn **g);

/* ------------------------------------------------------------------ suite helpers */

/* A deterministic array of dtype t with values in [lo, hi) (an LCG started at seed),
 * floored for integer and bool dtypes. */
jx_array *jt_rnd(jx_dtype t, jx_ints shape, double lo, double hi, unsigned seed);

/* An array of dtype t whose element k (row-major) is val(k, seed). */
jx_array *jt_pattern(jx_dtype t, jx_ints shape, double (*val)(int64_t k, int seed), int seed);

/* jx_trace, printing the error (naming `name`) to stderr when it fails. */
jx_fn *jt_trace_or_say(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout);

/* Releases a[0..n) (NULL entries allowed). */
void jt_release_arrays(int n, jx_array **a);

#endif
