/* seq_layers.c: the built-in layers of jx_seq (jx/sequential.h), each a params/apply
 * pair over jx/layers.h; dense and conv apply through jx_nn_apply_dense/conv so that an
 * adapter added by surgery takes part. */
#include <jx/sequential.h>
#include <jx/surgery.h>

#include "nn_util.h"

static int64_t last_dim(const jx_aval *a) { return a->rank > 0 ? a->shape[a->rank - 1] : 0; }

static int dense_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    return jx_nn_dense_params(last_dim(in), l->n[0], !l->no_bias, in->dtype, s);
}
static jx_val dense_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)c;
    return jx_nn_apply_dense_at(loc, x, p);
}

static int conv_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    return jx_nn_conv2d_params(l->n[1], l->n[2], last_dim(in), l->n[0], 1, !l->no_bias, in->dtype, s);
}
static jx_val conv_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)c;
    jx_nn_conv2d_opts o = {.padding = l->padding};
    return jx_nn_apply_conv_at(loc, x, p, &o);
}

static int batch_norm_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    (void)l;
    return jx_nn_batch_norm_params(last_dim(in), in->dtype, s);
}
/* n[0] = 1: frozen (the running statistics also when training). */
static jx_val batch_norm_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x,
                               const jx_nn_layer_ctx *c) {
    if (!p || !c->stats)
        return jx__nn_fail(loc, JX_ERR_ARG, "seq_apply", "batch norm '%s' wants params and stats (jx_seq_ctx.stats)",
                           l->name ? l->name : "?");
    jx_val scale = jx_tree_get_val_at(loc, p, "scale"), bias = jx_tree_get_val_at(loc, p, "bias");
    jx_val mean = jx_tree_get_val_at(loc, c->stats, "mean"), var = jx_tree_get_val_at(loc, c->stats, "var");
    if (l->n[0] || !c->new_stats) return jx_nn_batch_norm_eval_at(loc, x, scale, bias, mean, var, 1e-5);
    jx_val nm, nv;
    x = jx_nn_batch_norm_train_axis_at(loc, x, scale, bias, mean, var, l->rate, 1e-5, c->axis_name, &nm, &nv);
    jx_tree_set_val_at(loc, c->new_stats, "mean", nm);
    jx_tree_set_val_at(loc, c->new_stats, "var", nv);
    return x;
}

static int norm_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    (void)l;
    return jx_nn_norm_params(last_dim(in), in->dtype, s);
}
static jx_val norm_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)c;
    return jx_nn_layer_norm_at(loc, x, jx_tree_get_val_at(loc, p, "scale"), jx_tree_get_val_at(loc, p, "bias"), 1e-6);
}

static jx_val max_pool_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)p, (void)c;
    return jx_nn_max_pool_at(loc, x, l->n[0], l->n[0], l->n[1], l->n[1], JX_NN_PAD_VALID);
}
static jx_val avg_pool_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)p, (void)c;
    return jx_nn_avg_pool_at(loc, x, l->n[0], l->n[0], l->n[1], l->n[1], JX_NN_PAD_VALID, 1);
}
static jx_val dropout_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)p;
    return c->key.trace && jx__nn_given(c->key) ? jx_nn_dropout_axis_at(loc, x, l->rate, c->key, c->axis_name) : x;
}
static jx_val relu_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)p, (void)c;
    return jx_relu_at(loc, x);
}
static jx_val gelu_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)p, (void)c;
    return jx_gelu_at(loc, x);
}
static jx_val tanh_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)p, (void)c;
    return jx_tanh_at(loc, x);
}
static jx_val flatten_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)p, (void)c;
    return jx_rank(x) == 2 ? x : jx_reshape_at(loc, x, JX_INTS(jx_dim(x, 0), -1));
}

jx_nn_layer jx_nn_seq_dense(const char *name, int64_t features) {
    return (jx_nn_layer){.name = name, .kind = "dense", .params = dense_params, .apply = dense_apply, .n = {features}};
}
jx_nn_layer jx_nn_seq_conv2d(const char *name, int64_t features, int64_t kh, int64_t kw, jx_nn_padding padding) {
    return (jx_nn_layer){.name = name, .kind = "conv", .params = conv_params, .apply = conv_apply,
                         .n = {features, kh, kw}, .padding = padding};
}
jx_nn_layer jx_nn_seq_no_bias(jx_nn_layer l) {
    l.no_bias = 1;
    return l;
}
jx_nn_layer jx_nn_seq_named(const char *name, jx_nn_layer l) {
    l.name = name;
    return l;
}
jx_nn_layer jx_nn_seq_batch_norm(const char *name, double momentum) {
    return (jx_nn_layer){.name = name, .kind = "batch_norm", .params = batch_norm_params, .apply = batch_norm_apply,
                         .rate = momentum};
}
jx_nn_layer jx_nn_seq_batch_norm_frozen(const char *name) {
    return (jx_nn_layer){.name = name, .kind = "batch_norm_frozen", .params = batch_norm_params,
                         .apply = batch_norm_apply, .n = {1}};
}
jx_nn_layer jx_nn_seq_max_pool(int64_t k, int64_t s) {
    return (jx_nn_layer){.kind = "max_pool", .apply = max_pool_apply, .n = {k, s}};
}
jx_nn_layer jx_nn_seq_avg_pool(int64_t k, int64_t s) {
    return (jx_nn_layer){.kind = "avg_pool", .apply = avg_pool_apply, .n = {k, s}};
}
jx_nn_layer jx_nn_seq_layer_norm(const char *name) {
    return (jx_nn_layer){.name = name, .kind = "layer_norm", .params = norm_params, .apply = norm_apply};
}
jx_nn_layer jx_nn_seq_dropout(double rate) {
    return (jx_nn_layer){.kind = "dropout", .apply = dropout_apply, .rate = rate};
}
jx_nn_layer jx_nn_seq_relu(void) { return (jx_nn_layer){.kind = "relu", .apply = relu_apply}; }
jx_nn_layer jx_nn_seq_gelu(void) { return (jx_nn_layer){.kind = "gelu", .apply = gelu_apply}; }
jx_nn_layer jx_nn_seq_tanh(void) { return (jx_nn_layer){.kind = "tanh", .apply = tanh_apply}; }
jx_nn_layer jx_nn_seq_flatten(void) { return (jx_nn_layer){.kind = "flatten", .apply = flatten_apply}; }
