/* shape_dot.c: the dot_general shape rule (lax.dot_general semantics): output dims are
 * the batch dims, then lhs free dims in order, then rhs free dims in order. */
#include "reduce_util.h"

static jx_status dims_attr(int nattr, const jx__attr *attrs, jx__akey key, jx_ints *v,
                           jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INTS)
        return jx__rule_fail(err, JX_ERR_ARG, "needs an attribute '%s'", jx__attr_names[key]);
    v->v = a->u.ints;
    v->n = a->n;
    return JX_OK;
}

/* Marks the contract and batch dims of one operand in used[]; each must be in range
 * and appear once across both lists. */
static jx_status mark_dims(const char *side, const jx_aval *x, jx_ints contract, jx_ints batch,
                           bool *used, jx__rule_err *err) {
    for (int i = 0; i < x->rank; i++) used[i] = false;
    for (int l = 0; l < 2; l++) {
        jx_ints d = l ? batch : contract;
        for (int i = 0; i < d.n; i++) {
            if (d.v[i] < 0 || d.v[i] >= x->rank)
                return jx__rule_fail(err, JX_ERR_AXIS, "%s %s dimension %lld out of range for %s", side,
                                     l ? "batch" : "contracting", (long long)d.v[i], jx__avs(x));
            if (used[d.v[i]])
                return jx__rule_fail(err, JX_ERR_AXIS, "%s dimension %lld repeated in contract %s / batch %s",
                                     side, (long long)d.v[i], jx__ints_str(contract), jx__ints_str(batch));
            used[d.v[i]] = true;
        }
    }
    return JX_OK;
}

/* Sizes of lhs dims a[] and rhs dims b[] must agree pairwise. */
static bool sizes_match(const jx_aval *l, const jx_aval *r, jx_ints a, jx_ints b) {
    for (int i = 0; i < a.n; i++)
        if (l->shape[a.v[i]] != r->shape[b.v[i]]) return false;
    return true;
}

jx_status jx__shape_dot_general(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (nin != 2) return jx__rule_fail(err, JX_ERR_ARG, "takes 2 operands, got %d", nin);
    if (maxout < 1) return jx__rule_fail(err, JX_ERR_ARG, "no room for the output");
    jx_ints lc, rc, lb, rb;
    if (dims_attr(nattr, attrs, JX_A_LHS_CONTRACT, &lc, err) || dims_attr(nattr, attrs, JX_A_RHS_CONTRACT, &rc, err) ||
        dims_attr(nattr, attrs, JX_A_LHS_BATCH, &lb, err) || dims_attr(nattr, attrs, JX_A_RHS_BATCH, &rb, err))
        return err->code;
    const jx_aval *l = &in[0], *r = &in[1];
    if (l->dtype != r->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "operand dtypes differ: %s . %s", jx__avs(l), jx__avs(r));
    jx_dtype t = l->dtype;
    if (t != JX_F32 && t != JX_F64 && t != JX_I32 && t != JX_I64)
        return jx__rule_fail(err, JX_ERR_DTYPE, "dtype %s not supported (f32, f64, i32, i64): %s . %s",
                             jx_dtype_name(t), jx__avs(l), jx__avs(r));
    if (lc.n != rc.n)
        return jx__rule_fail(err, JX_ERR_ARG, "contracting dimension lists differ in length: %s and %s",
                             jx__ints_str(lc), jx__ints_str(rc));
    if (lb.n != rb.n)
        return jx__rule_fail(err, JX_ERR_ARG, "batch dimension lists differ in length: %s and %s",
                             jx__ints_str(lb), jx__ints_str(rb));
    bool lused[JX_MAX_RANK], rused[JX_MAX_RANK];
    if (mark_dims("lhs", l, lc, lb, lused, err) || mark_dims("rhs", r, rc, rb, rused, err)) return err->code;
    if (!sizes_match(l, r, lb, rb))
        return jx__rule_fail(err, JX_ERR_SHAPE, "batch dimensions differ: %s . %s (batch %s and %s)",
                             jx__avs(l), jx__avs(r), jx__ints_str(lb), jx__ints_str(rb));
    if (!sizes_match(l, r, lc, rc))
        return jx__rule_fail(err, JX_ERR_SHAPE, "contracting dimensions differ: %s . %s", jx__avs(l),
                             jx__avs(r));
    /* the lhs part fits (each lhs dim appears once); the rhs free dims may overflow */
    jx_aval o = {t, 0, {0}};
    for (int i = 0; i < lb.n; i++) o.shape[o.rank++] = l->shape[lb.v[i]];
    for (int d = 0; d < l->rank; d++)
        if (!lused[d]) o.shape[o.rank++] = l->shape[d];
    for (int d = 0; d < r->rank; d++) {
        if (rused[d]) continue;
        if (o.rank == JX_MAX_RANK)
            return jx__rule_fail(err, JX_ERR_SHAPE, "result of %s . %s would have rank above %d", jx__avs(l),
                                 jx__avs(r), JX_MAX_RANK);
        o.shape[o.rank++] = r->shape[d];
    }
    out[0] = o;
    *nout = 1;
    return JX_OK;
}
