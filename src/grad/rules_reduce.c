/* rules_reduce.c: jvp and transpose rules for the reductions, the cumulative ops and
 * dot_general (see prims.def).
 *
 * Non-linear ones reduce their tangent with weights computed from primal values only,
 * so reverse mode needs nothing beyond mul, reduce_sum and the movement transposes:
 *  - reduce_max/min: like JAX, the tangent is shared equally among the locations equal
 *    to the result (ties split).
 *  - reduce_prod: d prod = sum_i dx_i * prod_{j != i} x_j, with the products of the
 *    others taken as exclusive cumulative products from both sides, so zeros are exact.
 *  - cumprod, cummax, cummin: JAX differentiates lax.associative_scan of mul, max or
 *    min; so does jx, building the same scan tree over (value, tangent) pairs, so the
 *    tangents are JAX's: exact with zeros for cumprod (no division by x), and a tie in
 *    cummax/cummin split in halves at each combine where it meets, as JAX's max does.
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

/* A value and its tangent along the scan. */
typedef struct vt {
    jx_val v, t;
} vt;

/* x[start:limit:stride] along axis. */
static jx_val slice_axis(jx_loc loc, jx_val x, int axis, int64_t start, int64_t limit, int64_t stride) {
    jx_aval a = jx__val_aval(x);
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK], st[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) hi[d] = a.shape[d], st[d] = 1;
    lo[axis] = start, hi[axis] = limit, st[axis] = stride;
    return jx_slice_at(loc, x, (jx_ints){lo, a.rank}, (jx_ints){hi, a.rank}, (jx_ints){st, a.rank});
}

static vt slice_vt(jx_loc loc, vt x, int axis, int64_t start, int64_t limit, int64_t stride) {
    return (vt){slice_axis(loc, x.v, axis, start, limit, stride), slice_axis(loc, x.t, axis, start, limit, stride)};
}

/* The share of u in r = max/min(u, w): JAX's _balanced_eq, 1/2 each on a tie. */
static jx_val tie_share(jx_loc l, jx_val u, jx_val w, jx_val r) {
    jx_val half_or_one = jx_select_at(l, jx_eq_at(l, w, r), jx_scalar_like_at(l, r, 0.5), jx_scalar_like_at(l, r, 1));
    return jx_select_at(l, jx_eq_at(l, u, r), half_or_one, jx_scalar_like_at(l, r, 0));
}

/* combine(a, b) of the scan and its jvp: mul, or max/min with tied shares. */
static vt combine(jx_loc l, jx_prim p, vt a, vt b) {
    if (p == JX_PRIM_CUMPROD)
        return (vt){jx_mul_at(l, a.v, b.v), jx_add_at(l, jx_mul_at(l, a.t, b.v), jx_mul_at(l, a.v, b.t))};
    jx_val r = p == JX_PRIM_CUMMAX ? jx_max_at(l, a.v, b.v) : jx_min_at(l, a.v, b.v);
    return (vt){r, jx_add_at(l, jx_mul_at(l, a.t, tie_share(l, a.v, b.v, r)), jx_mul_at(l, b.t, tie_share(l, b.v, a.v, r)))};
}

/* a and b interleaved along axis (a[0], b[0], a[1], ...; a has as many or one more):
 * each padded with holes (interior 1) and added, as JAX's _interleave. */
static jx_val interleave(jx_loc l, jx_val a, jx_val b, int axis) {
    jx_aval aa = jx__val_aval(a), ba = jx__val_aval(b);
    int r = aa.rank;
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK] = {0}, in[JX_MAX_RANK] = {0};
    jx_val z = jx_scalar_like_at(l, a, 0);
    in[axis] = 1;
    hi[axis] = aa.shape[axis] == ba.shape[axis];
    jx_val pa = jx_pad_at(l, a, z, (jx_ints){lo, r}, (jx_ints){hi, r}, (jx_ints){in, r});
    lo[axis] = 1, hi[axis] = aa.shape[axis] == ba.shape[axis] + 1;
    jx_val pb = jx_pad_at(l, b, z, (jx_ints){lo, r}, (jx_ints){hi, r}, (jx_ints){in, r});
    return jx_add_at(l, pa, pb);
}

/* lax.associative_scan's recursion (_scan) along axis over n elements. */
static vt assoc_scan(jx_loc l, jx_prim p, vt e, int axis, int64_t n) {
    if (n < 2) return e;
    vt red = combine(l, p, slice_vt(l, e, axis, 0, n - 1, 2), slice_vt(l, e, axis, 1, n, 2));
    int64_t no = n / 2;
    vt odd = assoc_scan(l, p, red, axis, no);
    vt first = slice_vt(l, e, axis, 0, 1, 1), even = first;
    if (n > 2) {
        vt rest = n % 2 == 0 ? slice_vt(l, odd, axis, 0, no - 1, 1) : odd;
        vt c = combine(l, p, rest, slice_vt(l, e, axis, 2, n, 2));
        even.v = jx_concatenate_at(l, 2, (jx_val[2]){first.v, c.v}, axis);
        even.t = jx_concatenate_at(l, 2, (jx_val[2]){first.t, c.t}, axis);
    }
    return (vt){interleave(l, even.v, odd.v, axis), interleave(l, even.t, odd.t, axis)};
}

/* cumprod, cummax, cummin: the tangent of the associative scan (reversed: of the scan
 * of the reversed operand, reversed back, as JAX does). */
static jx_status jvp_cum_assoc(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_loc l = e->loc;
    int axis = cum_axis(e), rev = cum_reverse(e);
    int64_t ax = axis;
    jx_ints dims = {&ax, 1};
    vt in = {x[0], dx[0]};
    if (rev) in = (vt){jx_rev_at(l, x[0], dims), jx_rev_at(l, dx[0], dims)};
    vt out = assoc_scan(l, (jx_prim)e->prim, in, axis, jx__val_aval(x[0]).shape[axis]);
    dy[0] = rev ? jx_rev_at(l, out.t, dims) : out.t;
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
    jvp[JX_PRIM_CUMPROD] = jvp_cum_assoc;
    jvp[JX_PRIM_CUMMAX] = jvp_cum_assoc;
    jvp[JX_PRIM_CUMMIN] = jvp_cum_assoc;
    jvp[JX_PRIM_DOT_GENERAL] = jvp_dot_general;
    tr[JX_PRIM_REDUCE_SUM] = tr_reduce_sum;
    tr[JX_PRIM_CUMSUM] = tr_cumsum;
    tr[JX_PRIM_DOT_GENERAL] = tr_dot_general;
}
