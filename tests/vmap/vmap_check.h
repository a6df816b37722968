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

#endif
