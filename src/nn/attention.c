/* attention.c: scaled dot-product attention with a mask, and multi-head attention with
 * Flax's parameter layout (projection kernels (E,H,D), output kernel (H,D,F)). */
#include <float.h>
#include <math.h>

#include "nn_util.h"
#include <jx/layers.h>

/* mask is bool and broadcasts to (B,H,Tq,Tk) numpy-style. */
static int check_mask(jx_loc loc, jx_val mask, const int64_t want[4]) {
    if (!jx__nn_valid(loc, "attention", "mask", mask)) return 0;
    jx_aval m = jx_aval_of(mask);
    int ok = m.dtype == JX_BOOL && m.rank <= 4;
    for (int i = 0; ok && i < m.rank; i++) {
        int64_t d = m.shape[i], w = want[4 - m.rank + i];
        ok = d == 1 || d == w;
    }
    if (!ok)
        jx__nn_fail(loc, JX_ERR_SHAPE, "attention",
                          "mask %s must be bool and broadcast to (B,H,Tq,Tk) = (%lld,%lld,%lld,%lld)",
                          jx__nn_avs(mask), (long long)want[0], (long long)want[1],
                          (long long)want[2], (long long)want[3]);
    return ok;
}

jx_val jx_nn_attention_at(jx_loc loc, jx_val q, jx_val k, jx_val v, jx_val mask) {
    const char *what = "attention";
    if (!jx__nn_rank(loc, what, "query", q, 4) || !jx__nn_rank(loc, what, "key", k, 4) ||
        !jx__nn_rank(loc, what, "value", v, 4))
        return JX_NONE;
    int64_t b = jx_dim(q, 0), tq = jx_dim(q, 1), h = jx_dim(q, 2), d = jx_dim(q, 3);
    int64_t tk = jx_dim(k, 1);
    if (!jx__nn_param(loc, what, "key", k, q, JX_INTS(b, tk, h, d)) ||
        !jx__nn_param(loc, what, "value", v, q, JX_INTS(b, tk, h, jx_dim(v, 3))))
        return JX_NONE;
    int64_t want[4] = {b, h, tq, tk};
    if (jx__nn_given(mask) && !check_mask(loc, mask, want)) return JX_NONE;
    jx_val qs = jx_div_at(loc, q, jx_scalar_like_at(loc, q, sqrt((double)d)));
    /* (B,H,Tq,Tk) */
    jx_val logits = jx_dot_general_at(loc, qs, k, JX_INTS(3), JX_INTS(3), JX_INTS(0, 2), JX_INTS(0, 2));
    if (jx__nn_given(mask)) {
        double lowest = jx_dtype_of(q) == JX_F32 ? -FLT_MAX : -DBL_MAX;
        logits = jx_select_at(loc, mask, logits, jx_scalar_like_at(loc, q, lowest));
    }
    jx_val w = jx_softmax_at(loc, logits, -1);
    /* (B,H,Tq,Tk) . (B,Tk,H,Dv) -> (B,H,Tq,Dv) -> (B,Tq,H,Dv) */
    jx_val o = jx_dot_general_at(loc, w, v, JX_INTS(3), JX_INTS(1), JX_INTS(0, 1), JX_INTS(0, 2));
    return jx_transpose_at(loc, o, JX_INTS(0, 2, 1, 3));
}

/* x (B,T,E) . w (E,H,D) + b (H,D) -> (B,T,H,D) */
static jx_val project(jx_loc loc, const char *name, jx_val x, jx_val w, jx_val b, int64_t h, int64_t d) {
    if (!jx__nn_valid(loc, "mha", name, w) ||
        !jx__nn_param(loc, "mha", name, w, x, JX_INTS(jx_dim(x, 2), h, d)))
        return JX_NONE;
    jx_val y = jx_dot_general_at(loc, x, w, JX_INTS(2), JX_INTS(0), JX_NOINTS, JX_NOINTS);
    return jx__nn_affine(loc, y, JX_NONE, b);
}

jx_val jx_nn_mha_at(jx_loc loc, jx_val xq, jx_val xkv, const jx_nn_mha_params *p, jx_val mask) {
    const char *what = "mha";
    if (!p) return jx__nn_fail(loc, JX_ERR_ARG, what, "params must not be NULL");
    if (!jx__nn_rank(loc, what, "query input", xq, 3) || !jx__nn_rank(loc, what, "key/value input", xkv, 3) ||
        !jx__nn_rank(loc, what, "wq", p->wq, 3) || !jx__nn_rank(loc, what, "wo", p->wo, 3))
        return JX_NONE;
    int64_t h = jx_dim(p->wq, 1), d = jx_dim(p->wq, 2), f = jx_dim(p->wo, 2);
    if (jx_dim(xkv, 0) != jx_dim(xq, 0) || jx_dim(xkv, 2) != jx_dim(xq, 2))
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "query input %s and key/value input %s differ in batch or features",
                                 jx__nn_avs(xq), jx__nn_avs(xkv));
    jx_ints hd = JX_INTS(h, d);
    if (!jx__nn_param(loc, what, "bq", p->bq, xq, hd) || !jx__nn_param(loc, what, "bk", p->bk, xq, hd) ||
        !jx__nn_param(loc, what, "bv", p->bv, xq, hd) || !jx__nn_param(loc, what, "wo", p->wo, xq, JX_INTS(h, d, f)) ||
        !jx__nn_param(loc, what, "bo", p->bo, xq, JX_INTS(f)))
        return JX_NONE;
    jx_val q = project(loc, "wq", xq, p->wq, p->bq, h, d);
    jx_val k = project(loc, "wk", xkv, p->wk, p->bk, h, d);
    jx_val v = project(loc, "wv", xkv, p->wv, p->bv, h, d);
    if (jx_trace_status() != JX_OK) return JX_NONE;
    jx_val a = jx_nn_attention_at(loc, q, k, v, mask);
    jx_val y = jx_dot_general_at(loc, a, p->wo, JX_INTS(2, 3), JX_INTS(0, 1), JX_NOINTS, JX_NOINTS);
    return jx__nn_affine(loc, y, JX_NONE, p->bo);
}

jx_val jx_nn_causal_mask_at(jx_loc loc, int64_t t) {
    if (t < 0) return jx__nn_fail(loc, JX_ERR_ARG, "causal_mask", "length %lld is negative", (long long)t);
    return jx_ge_at(loc, jx_iota_at(loc, JX_I32, JX_INTS(t, t), 0), jx_iota_at(loc, JX_I32, JX_INTS(t, t), 1));
}
