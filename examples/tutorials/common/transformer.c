/* transformer.c: see transformer.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/layers.h>

#include "transformer.h"
#include "tut.h"

static const char *path(char *buf, size_t n, const char *prefix, const char *name) {
    if (snprintf(buf, n, "%s.%s", prefix, name) >= (int)n) buf[0] = 0; /* too long: the tree refuses "" */
    return buf;
}

static jx_val get(const jx_tree *p, const char *prefix, const char *name) {
    char b[256];
    return jx_tree_get_val(p, path(b, sizeof b, prefix, name));
}

static void put(jx_tree *p, const char *prefix, const char *name, jx_array *a) {
    char b[256];
    jx_tree_set_array(p, path(b, sizeof b, prefix, name), a);
}

jx_array *tfm_kernel(uint64_t seed, int64_t r, int64_t c) { return tut_weights(seed, r, c, 1.0 / sqrt((double)r)); }

/* A kernel drawn as (r, c) and shaped as `shape` (the same r * c numbers). */
static jx_array *shaped(uint64_t seed, int64_t r, int64_t c, jx_ints shape) {
    jx_array *k = tfm_kernel(seed, r, c);
    jx_array *a = k ? jx_array_new(JX_F32, shape, jx_array_data(k)) : NULL;
    jx_array_release(k);
    return a;
}

void tfm_ln_init(jx_tree *params, const char *name, int64_t d) {
    put(params, name, "scale", jx_array_full(JX_F32, JX_INTS(d), 1.0));
    put(params, name, "bias", jx_array_zeros(JX_F32, JX_INTS(d)));
}

jx_val tfm_ln(const jx_tree *params, const char *name, jx_val x) {
    return jx_nn_layer_norm(x, get(params, name, "scale"), get(params, name, "bias"), 1e-5);
}

static void mha_init(jx_tree *params, const char *prefix, const tfm_dims *m, uint64_t seed) {
    int64_t d = m->d, h = m->heads, k = d / h;
    const char *w[3] = {"wq", "wk", "wv"}, *b[3] = {"bq", "bk", "bv"};
    for (int i = 0; i < 3; i++) {
        put(params, prefix, w[i], shaped(seed + (uint64_t)i, d, d, JX_INTS(d, h, k)));
        put(params, prefix, b[i], jx_array_zeros(JX_F32, JX_INTS(h, k)));
    }
    put(params, prefix, "wo", shaped(seed + 3, d, d, JX_INTS(h, k, d)));
    put(params, prefix, "bo", jx_array_zeros(JX_F32, JX_INTS(d)));
}

static jx_val mha(const jx_tree *params, const char *prefix, jx_val xq, jx_val xkv, jx_val mask) {
    jx_nn_mha_params p = {get(params, prefix, "wq"), get(params, prefix, "bq"), get(params, prefix, "wk"),
                          get(params, prefix, "bk"), get(params, prefix, "wv"), get(params, prefix, "bv"),
                          get(params, prefix, "wo"), get(params, prefix, "bo")};
    return jx_nn_mha(xq, xkv, &p, mask);
}

void tfm_block_init(jx_tree *params, const char *prefix, const tfm_dims *m, int cross, uint64_t seed) {
    char b[256];
    tfm_ln_init(params, path(b, sizeof b, prefix, "ln1"), m->d);
    mha_init(params, path(b, sizeof b, prefix, "attn"), m, seed);
    if (cross) {
        tfm_ln_init(params, path(b, sizeof b, prefix, "ln2"), m->d);
        mha_init(params, path(b, sizeof b, prefix, "cross"), m, seed + 4);
    }
    tfm_ln_init(params, path(b, sizeof b, prefix, "ln3"), m->d);
    put(params, prefix, "mlp.w1", tfm_kernel(seed + 8, m->d, m->ff));
    put(params, prefix, "mlp.b1", jx_array_zeros(JX_F32, JX_INTS(m->ff)));
    put(params, prefix, "mlp.w2", tfm_kernel(seed + 9, m->ff, m->d));
    put(params, prefix, "mlp.b2", jx_array_zeros(JX_F32, JX_INTS(m->d)));
}

jx_val tfm_block(const jx_tree *params, const char *prefix, jx_val x, jx_val mask, jx_val mem, jx_val mem_mask) {
    char b[256], c[256];
    jx_val h = tfm_ln(params, path(b, sizeof b, prefix, "ln1"), x);
    x = jx_add(x, mha(params, path(c, sizeof c, prefix, "attn"), h, h, mask));
    if (mem.id >= 0) { /* JX_NONE: an encoder or GPT block */
        h = tfm_ln(params, path(b, sizeof b, prefix, "ln2"), x);
        x = jx_add(x, mha(params, path(c, sizeof c, prefix, "cross"), h, mem, mem_mask));
    }
    h = tfm_ln(params, path(b, sizeof b, prefix, "ln3"), x);
    h = jx_relu(jx_nn_dense(h, get(params, prefix, "mlp.w1"), get(params, prefix, "mlp.b1")));
    return jx_add(x, jx_nn_dense(h, get(params, prefix, "mlp.w2"), get(params, prefix, "mlp.b2")));
}

void tfm_stack_init(jx_tree *params, const char *prefix, int layers, const tfm_dims *dims, int cross, uint64_t seed) {
    char name[128];
    for (int l = 0; l < layers; l++) {
        snprintf(name, sizeof name, "%.100s%d", prefix, l);
        tfm_block_init(params, name, dims, cross, seed + 16 * (uint64_t)l);
    }
    snprintf(name, sizeof name, "%.100s_ln", prefix);
    tfm_ln_init(params, name, dims->d);
}

jx_val tfm_stack(const jx_tree *params, const char *prefix, int layers, jx_val x, jx_val mask, jx_val mem,
                 jx_val mem_mask) {
    char name[128];
    for (int l = 0; l < layers; l++) {
        snprintf(name, sizeof name, "%.100s%d", prefix, l);
        x = tfm_block(params, name, x, mask, mem, mem_mask);
    }
    snprintf(name, sizeof name, "%.100s_ln", prefix);
    return tfm_ln(params, name, x);
}

jx_array *tfm_positions(int64_t t, int64_t d) {
    float *v = malloc(sizeof(float) * (size_t)(t * d));
    if (!v) return NULL;
    for (int64_t p = 0; p < t; p++)
        for (int64_t i = 0; i < d; i += 2) {
            double a = (double)p / pow(10000.0, (double)i / (double)d);
            v[p * d + i] = (float)sin(a);
            if (i + 1 < d) v[p * d + i + 1] = (float)cos(a);
        }
    jx_array *a = jx_array_new(JX_F32, JX_INTS(t, d), v);
    free(v);
    return a;
}

jx_val tfm_embed(jx_val table, jx_val ids, jx_array *pos) {
    int64_t t = jx_dim(ids, 1), d = jx_dim(table, 1);
    jx_val p = jx_slice(jx_const(pos), JX_INTS(0, 0), JX_INTS(t, d), JX_NOINTS);
    return jx_add(jx_nn_embedding(table, ids), p);
}
