/* nn_util.h: argument checks shared by the layers and losses of src/nn. Each check
 * records an error at the caller's place (jx_trace_error_at) naming the layer, the
 * argument and its aval, and returns 0, so a layer reads
 * `if (!jx__nn_rank(loc, "dense", "x", x, -2)) return JX_NONE;`. src/nn is a user of
 * the public API only. */
#ifndef JX_NN_UTIL_H
#define JX_NN_UTIL_H

#include <jx.h>

/* "f32[2,3]" for v, in a rotating buffer good for a few calls. */
const char *jx__nn_avs(jx_val v);

/* 0 (quietly) when the trace already failed; 0 with an error when x is not a valid
 * value; else 1. */
int jx__nn_valid(jx_loc loc, const char *what, const char *name, jx_val x);
/* x is valid and of a float dtype (f32, f64). */
int jx__nn_float(jx_loc loc, const char *what, const char *name, jx_val x);
/* x is valid, float, and of rank `rank`; a negative rank means at least -rank. */
int jx__nn_rank(jx_loc loc, const char *what, const char *name, jx_val x, int rank);
/* p (when not JX_NONE) is float, of like's dtype, and of shape `shape`. An absent
 * optional parameter (p.id < 0 and p == JX_NONE) passes. */
int jx__nn_param(jx_loc loc, const char *what, const char *name, jx_val p, jx_val like,
                 jx_ints shape);
/* A present optional parameter (not JX_NONE). */
int jx__nn_given(jx_val p);

/* x * s + b with s, b of shape (C) broadcast over x's last axis; either may be absent. */
jx_val jx__nn_affine(jx_loc loc, jx_val x, jx_val s, jx_val b);

/* Padding (lo, hi) of one spatial axis of size n for a window of size k (already
 * dilated) and a stride, as lax.padtype_to_pads does for SAME and VALID. */
void jx__nn_same_pads(int64_t n, int64_t k, int64_t stride, int64_t *lo, int64_t *hi);

#endif
