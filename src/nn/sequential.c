/* sequential.c: models as lists of layers (jx/sequential.h): the built-in layers'
 * params/apply pairs, init with shape inference (each layer traced on its input's aval
 * to learn the next one's), and apply. */
#include <stdio.h>
#include <string.h>

#include <jx/init.h>
#include <jx/random.h>
#include <jx/sequential.h>
#include <jx/tree.h>

#include "nn_util.h"

/* ------------------------------------------------------------------ built-in layers */

static int64_t last_dim(const jx_aval *a) { return a->rank > 0 ? a->shape[a->rank - 1] : 0; }

static int dense_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    return jx_nn_dense_params(last_dim(in), l->n[0], 1, in->dtype, s);
}
static jx_val dense_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)key;
    return jx_nn_dense_at(loc, x, jx_tree_get_val_at(loc, p, "w"), jx_tree_get_val_at(loc, p, "b"));
}

static int conv_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    return jx_nn_conv2d_params(l->n[1], l->n[2], last_dim(in), l->n[0], 1, 1, in->dtype, s);
}
static jx_val conv_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)key;
    jx_nn_conv2d_opts o = {.padding = l->padding};
    return jx_nn_conv2d_at(loc, x, jx_tree_get_val_at(loc, p, "w"), jx_tree_get_val_at(loc, p, "b"), &o);
}

static int norm_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    (void)l;
    return jx_nn_norm_params(last_dim(in), in->dtype, s);
}
static jx_val norm_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)key;
    return jx_nn_layer_norm_at(loc, x, jx_tree_get_val_at(loc, p, "scale"), jx_tree_get_val_at(loc, p, "bias"), 1e-6);
}

static jx_val max_pool_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)p, (void)key;
    return jx_nn_max_pool_at(loc, x, l->n[0], l->n[0], l->n[1], l->n[1], JX_NN_PAD_VALID);
}
static jx_val avg_pool_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)p, (void)key;
    return jx_nn_avg_pool_at(loc, x, l->n[0], l->n[0], l->n[1], l->n[1], JX_NN_PAD_VALID, 1);
}
static jx_val dropout_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)p;
    return jx__nn_given(key) ? jx_nn_dropout_at(loc, x, l->rate, key) : x;
}
static jx_val relu_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)p, (void)key;
    return jx_relu_at(loc, x);
}
static jx_val gelu_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)p, (void)key;
    return jx_gelu_at(loc, x);
}
static jx_val tanh_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)p, (void)key;
    return jx_tanh_at(loc, x);
}
static jx_val flatten_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)p, (void)key;
    return jx_reshape_at(loc, x, JX_INTS(jx_dim(x, 0), -1));
}

jx_nn_layer jx_nn_seq_dense(const char *name, int64_t features) {
    return (jx_nn_layer){.name = name, .params = dense_params, .apply = dense_apply, .n = {features}};
}
jx_nn_layer jx_nn_seq_conv2d(const char *name, int64_t features, int64_t kh, int64_t kw, jx_nn_padding padding) {
    return (jx_nn_layer){.name = name, .params = conv_params, .apply = conv_apply, .n = {features, kh, kw},
                         .padding = padding};
}
jx_nn_layer jx_nn_seq_max_pool(int64_t k, int64_t s) { return (jx_nn_layer){.apply = max_pool_apply, .n = {k, s}}; }
jx_nn_layer jx_nn_seq_avg_pool(int64_t k, int64_t s) { return (jx_nn_layer){.apply = avg_pool_apply, .n = {k, s}}; }
jx_nn_layer jx_nn_seq_layer_norm(const char *name) {
    return (jx_nn_layer){.name = name, .params = norm_params, .apply = norm_apply};
}
jx_nn_layer jx_nn_seq_dropout(double rate) { return (jx_nn_layer){.apply = dropout_apply, .rate = rate}; }
jx_nn_layer jx_nn_seq_relu(void) { return (jx_nn_layer){.apply = relu_apply}; }
jx_nn_layer jx_nn_seq_gelu(void) { return (jx_nn_layer){.apply = gelu_apply}; }
jx_nn_layer jx_nn_seq_tanh(void) { return (jx_nn_layer){.apply = tanh_apply}; }
jx_nn_layer jx_nn_seq_flatten(void) { return (jx_nn_layer){.apply = flatten_apply}; }

/* ------------------------------------------------------------------ init and apply */

/* The layer traced on avals, to learn its output's: in[0] x, in[1..] its parameters. */
typedef struct probe {
    jx_loc loc;
    const jx_nn_layer *l;
    const jx_nn_param_spec *specs;
    int ns;
} probe;

static void probe_body(jx_val *out, const jx_val *in, void *user) {
    const probe *pr = user;
    jx_tree *p = pr->ns ? jx_tree_dict() : NULL;
    for (int i = 0; i < pr->ns; i++) jx_tree_set_val_at(pr->loc, p, pr->specs[i].name, in[1 + i]);
    out[0] = pr->l->apply(pr->loc, pr->l, p, in[0], JX_NONE);
    jx_tree_free(p);
}

static jx_init init_of(jx_nn_init k) {
    switch (k) {
    case JX_NN_INIT_ZEROS: return jx_init_zeros;
    case JX_NN_INIT_ONES: return jx_init_ones;
    case JX_NN_INIT_EMBED_NORMAL: return jx_init_normal(1.0);
    default: return jx_init_lecun_normal; /* orthogonal: no sequential layer asks for it */
    }
}

static int has_child(const jx_tree *t, const char *key) {
    for (int i = 0; i < jx_tree_num_children(t); i++)
        if (!strcmp(jx_tree_key(t, i), key)) return 1;
    return 0;
}

jx_tree *jx_nn_sequential_init_at(jx_loc loc, const jx_nn_layer *layers, int n, jx_aval input,
                                  const jx_array *key) {
    const char *what = "sequential_init";
    jx_tree *params = jx_tree_dict();
    jx_aval a = input;
    uint32_t leaf = 0;
    if (!params) return NULL;
    if (!key || (input.dtype != JX_F32 && input.dtype != JX_F64)) {
        jx_error_at(loc, JX_ERR_ARG, what, key ? "the input must be f32 or f64, not %s" : "no key%s",
                    key ? jx_dtype_name(input.dtype) : "");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const jx_nn_layer *l = &layers[i];
        jx_nn_param_spec specs[JX_NN_MAX_PARAMS];
        int ns = l->params ? l->params(l, &a, specs) : 0;
        if (ns < 0 || !l->apply) {
            if (!l->apply) jx_error_at(loc, JX_ERR_ARG, what, "layer %d has no apply function", i);
            goto fail;
        }
        if (ns > 0 && (!l->name || !*l->name || has_child(params, l->name))) {
            jx_error_at(loc, JX_ERR_ARG, what, "layer %d has parameters and %s name%s%s", i,
                        l->name && *l->name ? "the duplicate" : "no", l->name && *l->name ? " " : "",
                        l->name && *l->name ? l->name : "");
            goto fail;
        }
        jx_aval avals[1 + JX_NN_MAX_PARAMS] = {a};
        for (int s = 0; s < ns; s++) {
            jx_init init = init_of(specs[s].init);
            jx_array *lk = jx_random_fold_in_new(key, leaf++);
            jx_array *arr = lk ? jx_init_new_at(loc, &init, lk, specs[s].aval.dtype,
                                                (jx_ints){specs[s].aval.shape, specs[s].aval.rank})
                               : NULL;
            jx_array_release(lk);
            char path[256];
            snprintf(path, sizeof path, "%s.%s", l->name, specs[s].name);
            if (!arr || jx_tree_set_array_at(loc, params, path, arr) != JX_OK) goto fail;
            avals[1 + s] = specs[s].aval;
        }
        probe pr = {loc, l, specs, ns};
        char name[64];
        snprintf(name, sizeof name, "layer %d%s%s", i, l->name ? " " : "", l->name ? l->name : "");
        jx_fn *f = jx_trace_at(loc, name, probe_body, &pr, 1 + ns, avals, 1);
        if (!f) goto fail;
        a = jx_fn_output_aval(f, 0);
        jx_fn_release(f);
    }
    return params;
fail:
    jx_tree_free(params);
    return NULL;
}

jx_val jx_nn_sequential_apply_at(jx_loc loc, const jx_nn_layer *layers, int n, const jx_tree *params, jx_val x,
                                 jx_val key) {
    int train = jx__nn_given(key);
    for (int i = 0; i < n && jx_trace_status() == JX_OK; i++) {
        const jx_nn_layer *l = &layers[i];
        const jx_tree *p = l->params && l->name ? jx_tree_get_at(loc, params, l->name) : NULL;
        jx_val k = train ? jx_random_fold_in_at(loc, key, jx_scalar_at(loc, JX_U32, (double)i)) : JX_NONE;
        x = l->apply(loc, l, p, x, k);
    }
    return jx_trace_status() == JX_OK ? x : JX_NONE;
}
