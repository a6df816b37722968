/* mlp.h: a stack of dense layers for the tutorials whose models are multi-layer
 * perceptrons (autoencoders, classifiers): its parameters as a tree {NAME.w, NAME.b} per
 * layer, drawn from common/tut.h's generator so that the NumPy and JAX references
 * (common/mlp.py) start from the same numbers, and its forward pass with jx_nn_dense.
 *
 *     static const char *const names[] = {"enc", "dec"};
 *     static const int64_t widths[] = {784, 32, 784};
 *     mlp m = {2, names, widths};
 *     jx_tree *params = mlp_init(&m, seed);          // enc.w (784,32) ... dec.b (784)
 *     jx_val logits = mlp_forward(&m, params, x);     // inside a body: relu between layers */
#ifndef JX_TUT_MLP_H
#define JX_TUT_MLP_H

#include <jx.h>
#include <jx/tree.h>
#include <stdint.h>

typedef struct mlp {
    int layers;                /* dense layers */
    const char *const *names;  /* layers names: the tree's top-level keys */
    const int64_t *widths;     /* layers + 1 widths: input, hidden..., output */
} mlp;

/* A new tree of host arrays: layer l's w (widths[l], widths[l+1]) is tut_weights(seed + 1 + l)
 * scaled by sqrt(2 / fan_in) (He, for the relu that follows) or, for the last layer,
 * sqrt(1 / fan_in) (LeCun), the scale rounded to f32; b is zeros. NULL with jx_errmsg() set
 * on failure. */
jx_tree *mlp_init(const mlp *m, uint64_t seed);

/* Inside a body: x (..., widths[0]) through the layers of params, relu after every layer
 * but the last  ->  (..., widths[layers]). */
jx_val mlp_forward(const mlp *m, const jx_tree *params, jx_val x);

#endif
