/* jx/sequential.h: a model as a list of layers applied in order (flax.linen.Sequential,
 * torch.nn.Sequential), its parameters a tree with one subtree per named layer.
 *
 *     jx_nn_layer mlp[] = {
 *         jx_nn_seq_flatten(),
 *         jx_nn_seq_dense("dense1", 512), jx_nn_seq_relu(), jx_nn_seq_dropout(0.1),
 *         jx_nn_seq_dense("dense2", 10),
 *     };
 *     jx_tree *params = jx_nn_sequential_init(mlp, 5, JX_AVAL(JX_F32, 1, 28, 28, 1), key);
 *     // params: {dense1: {w f32[784,512], b f32[512]}, dense2: {w f32[512,10], b f32[10]}}
 *     ...
 *     // inside a body over trees: in[0] the params (traced), x (B,28,28,1), key u32[2]
 *     jx_val logits = jx_nn_sequential_apply(mlp, 5, in[0], x, key);   // JX_NONE: eval mode
 *
 * Shapes are inferred at init from the input's aval (only its trailing dims matter, the
 * batch may be 1), as Flax's init does: each layer's parameters are sized from the aval
 * its predecessors give. A layer of your own is a jx_nn_layer with your params and
 * apply functions (and its settings in n, rate and user); a sequential model is itself
 * usable as one layer of a bigger model by calling jx_nn_sequential_apply on a subtree. */
#ifndef JX_SEQUENTIAL_H
#define JX_SEQUENTIAL_H

#include <jx.h>
#include <jx/layers.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jx_nn_layer jx_nn_layer;

/* One layer: how to size its parameters and how to apply it. */
struct jx_nn_layer {
    const char *name; /* its subtree in the parameters; NULL for a layer without any */
    /* The specs of its parameters (at most JX_NN_MAX_PARAMS) for an input of aval `in`;
     * returns their count, 0 for none, or -1 after recording an error. NULL: none. */
    int (*params)(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *specs);
    /* y = layer(x): p is its subtree of parameters (NULL when it has none), key a u32[2]
     * PRNG key for this layer in training, JX_NONE in evaluation. */
    jx_val (*apply)(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key);
    int64_t n[4];         /* integer settings: features, kernel and window sizes, strides */
    double rate;          /* a real setting: dropout's rate */
    jx_nn_padding padding;
    const void *user;     /* anything else a layer of your own needs */
};

/* Dense with bias to `features` outputs over the last axis (jx_nn_dense). */
jx_nn_layer jx_nn_seq_dense(const char *name, int64_t features);
/* conv2d with bias, `features` outputs, a kh x kw kernel, stride 1 (jx_nn_conv2d). */
jx_nn_layer jx_nn_seq_conv2d(const char *name, int64_t features, int64_t kh, int64_t kw, jx_nn_padding padding);
/* Max and average pooling over k x k windows with stride s, VALID. */
jx_nn_layer jx_nn_seq_max_pool(int64_t k, int64_t s);
jx_nn_layer jx_nn_seq_avg_pool(int64_t k, int64_t s);
/* Layer norm over the last axis with scale and bias, eps 1e-6 (jx_nn_layer_norm). */
jx_nn_layer jx_nn_seq_layer_norm(const char *name);
/* Dropout with `rate` (jx_nn_dropout) when a key is given, the identity without. */
jx_nn_layer jx_nn_seq_dropout(double rate);
/* Activations, and the flattening of every axis after the first (the batch). */
jx_nn_layer jx_nn_seq_relu(void);
jx_nn_layer jx_nn_seq_gelu(void);
jx_nn_layer jx_nn_seq_tanh(void);
jx_nn_layer jx_nn_seq_flatten(void);

/* The parameters of layers[0..n) for inputs of aval `input` (f32 or f64, the dtype of
 * every parameter; the lecun_normal kernels of dense and conv2d draw f32 only, as
 * jax.random under JAX's default configuration): one dict per named layer of its parameters, each drawn with its
 * layer's default initializer (Flax's) from `key` folded with the parameter's number.
 * NULL with jx_errmsg() naming the layer on a failure (a duplicate name, a layer that
 * does not fit its input). */
jx_tree *jx_nn_sequential_init_at(jx_loc loc, const jx_nn_layer *layers, int n, jx_aval input,
                                  const jx_array *key);
#define jx_nn_sequential_init(...) jx_nn_sequential_init_at(JX_HERE, __VA_ARGS__)

/* Applies layers[0..n) to x in order, inside a traced body; params is the tree of
 * traced values that jx_nn_sequential_init's tree became. key: a u32[2] key (training:
 * layer i gets fold_in(key, i)) or JX_NONE (evaluation: dropout off). */
jx_val jx_nn_sequential_apply_at(jx_loc loc, const jx_nn_layer *layers, int n, const jx_tree *params, jx_val x,
                                 jx_val key);
#define jx_nn_sequential_apply(...) jx_nn_sequential_apply_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* JX_SEQUENTIAL_H */
