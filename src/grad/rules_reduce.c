/* rules_reduce.c: jvp and transpose rules for the reductions, the cumulative ops and
 * dot_general (see prims.def).
 *
 * Non-linear ones reduce their tangent with weights computed from primal values only,
 * so reverse mode needs nothing beyond mul, reduce_sum and the movement transposes:
 *  - reduce_max/min: like JAX, the tangent is shared equally among the locations equal
 *    to the result (ties split).
 *  - reduce_prod: d prod = sum_i dx_i * prod_{j != i} x_j, with the products of the
 *    others taken as exclusive cumulative products from both sides, so zeros are exact.
 *  - cumprod: dy = y * cumsum(dx / x): exact for non-zero x only (a zero gives inf/NaN
 *    tangents from there on; JAX's associative-scan form would be needed to fix that).
 *  - cummax/cummin: each output takes the tangent of the element that currently holds
 *    the running extreme (the latest one on ties), picked with a gather.
 *  - argmax/argmin: integer results, no tangent. */
#include "grad.h"

#define JVP_ARGS const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy
#define TR_ARGS                                                                                    \
    const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct, \
        jx_val *ct_in

static jx_ints attr(const jx__eqn *e, jx__akey k) { return jx__attr_ints(e->nattr, e->attrs, k); }

/* reduce_sum over canonical (sorted, non-negative) axes; an empty list sums nothing,
 * unlike jx_reduce_sum's JX_NOINTS. */
static jx_val sum_axes(jx_loc loc, jx_val v, jx_ints axes) {
    jx__attr a = jx__a_ints(JX_A_AXES, axes);
    return jx__bind1(loc, JX_PRIM_REDUCE_SUM, 1, &v, 1, &a);
}

/* v (the shape of x with `axes` removed) broadcast back to x's shape. */
static jx_val unreduce(jx_loc loc, jx_val v, const jx_aval *xa, jx_ints axes) {
    bool red[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
    int64_t dims[JX_MAX_RANK];
    int n = 0;
    for (int d = 0; d < xa->rank; d++)
        if (!red[d]) dims[n++] = d;
    return jx_broadcast_in_dim_at(loc, v, (jx_ints){xa->shape, xa->rank}, (jx_ints){dims, n});
}

/* dy = sum over the reduced axes of dx * w, w a primal weight of x's shape. */
static jx_val weighted_sum(const jx__eqn *e, jx_val dx, jx_val w) {
    return sum_axes(e->loc, jx_mul_at(e->loc, dx, w), attr(e, JX_A_AXES));
}

/* ------------------------------------------------------------------ jvp */

/* Linear in the operand: the same primitive on the tangent. */
static jx_status jvp_linear(JVP_ARGS) {
    jx__rebind(e, x, y);
    dy[0] = jx__bind1(e->loc, (jx_prim)e->prim, 1, dx, e->nattr, e->attrs);
    return jx_trace_status();
}

static jx_status jvp_none(JVP_ARGS) {
    (void)dx, (void)dy;
    return jx__rebind(e, x, y);
}

static jx_status jvp_reduce_extreme(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_ints axes = attr(e, JX_A_AXES);
    jx_aval xa = jx__val_aval(x[0]);
    jx_val at = jx_convert_at(e->loc, jx_eq_at(e->loc, x[0], unreduce(e->loc, y[0], &xa, axes)), xa.dtype);
    jx_val count = sum_axes(e->loc, at, axes);
    dy[0] = weighted_sum(e, dx[0], jx_div_at(e->loc, at, unreduce(e->loc, count, &xa, axes)));
    return jx_trace_status();
}

/* Exclusive cumulative product along the last axis of v (rank r): from the front, or
 * from the back when reverse. */
static jx_val excl_cumprod(jx_loc loc, jx_val v, int r, int reverse) {
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK] = {0}, in[JX_MAX_RANK] = {0};
    lo[r - 1] = reverse ? -1 : 1;
    hi[r - 1] = -lo[r - 1];
    jx_val c = jx_cumprod_at(loc, v, r - 1, reverse);
    return jx_pad_at(loc, c, jx_scalar_like_at(loc, v, 1), (jx_ints){lo, r}, (jx_ints){hi, r}, (jx_ints){in, r});
}

static jx_status jvp_reduce_prod(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_ints axes = attr(e, JX_A_AXES);
    if (axes.n == 0) { /* a product over nothing is the identity */
        dy[0] = dx[0];
        return jx_trace_status();
    }
    /* Move the reduced axes last and flatten them, so one axis holds each product. */
    jx_aval xa = jx__val_aval(x[0]);
    bool red[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
    int64_t perm[JX_MAX_RANK], inv[JX_MAX_RANK], flat[JX_MAX_RANK], tshape[JX_MAX_RANK];
    int k = 0, nk;
    for (int d = 0; d < xa.rank; d++)
        if (!red[d]) flat[k] = xa.shape[d], perm[k++] = d;
    nk = k;
    flat[nk] = 1;
    for (int d = 0; d < xa.rank; d++)
        if (red[d]) flat[nk] *= xa.shape[d], perm[k++] = d;
    for (int i = 0; i < xa.rank; i++) inv[perm[i]] = i, tshape[i] = xa.shape[perm[i]];
    jx_loc loc = e->loc;
    jx_val xf = jx_reshape_at(loc, jx_transpose_at(loc, x[0], (jx_ints){perm, xa.rank}), (jx_ints){flat, nk + 1});
    jx_val w = jx_mul_at(loc, excl_cumprod(loc, xf, nk + 1, 0), excl_cumprod(loc, xf, nk + 1, 1));
    w = jx_transpose_at(loc, jx_reshape_at(loc, w, (jx_ints){tshape, xa.rank}), (jx_ints){inv, xa.rank});
    dy[0] = weighted_sum(e, dx[0], w);
    return jx_trace_status();
}

static int cum_axis(const jx__eqn *e) { return (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0); }
static int cum_reverse(const jx__eqn *e) { return (int)jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0); }

static jx_status jvp_cumprod(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_val r = jx_div_at(e->loc, jx_scalar_like_at(e->loc, x[0], 1), x[0]);
    jx_val s = jx_cumsum_at(e->loc, jx_mul_at(e->loc, dx[0], r), cum_axis(e), cum_reverse(e));
    dy[0] = jx_mul_at(e->loc, s, y[0]);
    return jx_trace_status();
}

/* Output i holds x at the nearest position j (j <= i, or j >= i when reverse) where x
 * equals the running extreme y; that index comes from a running max (min) of such j's,
 * and the tangent is gathered from it along the axis (moved last for gather). */
static jx_status jvp_cum_extreme(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_loc loc = e->loc;
    jx_aval xa = jx__val_aval(x[0]);
    int axis = cum_axis(e), rev = cum_reverse(e), r = xa.rank;
    jx_dtype it = xa.shape[axis] > INT32_MAX ? JX_I64 : JX_I32;
    jx_val iota = jx_iota_at(loc, it, (jx_ints){xa.shape, r}, axis);
    jx_val here = jx_eq_at(loc, x[0], y[0]);
    jx_val idx = rev ? jx_cummin_at(loc, jx_select_at(loc, here, iota, jx_scalar_at(loc, it, (double)xa.shape[axis] - 1)), axis, 1)
                     : jx_cummax_at(loc, jx_select_at(loc, here, iota, jx_scalar_at(loc, it, 0)), axis, 0);
    int64_t perm[JX_MAX_RANK], inv[JX_MAX_RANK];
    for (int d = 0, k = 0; d < r; d++)
        if (d != axis) perm[k++] = d;
    perm[r - 1] = axis;
    for (int i = 0; i < r; i++) inv[perm[i]] = i;
    jx_ints p = {perm, r}, q = {inv, r};
    jx_val g = jx_gather_at(loc, jx_transpose_at(loc, dx[0], p), jx_transpose_at(loc, idx, p), r - 1, r - 1);
    dy[0] = jx_transpose_at(loc, g, q);
    return jx_trace_status();
}

static jx_status jvp_dot_general(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_val a = JX_ZERO, b = JX_ZERO;
    if (!jx__is_zero(dx[0])) a = jx__bind_like(e, JX_PRIM_DOT_GENERAL, 2, (jx_val[2]){dx[0], x[1]}, e->nattr, e->attrs);
    if (!jx__is_zero(dx[1])) b = jx__bind_like(e, JX_PRIM_DOT_GENERAL, 2, (jx_val[2]){x[0], dx[1]}, e->nattr, e->attrs);
    dy[0] = jx__add_tan(e->loc, a, b);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ transpose */

static jx_status tr_reduce_sum(TR_ARGS) {
    (void)x, (void)lin;
    ct_in[0] = unreduce(e->loc, ct[0], &av[0], attr(e, JX_A_AXES));
    return jx_trace_status();
}

static jx_status tr_cumsum(TR_ARGS) {
    (void)x, (void)lin, (void)av;
    ct_in[0] = jx_cumsum_at(e->loc, ct[0], cum_axis(e), !cum_reverse(e));
    return jx_trace_status();
}

/* Dims of an operand of rank r that are in neither list, ascending. */
static int free_dims(int r, jx_ints c, jx_ints b, int64_t *out) {
    bool used[JX_MAX_RANK] = {false};
    for (int i = 0; i < c.n; i++) used[c.v[i]] = true;
    for (int i = 0; i < b.n; i++) used[b.v[i]] = true;
    int n = 0;
    for (int d = 0; d < r; d++)
        if (!used[d]) out[n++] = d;
    return n;
}

/* The cotangent of one dot_general operand ("me", the lhs when me_lhs) as JAX's
 * _dot_general_transpose_lhs/_rhs build it: contract ct's dims that came from the other
 * operand's free dims with those dims, batch with its batch dims, and transpose the
 * result (batch, my free dims, my contracting dims in the other's order) to my order. */
static jx_val dot_transpose(jx_loc loc, jx_val ct, jx_val other, const jx_aval *me, const jx_aval *oth,
                            jx_ints me_c, jx_ints oth_c, jx_ints me_b, jx_ints oth_b, bool me_lhs) {
    int64_t me_free[JX_MAX_RANK], oth_free[JX_MAX_RANK], ct_c[JX_MAX_RANK], ct_b[JX_MAX_RANK];
    int nb = me_b.n, nm = free_dims(me->rank, me_c, me_b, me_free), no = free_dims(oth->rank, oth_c, oth_b, oth_free);
    for (int i = 0; i < nb; i++) ct_b[i] = i;
    for (int i = 0; i < no; i++) ct_c[i] = nb + (me_lhs ? nm : 0) + i;
    jx_val r = jx_dot_general_at(loc, ct, other, (jx_ints){ct_c, no}, (jx_ints){oth_free, no}, (jx_ints){ct_b, nb}, oth_b);
    /* r's dim i is my dim order[i]; the other's contracting dims come out ascending */
    int64_t order[JX_MAX_RANK], perm[JX_MAX_RANK];
    int k = 0;
    for (int i = 0; i < nb; i++) order[k++] = me_b.v[i];
    for (int i = 0; i < nm; i++) order[k++] = me_free[i];
    for (int d = 0; d < oth->rank; d++)
        for (int i = 0; i < oth_c.n; i++)
            if (oth_c.v[i] == d) order[k++] = me_c.v[i];
    for (int i = 0; i < k; i++) perm[order[i]] = i;
    return jx_transpose_at(loc, r, (jx_ints){perm, k});
}

/* dot_general is bilinear: linear in one operand at a time, the other a residual. */
static jx_status tr_dot_general(TR_ARGS) {
    if (lin[0] && lin[1]) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, "dot_general", "transpose of a product of two tangents");
        return jx_trace_status();
    }
    jx_ints lc = attr(e, JX_A_LHS_CONTRACT), rc = attr(e, JX_A_RHS_CONTRACT);
    jx_ints lb = attr(e, JX_A_LHS_BATCH), rb = attr(e, JX_A_RHS_BATCH);
    if (lin[0]) ct_in[0] = dot_transpose(e->loc, ct[0], x[1], &av[0], &av[1], lc, rc, lb, rb, true);
    if (lin[1]) ct_in[1] = dot_transpose(e->loc, ct[0], x[0], &av[1], &av[0], rc, lc, rb, lb, false);
    return jx_trace_status();
}

void jx__grad_register_reduce(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_REDUCE_SUM] = jvp_linear;
    jvp[JX_PRIM_CUMSUM] = jvp_linear;
    jvp[JX_PRIM_REDUCE_MAX] = jvp_reduce_extreme;
    jvp[JX_PRIM_REDUCE_MIN] = jvp_reduce_extreme;
    jvp[JX_PRIM_REDUCE_PROD] = jvp_reduce_prod;
    jvp[JX_PRIM_ARGMAX] = jvp_none;
    jvp[JX_PRIM_ARGMIN] = jvp_none;
    jvp[JX_PRIM_CUMPROD] = jvp_cumprod;
    jvp[JX_PRIM_CUMMAX] = jvp_cum_extreme;
    jvp[JX_PRIM_CUMMIN] = jvp_cum_extreme;
    jvp[JX_PRIM_DOT_GENERAL] = jvp_dot_general;
    tr[JX_PRIM_REDUCE_SUM] = tr_reduce_sum;
    tr[JX_PRIM_CUMSUM] = tr_cumsum;
    tr[JX_PRIM_DOT_GENERAL] = tr_dot_general;
}
