/* shape_lapack.c: shape and dtype rules of the linear-algebra primitives (cholesky,
 * triangular_solve, lu, eigh, qr, svd; see prims.def): f32/f64, batch dims leading and
 * equal, square matrices where a factor or a triangle is taken. */
#include "ir.h"

static bool float_ok(jx_dtype t) { return t == JX_F32 || t == JX_F64; }

static jx_status cholesky_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                               jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin, (void)nattr, (void)attrs, (void)maxout;
    const jx_aval *x = &in[0];
    if (!float_ok(x->dtype)) return jx__rule_fail(err, JX_ERR_DTYPE, "wants f32 or f64, got %s", jx__avs(x));
    if (x->rank < 2 || x->shape[x->rank - 1] != x->shape[x->rank - 2])
        return jx__rule_fail(err, JX_ERR_SHAPE, "wants square matrices (..., n, n), got %s", jx__avs(x));
    out[0] = *x;
    *nout = 1;
    return JX_OK;
}

/* An int attribute that must be 0 or 1. */
static bool flag(int nattr, const jx__attr *attrs, jx__akey k, int *v) {
    const jx__attr *a = jx__attr_get(nattr, attrs, k);
    if (!a || a->kind != JX_AK_INT || (a->u.i != 0 && a->u.i != 1)) return false;
    *v = (int)a->u.i;
    return true;
}

static jx_status triangular_solve_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                                       jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin, (void)maxout;
    const jx_aval *a = &in[0], *b = &in[1];
    int left, v;
    if (!flag(nattr, attrs, JX_A_LEFT_SIDE, &left) || !flag(nattr, attrs, JX_A_LOWER, &v) ||
        !flag(nattr, attrs, JX_A_TRANSPOSE_A, &v) || !flag(nattr, attrs, JX_A_UNIT_DIAGONAL, &v))
        return jx__rule_fail(err, JX_ERR_ARG, "attributes left_side, lower, transpose_a, unit_diagonal (0 or 1) are "
                                              "missing or wrong: %s, %s", jx__avs(a), jx__avs(b));
    if (!float_ok(a->dtype) || a->dtype != b->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "wants f32 or f64 operands of one dtype, got %s, %s", jx__avs(a),
                             jx__avs(b));
    int r = a->rank;
    if (r < 2 || a->shape[r - 1] != a->shape[r - 2])
        return jx__rule_fail(err, JX_ERR_SHAPE, "a must be square matrices (..., m, m), got %s", jx__avs(a));
    bool batch_ok = b->rank == r;
    for (int d = 0; batch_ok && d < r - 2; d++) batch_ok = a->shape[d] == b->shape[d];
    if (!batch_ok)
        return jx__rule_fail(err, JX_ERR_SHAPE, "a %s and b %s need the same rank and batch dims", jx__avs(a),
                             jx__avs(b));
    int64_t m = a->shape[r - 1], bm = b->shape[left ? r - 2 : r - 1];
    if (bm != m)
        return jx__rule_fail(err, JX_ERR_SHAPE, "b %s must have %lld %s (a is %s, %s side)", jx__avs(b), (long long)m,
                             left ? "rows" : "columns", jx__avs(a), left ? "left" : "right");
    out[0] = *b;
    *nout = 1;
    return JX_OK;
}

/* lu: the packed factors (the shape of a), the row swaps of getrf (min(m, n) of them)
 * and the permutation they make (m rows), both i32. */
static jx_status lu_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout, jx_aval *out,
                         int *nout, jx__rule_err *err) {
    (void)nin, (void)nattr, (void)attrs;
    const jx_aval *x = &in[0];
    if (maxout < 3) return jx__rule_fail(err, JX_ERR_ARG, "needs room for 3 outputs, got %d", maxout);
    if (!float_ok(x->dtype)) return jx__rule_fail(err, JX_ERR_DTYPE, "wants f32 or f64, got %s", jx__avs(x));
    if (x->rank < 2) return jx__rule_fail(err, JX_ERR_SHAPE, "wants matrices (..., m, n), got %s", jx__avs(x));
    int64_t m = x->shape[x->rank - 2], n = x->shape[x->rank - 1];
    out[0] = *x;
    out[1] = *x;
    out[1].dtype = JX_I32;
    out[1].rank = x->rank - 1;
    out[1].shape[x->rank - 2] = m < n ? m : n;
    out[1].shape[x->rank - 1] = 0;
    out[2] = out[1];
    out[2].shape[x->rank - 2] = m;
    *nout = 3;
    return JX_OK;
}

/* eigh: the eigenvectors (the shape of x) and the eigenvalues (..., n). */
static jx_status eigh_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout, jx_aval *out,
                           int *nout, jx__rule_err *err) {
    if (maxout < 2) return jx__rule_fail(err, JX_ERR_ARG, "needs room for 2 outputs, got %d", maxout);
    if (cholesky_rule(nin, in, nattr, attrs, maxout, out, nout, err) != JX_OK) return err->code;
    out[1] = *in;
    out[1].rank--;
    out[1].shape[out[1].rank] = 0;
    *nout = 2;
    return JX_OK;
}

/* qr (reduced), k = min(m, n): q (..., m, k) and r (..., k, n). */
static jx_status qr_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout, jx_aval *out,
                         int *nout, jx__rule_err *err) {
    (void)nin, (void)nattr, (void)attrs;
    const jx_aval *x = &in[0];
    if (maxout < 2) return jx__rule_fail(err, JX_ERR_ARG, "needs room for 2 outputs, got %d", maxout);
    if (!float_ok(x->dtype)) return jx__rule_fail(err, JX_ERR_DTYPE, "wants f32 or f64, got %s", jx__avs(x));
    if (x->rank < 2) return jx__rule_fail(err, JX_ERR_SHAPE, "wants matrices (..., m, n), got %s", jx__avs(x));
    int64_t m = x->shape[x->rank - 2], n = x->shape[x->rank - 1];
    out[0] = out[1] = *x;
    out[0].shape[x->rank - 1] = out[1].shape[x->rank - 2] = m < n ? m : n;
    *nout = 2;
    return JX_OK;
}

/* svd, k = min(m, n): s (..., k), then with compute_uv u (..., m, k) and vt (..., k, n),
 * or (..., m, m) and (..., n, n) with full_matrices. */
static jx_status svd_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout, jx_aval *out,
                          int *nout, jx__rule_err *err) {
    (void)nin;
    const jx_aval *x = &in[0];
    int full, uv;
    if (!flag(nattr, attrs, JX_A_FULL_MATRICES, &full) || !flag(nattr, attrs, JX_A_COMPUTE_UV, &uv))
        return jx__rule_fail(err, JX_ERR_ARG, "attributes full_matrices, compute_uv (0 or 1) are missing or wrong: %s",
                             jx__avs(x));
    if (maxout < (uv ? 3 : 1))
        return jx__rule_fail(err, JX_ERR_ARG, "needs room for %d outputs, got %d", uv ? 3 : 1, maxout);
    if (!float_ok(x->dtype)) return jx__rule_fail(err, JX_ERR_DTYPE, "wants f32 or f64, got %s", jx__avs(x));
    if (x->rank < 2) return jx__rule_fail(err, JX_ERR_SHAPE, "wants matrices (..., m, n), got %s", jx__avs(x));
    int r = x->rank;
    int64_t m = x->shape[r - 2], n = x->shape[r - 1], k = m < n ? m : n;
    out[0] = *x;
    out[0].rank = r - 1;
    out[0].shape[r - 2] = k;
    out[0].shape[r - 1] = 0;
    *nout = 1;
    if (!uv) return JX_OK;
    out[1] = out[2] = *x;
    out[1].shape[r - 1] = full ? m : k;
    out[2].shape[r - 2] = full ? n : k;
    *nout = 3;
    return JX_OK;
}

void jx__shape_register_lapack(jx__shape_rule *t) {
    t[JX_PRIM_QR] = qr_rule;
    t[JX_PRIM_SVD] = svd_rule;
    t[JX_PRIM_EIGH] = eigh_rule;
    t[JX_PRIM_LU] = lu_rule;
    t[JX_PRIM_CHOLESKY] = cholesky_rule;
    t[JX_PRIM_TRIANGULAR_SOLVE] = triangular_solve_rule;
}
