/* unet.c: the U-Net of jx/unet.h, built from the public layers only: parameters are
 * created from the layers' own specs (so their shapes cannot disagree with what the layers
 * check), and the forward pass walks the levels with the same paths. */
#include "nn_util.h"
#include <jx/init.h>
#include <jx/layers.h>
#include <jx/random.h>
#include <jx/taps.h>
#include <jx/unet.h>
#include <stddef.h>
#include <stdio.h>

enum { MAX_DEPTH = 8 };

jx_nn_unet_config jx_nn_unet_default(int64_t in_channels, int64_t num_classes) {
    return (jx_nn_unet_config){in_channels, num_classes, 16, 3, JX_NN_UNET_UP_TRANSPOSE, 0.9, 1e-5, JX_F32};
}

/* What is wrong with c, written to buf, or NULL when nothing is. */
static const char *config_problem(const jx_nn_unet_config *c, char *buf, size_t n) {
    if (!c) snprintf(buf, n, "the config is NULL");
    else if (c->in_channels < 1) snprintf(buf, n, "in_channels %lld is below 1", (long long)c->in_channels);
    else if (c->num_classes < 1) snprintf(buf, n, "num_classes %lld is below 1", (long long)c->num_classes);
    else if (c->width < 1 || c->width > (1 << 16)) snprintf(buf, n, "width %lld is outside 1..65536", (long long)c->width);
    else if (c->depth < 1 || c->depth > MAX_DEPTH) snprintf(buf, n, "depth %d is outside 1..%d", c->depth, MAX_DEPTH);
    else if (c->up != JX_NN_UNET_UP_TRANSPOSE && c->up != JX_NN_UNET_UP_RESIZE)
        snprintf(buf, n, "up %d is neither TRANSPOSE nor RESIZE", (int)c->up);
    else if (!(c->bn_momentum >= 0 && c->bn_momentum <= 1) || !(c->bn_eps > 0))
        snprintf(buf, n, "bn_momentum %g must be in [0, 1] and bn_eps %g above 0", c->bn_momentum, c->bn_eps);
    else if (c->dtype != JX_F32 && c->dtype != JX_F64) snprintf(buf, n, "dtype must be f32 or f64");
    else return NULL;
    return buf;
}

jx_status jx_nn_unet_check(const jx_nn_unet_config *c) {
    char buf[160];
    const char *why = config_problem(c, buf, sizeof buf);
    return why ? jx_error_at(JX_HERE, JX_ERR_ARG, "unet", "%s", why) : JX_OK;
}

static int64_t level_width(const jx_nn_unet_config *c, int l) { return c->width << l; }

/* ------------------------------------------------------------------ parameters */

typedef struct builder {
    jx_tree *params, *stats;
    const jx_array *key;
    uint32_t leaf; /* running leaf number: each array's key is key folded with it */
} builder;

/* Adds a layer's arrays under `layer`: kernels He-normal, the rest as the spec says. */
static jx_status add_layer(builder *b, const char *layer, const jx_nn_param_spec *specs, int n) {
    for (int i = 0; i < n; i++) {
        const jx_nn_param_spec *s = &specs[i];
        jx_init init = s->init == JX_NN_INIT_ZEROS ? jx_init_zeros
                       : s->init == JX_NN_INIT_ONES ? jx_init_ones
                                                    : jx_init_he_normal;
        jx_array *lk = jx_random_fold_in_new(b->key, b->leaf++);
        jx_array *a = lk ? jx_init_new(&init, lk, s->aval.dtype, (jx_ints){s->aval.shape, s->aval.rank}) : NULL;
        jx_array_release(lk);
        char path[96];
        snprintf(path, sizeof path, "%s.%s", layer, s->name);
        if (!a) return jx_errcode() != JX_OK ? jx_errcode() : JX_ERR_NOMEM;
        jx_status st = jx_tree_set_array(s->is_state ? b->stats : b->params, path, a);
        if (st != JX_OK) return st;
    }
    return JX_OK;
}

/* A level's block: conv1 (cin -> cout), bn1, conv2 (cout -> cout), bn2. */
static jx_status add_block(builder *b, const char *block, int64_t cin, int64_t cout, jx_dtype t) {
    jx_nn_param_spec s[JX_NN_MAX_PARAMS];
    char name[64];
    jx_status st = JX_OK;
    for (int i = 1; i <= 2 && st == JX_OK; i++) {
        snprintf(name, sizeof name, "%s.conv%d", block, i);
        st = add_layer(b, name, s, jx_nn_conv2d_params(3, 3, i == 1 ? cin : cout, cout, 1, 0, t, s));
        snprintf(name, sizeof name, "%s.bn%d", block, i);
        if (st == JX_OK) st = add_layer(b, name, s, jx_nn_batch_norm_params(cout, t, s));
    }
    return st;
}

jx_status jx_nn_unet_init(const jx_nn_unet_config *c, const jx_array *key, jx_tree **params, jx_tree **stats) {
    *params = *stats = NULL;
    jx_status st = jx_nn_unet_check(c);
    if (st != JX_OK) return st;
    builder b = {jx_tree_dict(), jx_tree_dict(), key, 0};
    if (!b.params || !b.stats) st = JX_ERR_NOMEM;
    jx_nn_param_spec s[JX_NN_MAX_PARAMS];
    char name[64];
    for (int l = 0; l <= c->depth && st == JX_OK; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        st = add_block(&b, name, l ? level_width(c, l - 1) : c->in_channels, level_width(c, l), c->dtype);
    }
    for (int l = c->depth - 1; l >= 0 && st == JX_OK; l--) {
        int64_t w = level_width(c, l), below = level_width(c, l + 1);
        int k = c->up == JX_NN_UNET_UP_TRANSPOSE ? 2 : 3;
        snprintf(name, sizeof name, "dec%d.up", l);
        /* a transposed kernel is (KH,KW,C,O) like a conv2d kernel's HWIO */
        st = add_layer(&b, name, s, jx_nn_conv2d_params(k, k, below, w, 1, 1, c->dtype, s));
        snprintf(name, sizeof name, "dec%d", l);
        if (st == JX_OK) st = add_block(&b, name, 2 * w, w, c->dtype);
    }
    if (st == JX_OK) st = add_layer(&b, "head", s, jx_nn_conv2d_params(1, 1, c->width, c->num_classes, 1, 1, c->dtype, s));
    if (st != JX_OK) {
        jx_tree_free(b.params), jx_tree_free(b.stats);
        return st;
    }
    *params = b.params, *stats = b.stats;
    return JX_OK;
}

/* ------------------------------------------------------------------ forward */

/* conv - batch norm - relu, twice; in training mode the new statistics go to new_stats. */
static jx_val block(jx_loc loc, const jx_nn_unet_config *c, const jx_tree *p, const jx_tree *s, const char *name,
                    jx_val h, jx_tree *new_stats) {
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    char path[64];
    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof path, "%s.conv%d.w", name, i);
        h = jx_nn_conv2d_at(loc, h, jx_tree_get_val_at(loc, p, path), JX_NONE, &same);
        snprintf(path, sizeof path, "%s.bn%d", name, i);
        const jx_tree *bp = jx_tree_get_at(loc, p, path), *bs = jx_tree_get_at(loc, s, path);
        if (!bp || !bs) return JX_NONE;
        jx_val scale = jx_tree_get_val_at(loc, bp, "scale"), bias = jx_tree_get_val_at(loc, bp, "bias");
        jx_val mean = jx_tree_get_val_at(loc, bs, "mean"), var = jx_tree_get_val_at(loc, bs, "var");
        if (new_stats) {
            jx_val nm, nv;
            h = jx_nn_batch_norm_train_at(loc, h, scale, bias, mean, var, c->bn_momentum, c->bn_eps, &nm, &nv);
            char key[80];
            snprintf(key, sizeof key, "%s.mean", path);
            jx_tree_set_val_at(loc, new_stats, key, nm);
            snprintf(key, sizeof key, "%s.var", path);
            jx_tree_set_val_at(loc, new_stats, key, nv);
        } else {
            h = jx_nn_batch_norm_eval_at(loc, h, scale, bias, mean, var, c->bn_eps);
        }
        h = jx_relu_at(loc, h);
    }
    return h;
}

/* Doubles h's resolution to level l's width: dec<l>.up. */
static jx_val upsample(jx_loc loc, const jx_nn_unet_config *c, const jx_tree *p, int l, jx_val h) {
    char w[32], b[32];
    snprintf(w, sizeof w, "dec%d.up.w", l);
    snprintf(b, sizeof b, "dec%d.up.b", l);
    jx_val wv = jx_tree_get_val_at(loc, p, w), bv = jx_tree_get_val_at(loc, p, b);
    if (c->up == JX_NN_UNET_UP_TRANSPOSE) {
        jx_nn_conv2d_opts o = {.stride = {2, 2}, .padding = JX_NN_PAD_SAME};
        return jx_nn_conv_transpose2d_at(loc, h, wv, bv, &o);
    }
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    return jx_nn_conv2d_at(loc, jx_nn_upsample_at(loc, h, 2, JX_NN_RESIZE_NEAREST), wv, bv, &same);
}

jx_val jx_nn_unet_apply_at(jx_loc loc, const jx_nn_unet_config *c, const jx_tree *p, const jx_tree *s, jx_val x,
                           jx_tree *new_stats) {
    return jx_nn_unet_apply_tapped_at(loc, c, p, s, x, new_stats, NULL);
}

jx_val jx_nn_unet_apply_tapped_at(jx_loc loc, const jx_nn_unet_config *c, const jx_tree *p, const jx_tree *s, jx_val x,
                                  jx_tree *new_stats, struct jx_taps *taps) {
    const char *what = "unet";
    char buf[160];
    const char *why = config_problem(c, buf, sizeof buf);
    if (why) return jx__nn_fail(loc, JX_ERR_ARG, what, "%s", why);
    if (!jx__nn_rank(loc, what, "input", x, 4)) return JX_NONE;
    int64_t m = (int64_t)1 << c->depth;
    if (jx_dim(x, 1) % m || jx_dim(x, 2) % m || jx_dim(x, 3) != c->in_channels)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what,
                           "input %s wants height and width divisible by 2^depth = %lld and %lld channels",
                           jx__nn_avs(x), (long long)m, (long long)c->in_channels);
    jx_val skip[MAX_DEPTH], h = x;
    char name[32];
    for (int l = 0; l < c->depth; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        skip[l] = jx_tap_at(loc, taps, name, block(loc, c, p, s, name, h, new_stats));
        h = jx_nn_max_pool_at(loc, skip[l], 2, 2, 2, 2, JX_NN_PAD_VALID);
    }
    snprintf(name, sizeof name, "enc%d", c->depth);
    h = jx_tap_at(loc, taps, name, block(loc, c, p, s, name, h, new_stats));
    for (int l = c->depth - 1; l >= 0; l--) {
        jx_val cat[2] = {skip[l], upsample(loc, c, p, l, h)};
        snprintf(name, sizeof name, "dec%d", l);
        h = jx_tap_at(loc, taps, name, block(loc, c, p, s, name, jx_concatenate_at(loc, 2, cat, 3), new_stats));
    }
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    return jx_nn_conv2d_at(loc, h, jx_tree_get_val_at(loc, p, "head.w"), jx_tree_get_val_at(loc, p, "head.b"), &same);
}
