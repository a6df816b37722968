/* jx/attrib.h: attribution of a scalar output to an input: gradient x input and
 * integrated gradients (Sundararajan et al. 2017), as function transformations that
 * return a jx_fn to jit like any other.
 *
 *     // f: (params, x, onehot) -> sum(logits(params, x) * onehot), a float scalar
 *     jx_fn *ig = jx_integrated_gradients(f, 1, 32);   // (params, x, onehot, baseline) -> IG (x's shape)
 *     jx_exec *e = jx_jit(ig, JX_DEVICE_CPU, NULL);
 *
 * Integrated gradients IG = (x - b) * (1/m) sum_k grad f(b + a_k (x - b)) with the
 * midpoint rule a_k = (k + 1/2) / m, k = 0..m-1: the m gradients are one vmap of the
 * gradient over the interpolation points, so the whole path integral is one function
 * (one batched forward and backward pass). Completeness, sum(IG) = f(x) - f(b), holds
 * to the quadrature's error, O(1/m^2) for a smooth f (tests/nn/test_attrib.c checks it
 * and the values against JAX). */
#ifndef JX_ATTRIB_H
#define JX_ATTRIB_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* f has one output, a float scalar. Returns (f's inputs..., baseline) -> (IG), IG and
 * baseline of the shape of input argnum, m = steps interpolation points; NULL with
 * jx_errmsg() set. Release it. */
jx_fn *jx_integrated_gradients_at(jx_loc loc, const jx_fn *f, int argnum, int steps);
#define jx_integrated_gradients(...) jx_integrated_gradients_at(JX_HERE, __VA_ARGS__)

/* (f's inputs...) -> (x * grad f(x)) for x = input argnum (f as above). */
jx_fn *jx_grad_times_input_at(jx_loc loc, const jx_fn *f, int argnum);
#define jx_grad_times_input(...) jx_grad_times_input_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_ATTRIB_H */
