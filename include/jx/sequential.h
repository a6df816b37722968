/* jx/sequential.h: jx's one sequential model, jx_seq: a list of named layers applied in
 * order (flax.linen.Sequential, torch.nn.Sequential), held as data so that it can be
 * built from a table, edited (a layer inserted, replaced, a batch norm frozen), cut and
 * tapped; its parameters are a tree with one subtree per layer that has any.
 *
 *     jx_nn_layer mlp[] = {
 *         jx_nn_seq_flatten(),
 *         jx_nn_seq_dense("dense1", 512), jx_nn_seq_relu(), jx_nn_seq_dropout(0.1),
 *         jx_nn_seq_dense("dense2", 10),
 *     };
 *     jx_seq *model = jx_seq_of(mlp, 5);    // layers without a name get "relu1", ...
 *     jx_tree *params;
 *     jx_seq_init(model, JX_AVAL(JX_F32, 1, 28, 28, 1), key, &params, NULL);
 *     // params: {dense1: {w f32[784,512], b f32[512]}, dense2: {w f32[512,10], b f32[10]}}
 *     ...
 *     // inside a body over trees: in[0] the params (traced), x (B,28,28,1), key u32[2]
 *     jx_seq_ctx train = {.key = key};
 *     jx_val logits = jx_seq_apply(model, in[0], x, &train);   // NULL ctx: evaluation
 *     ...
 *     jx_seq_insert(model, 3, jx_nn_seq_dense("mid", 512));    // surgery (jx/surgery.h)
 *     jx_seq_free(model);
 *
 * Shapes are inferred at init from the input's aval (only its trailing dims matter, the
 * batch may be 1), as Flax's init does: each layer's parameters are sized from the aval
 * its predecessors give. A layer is a jx_nn_layer: the built-in ones below, or one of
 * your own with its params and apply functions (and its settings in n, rate and user).
 * Dense and conv layers read their node through jx_nn_apply_dense/conv (jx/surgery.h),
 * so a low-rank adapter added by jx_tree_add_adapter takes part without a code change,
 * and every layer's output passes through jx_tap (jx/taps.h) under the layer's name. */
#ifndef JX_SEQUENTIAL_H
#define JX_SEQUENTIAL_H

#include <stdio.h>

#include <jx.h>
#include <jx/layers.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jx_nn_layer jx_nn_layer;
struct jx_taps;

/* What one layer's apply sees besides its input and parameters. */
typedef struct jx_nn_layer_ctx {
    jx_val key;            /* a u32[2] PRNG key for this layer when training, else JX_NONE */
    const jx_tree *stats;  /* its running statistics (stats[name]), NULL when none */
    jx_tree *new_stats;    /* training: a dict to set its updated statistics into; NULL: evaluation */
    const char *axis_name; /* data parallel: the pmap axis that batch norm's statistics and
                            * dropout's mask span (the global batch); NULL: none */
} jx_nn_layer_ctx;

/* One layer: how to size its parameters and how to apply it. */
struct jx_nn_layer {
    const char *name; /* its subtree in the parameters; NULL: jx_seq names it by kind ("relu2") */
    const char *kind; /* "dense", "conv", "relu", ...: printing and automatic names (static) */
    /* The specs of its parameters and running statistics (is_state) for an input of aval
     * `in` (at most JX_NN_MAX_PARAMS); returns their count, 0 for none, or -1 after
     * recording an error. NULL: none. */
    int (*params)(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *specs);
    /* y = layer(x): p is its subtree of parameters (NULL when it has none). */
    jx_val (*apply)(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c);
    int64_t n[4];         /* integer settings: features, kernel and window sizes, strides */
    double rate;          /* a real setting: dropout's rate, batch norm's momentum */
    jx_nn_padding padding;
    int no_bias;          /* dense and conv: no bias (a batch norm follows) */
    const void *user;     /* anything else a layer of your own needs (borrowed) */
};

/* Dense with bias to `features` outputs over the last axis (jx_nn_apply_dense). */
jx_nn_layer jx_nn_seq_dense(const char *name, int64_t features);
/* conv2d with bias, `features` outputs, a kh x kw kernel, stride 1 (jx_nn_apply_conv). */
jx_nn_layer jx_nn_seq_conv2d(const char *name, int64_t features, int64_t kh, int64_t kw, jx_nn_padding padding);
/* The same layer without its bias. */
jx_nn_layer jx_nn_seq_no_bias(jx_nn_layer l);
/* The same layer under another name. */
jx_nn_layer jx_nn_seq_named(const char *name, jx_nn_layer l);
/* Batch norm over the last axis, eps 1e-5: params {scale, bias}, statistics {mean, var}.
 * Training (a new_stats dict in the context): the batch's statistics, the running ones
 * updated to momentum * old + (1 - momentum) * batch; otherwise the running ones. */
jx_nn_layer jx_nn_seq_batch_norm(const char *name, double momentum);
/* A frozen batch norm: the running statistics also when training, none updated. */
jx_nn_layer jx_nn_seq_batch_norm_frozen(const char *name);
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

/* ------------------------------------------------------------------ the model */

typedef struct jx_seq jx_seq;

/* An empty model; NULL when out of memory. */
jx_seq *jx_seq_new(void);
/* A model of layers[0..n) (copied); NULL with jx_errmsg() set on a bad or duplicate name. */
jx_seq *jx_seq_of(const jx_nn_layer *layers, int n);
void jx_seq_free(jx_seq *s);
/* Appends a layer, or inserts it at index (0 .. count). The layer is copied, its name
 * too; a NULL name becomes the layer's kind and the first free number ("relu2").
 * Names are unique: a taken one is an error naming it. */
jx_status jx_seq_add(jx_seq *s, jx_nn_layer l);
jx_status jx_seq_insert(jx_seq *s, int index, jx_nn_layer l);
/* Replaces the layer `name` by l, which keeps the name when its own is NULL (a batch
 * norm frozen: jx_seq_replace(s, "bn1", jx_nn_seq_batch_norm_frozen(NULL))). */
jx_status jx_seq_replace(jx_seq *s, const char *name, jx_nn_layer l);
/* A new model of layers [begin, end) of s (cut a model at a layer: the tail after a
 * tapped layer maps its activations to the output). NULL on a bad range. */
jx_seq *jx_seq_slice(const jx_seq *s, int begin, int end);
int jx_seq_count(const jx_seq *s);
int jx_seq_find(const jx_seq *s, const char *name); /* index, or -1 */
const char *jx_seq_name(const jx_seq *s, int i);     /* borrowed; NULL out of range */
const jx_nn_layer *jx_seq_layer(const jx_seq *s, int i); /* borrowed; NULL out of range */

/* The parameters (*params) and running statistics (*stats, may be NULL for a model
 * without any) of s for inputs of aval `input` (f32 or f64, the dtype of every array;
 * the lecun_normal kernels draw f32 only, as jax.random under JAX's default
 * configuration): one dict per layer that has any, each array drawn with its layer's
 * default initializer (Flax's) from `key` folded with the array's number in the model
 * (parameters and statistics counted together, in layer order). JX_OK, or an error
 * naming the layer (one that does not fit its input) with both outputs NULL. */
jx_status jx_seq_init_at(jx_loc loc, const jx_seq *s, jx_aval input, const jx_array *key, jx_tree **params,
                         jx_tree **stats);
#define jx_seq_init(...) jx_seq_init_at(JX_HERE, __VA_ARGS__)

/* How jx_seq_apply runs (zeros, or a NULL ctx: evaluation, no statistics, no taps). */
typedef struct jx_seq_ctx {
    const jx_tree *stats; /* the running statistics {name: {mean, var}} */
    jx_tree *new_stats;   /* training: a dict that receives each batch norm's updated
                           * statistics; NULL: evaluation */
    jx_val key;           /* training: a u32[2] key, layer i gets fold_in(key, i) (dropout);
                           * JX_NONE (or 0 from a zero initializer): no dropout */
    struct jx_taps *taps; /* each layer's output goes through jx_tap(taps, name, ...) */
    const char *axis_name; /* data parallel (a body under jx_pmap): batch norm averages its
                            * statistics over this axis and dropout draws this device's rows
                            * of the global batch's mask, so the devices compute what one
                            * device computes on the whole batch; NULL: none */
} jx_seq_ctx;

/* Runs the layers on x inside a body; params is the tree of traced values that
 * jx_seq_init's tree became; ctx may be NULL. */
jx_val jx_seq_apply_at(jx_loc loc, const jx_seq *s, const jx_tree *params, jx_val x, const jx_seq_ctx *ctx);
#define jx_seq_apply(...) jx_seq_apply_at(JX_HERE, __VA_ARGS__)
/* Prints the layers in order, each with its kind and its parameters (as
 * jx_tree_print_model), and the total. */
jx_status jx_seq_print(FILE *out, const jx_seq *s, const jx_tree *params);

#ifdef __cplusplus
}
#endif

#endif /* JX_SEQUENTIAL_H */
