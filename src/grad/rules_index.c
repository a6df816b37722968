/* rules_index.c: jvp and transpose rules for gather, scatter_add, sort and top_k (see
 * prims.def); threefry2x32 works on integers and has none. gather clamps indices into
 * range while scatter_add drops out-of-range ones, so each transpose first makes the
 * indices mean what the forward op did: clamped for gather's, masked for scatter's. */
#include <stdlib.h>

#include "grad.h"

/* The largest value of an index dtype (i32, i64, u32), as an int64. */
static int64_t index_max(jx_dtype t) {
    return t == JX_I32 ? INT32_MAX : t == JX_U32 ? (int64_t)UINT32_MAX : INT64_MAX;
}

/* ------------------------------------------------------------------ gather */

/* gather (x, idx) is linear in x. */
static jx_status jvp_gather(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = jx__bind_like(e, JX_PRIM_GATHER, 2, (jx_val[2]){dx[0], x[1]}, e->nattr, e->attrs);
    return jx_trace_status();
}

/* Every read element's cotangent adds back where it was read from: scatter_add into
 * zeros, with the indices clamped as gather clamped them (scatter would drop them). */
static jx_status tr_gather(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                           const jx_val *ct, jx_val *ct_in) {
    if (lin[1]) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, "gather", "transpose with respect to the indices");
        return jx_trace_status();
    }
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int64_t n = axis >= 0 && axis < av[0].rank ? av[0].shape[axis] : 0;
    jx_val idx = x[1];
    if (n > 0) {
        jx_val hi = jx_scalar_like_at(e->loc, idx, (double)(n - 1 < index_max(av[1].dtype) ? n - 1 : index_max(av[1].dtype)));
        idx = jx_max_at(e->loc, jx_min_at(e->loc, idx, hi), jx_scalar_like_at(e->loc, idx, 0));
    }
    jx_val in[3] = {jx__zeros(e->loc, &av[0]), idx, ct[0]};
    ct_in[0] = jx__bind_like(e, JX_PRIM_SCATTER_ADD, 3, in, e->nattr, e->attrs);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ scatter_add */

/* scatter_add (x, idx, upd) is linear in x and upd jointly: a zero upd tangent leaves
 * dx as it is; a zero dx scatters into materialised zeros. */
static jx_status jvp_scatter_add(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y,
                                 jx_val *dy) {
    jx__rebind(e, x, y);
    if (jx__is_zero(dx[2])) {
        dy[0] = dx[0];
        return jx_trace_status();
    }
    jx_aval xa = jx__val_aval(x[0]);
    jx_val base = jx__is_zero(dx[0]) ? jx__zeros(e->loc, &xa) : dx[0];
    dy[0] = jx__bind_like(e, JX_PRIM_SCATTER_ADD, 3, (jx_val[3]){base, x[1], dx[2]}, e->nattr, e->attrs);
    return jx_trace_status();
}

/* ct_x = ct; ct_upd = ct gathered at the indices, zero where scatter_add dropped the
 * update (an out-of-range index: gather alone would read the clamped element). */
static jx_status tr_scatter_add(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                const jx_val *ct, jx_val *ct_in) {
    if (lin[1]) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, "scatter_add", "transpose with respect to the indices");
        return jx_trace_status();
    }
    if (lin[0]) ct_in[0] = ct[0];
    if (!lin[2]) return jx_trace_status();
    jx_loc loc = e->loc;
    jx_val idx = x[1];
    const jx_aval *ia = &av[1], *ua = &av[2];
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int64_t nbatch = jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0);
    int64_t n = axis >= 0 && axis < av[0].rank ? av[0].shape[axis] : 0;
    jx_val g = jx__bind_like(e, JX_PRIM_GATHER, 2, (jx_val[2]){ct[0], idx}, e->nattr, e->attrs);
    jx_val ok = jx_ge_at(loc, idx, jx_scalar_like_at(loc, idx, 0));
    if (n <= index_max(ia->dtype)) ok = jx_and_at(loc, ok, jx_lt_at(loc, idx, jx_scalar_like_at(loc, idx, (double)n)));
    /* indices dims sit in the updates at the batch dims and from axis on */
    int64_t dims[JX_MAX_RANK];
    for (int i = 0; i < ia->rank; i++) dims[i] = i < nbatch ? i : axis + (i - nbatch);
    ok = jx_broadcast_in_dim_at(loc, ok, (jx_ints){ua->shape, ua->rank}, (jx_ints){dims, ia->rank});
    ct_in[2] = jx_select_at(loc, ok, g, jx_scalar_like_at(loc, g, 0));
    return jx_trace_status();
}

/* ------------------------------------------------------------------ sort, top_k */

/* out[i] = t[..., idx[..., i]] along the last axis of t (take_along_axis): a gather
 * with every other dim a batch dim. */
static jx_val take_last(jx_loc loc, jx_val t, jx_val idx) {
    int r = jx_rank(t);
    return jx__gather_clamped_at(loc, t, idx, r - 1, r - 1);
}

/* take_along_axis on any axis: move it last, take, move it back. */
static jx_val take_along(jx_loc loc, jx_val t, jx_val idx, int axis) {
    int r = jx_rank(t);
    if (axis == r - 1) return take_last(loc, t, idx);
    int64_t perm[JX_MAX_RANK], inv[JX_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++)
        if (i != axis) perm[j++] = i;
    perm[r - 1] = axis;
    for (int i = 0; i < r; i++) inv[perm[i]] = i;
    jx_ints p = {perm, r};
    jx_val g = take_last(loc, jx_transpose_at(loc, t, p), jx_transpose_at(loc, idx, p));
    return jx_transpose_at(loc, g, (jx_ints){inv, r});
}

/* Sorting permutes: sort the operands together with an iota to learn the permutation,
 * then apply it to each tangent. The extra operand's outputs are the primal results. */
static jx_status jvp_sort(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    int n = e->nin;
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int num_keys = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_KEYS, 1);
    jx_aval a = jx__val_aval(x[0]);
    jx_val ib[17], ob[17];
    jx_val *in = n < 17 ? ib : malloc(sizeof *in * (size_t)(n + 1));
    jx_val *out = n < 17 ? ob : malloc(sizeof *out * (size_t)(n + 1));
    if (!in || !out) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, e->loc, "sort", "out of memory");
    } else {
        for (int i = 0; i < n; i++) in[i] = x[i];
        in[n] = jx_iota_at(e->loc, JX_I32, (jx_ints){a.shape, a.rank}, axis);
        jx_sort_multi_at(e->loc, n + 1, in, axis, num_keys, out);
        for (int i = 0; i < n; i++) {
            y[i] = out[i];
            if (!jx__is_zero(dx[i])) dy[i] = take_along(e->loc, dx[i], out[n], axis);
        }
    }
    if (in != ib) free(in);
    if (out != ob) free(out);
    return jx_trace_status();
}

/* top_k's values are x at the returned indices (along the last axis). */
static jx_status jvp_top_k(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = take_last(e->loc, dx[0], y[1]);
    return jx_trace_status();
}

void jx__grad_register_index(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_GATHER] = jvp_gather;
    jvp[JX_PRIM_SCATTER_ADD] = jvp_scatter_add;
    jvp[JX_PRIM_SORT] = jvp_sort;
    jvp[JX_PRIM_TOP_K] = jvp_top_k;
    tr[JX_PRIM_GATHER] = tr_gather;
    tr[JX_PRIM_SCATTER_ADD] = tr_scatter_add;
}
