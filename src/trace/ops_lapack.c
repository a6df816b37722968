/* ops_lapack.c: the public linear-algebra ops (cholesky, triangular_solve, cho_solve,
 * lu, eigh, qr, svd, and solve, inv, slogdet on lu as jnp.linalg does them). cholesky and eigh
 * symmetrize their input first, as lax.linalg does, so their derivative is that of a
 * symmetric matrix. */
#include <string.h>

#include "ops_util.h"

/* (x + x^T) / 2 when x is (..., n, n) (else x: the shape rule names the problem). */
static jx_val symmetrize(jx_loc loc, const char *what, jx_val x) {
    jx_aval a;
    if (!jx__ops_aval(loc, what, x, &a)) return jx__ops_invalid();
    if (a.rank < 2 || a.shape[a.rank - 1] != a.shape[a.rank - 2]) return x;
    int64_t perm[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) perm[d] = d;
    perm[a.rank - 2] = a.rank - 1;
    perm[a.rank - 1] = a.rank - 2;
    jx_val s = jx_add_at(loc, x, jx_transpose_at(loc, x, (jx_ints){perm, a.rank}));
    return jx_mul_at(loc, s, jx_scalar_like_at(loc, x, 0.5));
}

jx_val jx_cholesky_at(jx_loc loc, jx_val x) {
    x = symmetrize(loc, "cholesky", x);
    return jx__bind1(loc, JX_PRIM_CHOLESKY, 1, &x, 0, NULL);
}

void jx_eigh_at(jx_loc loc, jx_val x, jx_val *v, jx_val *w) {
    if (!v || !w) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "eigh", "v or w is NULL");
        if (v) *v = bad;
        if (w) *w = bad;
        return;
    }
    x = symmetrize(loc, "eigh", x);
    jx_val out[2];
    jx__bind(loc, JX_PRIM_EIGH, 1, &x, 0, NULL, 2, out, NULL);
    *v = out[0];
    *w = out[1];
}

jx_val jx_triangular_solve_at(jx_loc loc, jx_val a, jx_val b, int flags) {
    if (flags & ~15) return jx__ops_fail(loc, JX_ERR_ARG, "triangular_solve", "unknown flags 0x%x", (unsigned)flags);
    jx__attr attrs[4] = {jx__a_int(JX_A_LEFT_SIDE, !!(flags & JX_SOLVE_LEFT)),
                         jx__a_int(JX_A_LOWER, !!(flags & JX_SOLVE_LOWER)),
                         jx__a_int(JX_A_TRANSPOSE_A, !!(flags & JX_SOLVE_TRANSPOSE_A)),
                         jx__a_int(JX_A_UNIT_DIAGONAL, !!(flags & JX_SOLVE_UNIT_DIAGONAL))};
    jx_val in[2] = {a, b};
    return jx__bind1(loc, JX_PRIM_TRIANGULAR_SOLVE, 2, in, 4, attrs);
}

jx_val jx_cho_solve_at(jx_loc loc, jx_val L, jx_val b) {
    jx_val y = jx_triangular_solve_at(loc, L, b, JX_SOLVE_LEFT | JX_SOLVE_LOWER);
    return jx_triangular_solve_at(loc, L, y, JX_SOLVE_LEFT | JX_SOLVE_LOWER | JX_SOLVE_TRANSPOSE_A);
}

void jx_lu_at(jx_loc loc, jx_val a, jx_val *lu, jx_val *pivots, jx_val *permutation) {
    if (!lu || !pivots || !permutation) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "lu", "lu, pivots or permutation is NULL");
        if (lu) *lu = bad;
        if (pivots) *pivots = bad;
        if (permutation) *permutation = bad;
        return;
    }
    jx_val out[3];
    jx__bind(loc, JX_PRIM_LU, 1, &a, 0, NULL, 3, out, NULL);
    *lu = out[0];
    *pivots = out[1];
    *permutation = out[2];
}

/* a's avals when it is (..., m, m), else an error naming what (false). */
static bool square(jx_loc loc, const char *what, jx_val a, jx_aval *av) {
    if (!jx__ops_aval(loc, what, a, av)) return false;
    if (av->rank >= 2 && av->shape[av->rank - 1] == av->shape[av->rank - 2]) return true;
    jx__ops_fail(loc, JX_ERR_SHAPE, what, "wants square matrices (..., m, m), got %s", jx__avs(av));
    return false;
}

/* x with P a x = ... : b's rows in lu's permutation order, then the unit-lower and the
 * upper solves on the packed factors (each reads only its triangle). */
static jx_val lu_solve(jx_loc loc, jx_val a, int r, jx_val b) {
    jx_val lu, piv, perm;
    jx_lu_at(loc, a, &lu, &piv, &perm);
    jx_val pb = jx_gather_at(loc, b, perm, r - 2, r - 2);
    jx_val y = jx_triangular_solve_at(loc, lu, pb, JX_SOLVE_LEFT | JX_SOLVE_LOWER | JX_SOLVE_UNIT_DIAGONAL);
    return jx_triangular_solve_at(loc, lu, y, JX_SOLVE_LEFT);
}

jx_val jx_solve_at(jx_loc loc, jx_val a, jx_val b) {
    jx_aval aa, ba;
    if (!square(loc, "solve", a, &aa) || !jx__ops_aval(loc, "solve", b, &ba)) return jx__ops_invalid();
    int r = aa.rank;
    int64_t m = aa.shape[r - 1];
    if ((ba.rank == 1 && ba.shape[0] != m) || (ba.rank > 1 && ba.shape[ba.rank - 2] != m) || ba.rank == 0)
        return jx__ops_fail(loc, JX_ERR_SHAPE, "solve", "b %s must be (%lld) or (..., %lld, k) (a is %s)", jx__avs(&ba),
                            (long long)m, (long long)m, jx__avs(&aa));
    if (ba.rank == 1) { /* a vector b (JAX: only when b.ndim == 1): one column for every matrix of a */
        int64_t shape[JX_MAX_RANK], dim = r - 2;
        for (int d = 0; d < r; d++) shape[d] = aa.shape[d];
        shape[r - 1] = 1;
        jx_val col = jx_broadcast_in_dim_at(loc, b, (jx_ints){shape, r}, (jx_ints){&dim, 1});
        jx_val x = lu_solve(loc, a, r, col);
        return jx_reshape_at(loc, x, (jx_ints){shape, r - 1});
    }
    /* b (..., m, k): the batch dims of a and b broadcast (numpy rules), as jnp.linalg.solve */
    int na = r - 2, nb = ba.rank - 2, nr = na > nb ? na : nb;
    int64_t as[JX_MAX_RANK], bs[JX_MAX_RANK];
    for (int i = 0; i < nr; i++) {
        int64_t da = i >= nr - na ? aa.shape[i - (nr - na)] : 1, db = i >= nr - nb ? ba.shape[i - (nr - nb)] : 1;
        if (da != db && da != 1 && db != 1)
            return jx__ops_fail(loc, JX_ERR_SHAPE, "solve", "the batch dims of a %s and b %s do not broadcast",
                                jx__avs(&aa), jx__avs(&ba));
        as[i] = bs[i] = da == 1 ? db : da;
    }
    as[nr] = as[nr + 1] = m, bs[nr] = m, bs[nr + 1] = ba.shape[ba.rank - 1];
    if (nr != na || memcmp(as, aa.shape, sizeof *as * (size_t)r)) a = jx_broadcast_to_at(loc, a, (jx_ints){as, nr + 2});
    if (nr != nb || memcmp(bs, ba.shape, sizeof *bs * (size_t)ba.rank)) b = jx_broadcast_to_at(loc, b, (jx_ints){bs, nr + 2});
    return lu_solve(loc, a, nr + 2, b);
}

jx_val jx_inv_at(jx_loc loc, jx_val a) {
    jx_aval aa;
    if (!square(loc, "inv", a, &aa)) return jx__ops_invalid();
    int r = aa.rank;
    jx_ints sh = {aa.shape, r};
    jx_val eye = jx_convert_at(loc, jx_eq_at(loc, jx_iota_at(loc, JX_I32, sh, r - 2), jx_iota_at(loc, JX_I32, sh, r - 1)),
                               aa.dtype);
    return lu_solve(loc, a, r, eye);
}

void jx_slogdet_at(jx_loc loc, jx_val a, jx_val *sign, jx_val *logabsdet) {
    jx_aval aa;
    if (!sign || !logabsdet || !square(loc, "slogdet", a, &aa)) {
        jx_val bad = sign && logabsdet ? jx__ops_invalid() : jx__ops_fail(loc, JX_ERR_ARG, "slogdet", "sign or logabsdet is NULL");
        if (sign) *sign = bad;
        if (logabsdet) *logabsdet = bad;
        return;
    }
    int r = aa.rank;
    int64_t n = aa.shape[r - 1], last = r - 2;
    jx_val lu, piv, perm;
    jx_lu_at(loc, a, &lu, &piv, &perm);
    jx_ints sq = JX_INTS(n, n), ax = {&last, 1};
    jx_val eye = jx_convert_at(loc, jx_eq_at(loc, jx_iota_at(loc, JX_I32, sq, 0), jx_iota_at(loc, JX_I32, sq, 1)), aa.dtype);
    jx_val diag = jx_reduce_sum_at(loc, jx_mul_at(loc, lu, eye), (jx_ints){(int64_t[]){r - 1}, 1});
    /* each row swap (pivots[i] != i) flips the sign */
    jx_val swaps = jx_ne_at(loc, piv, jx_broadcast_to_at(loc, jx_iota_at(loc, JX_I32, JX_INTS(n), 0), (jx_ints){aa.shape, r - 1}));
    jx_val odd = jx_rem_at(loc, jx_reduce_sum_at(loc, jx_convert_at(loc, swaps, JX_I32), ax), jx_scalar_like_at(loc, piv, 2));
    jx_val flip = jx_sub_at(loc, jx_scalar_like_at(loc, diag, 1), jx_mul_at(loc, jx_convert_at(loc, odd, aa.dtype),
                                                                           jx_scalar_like_at(loc, diag, 2)));
    *sign = jx_mul_at(loc, flip, jx_reduce_prod_at(loc, jx_sign_at(loc, diag), ax));
    *logabsdet = jx_reduce_sum_at(loc, jx_log_at(loc, jx_abs_at(loc, diag)), ax);
}

void jx_qr_at(jx_loc loc, jx_val a, jx_val *q, jx_val *r) {
    if (!q || !r) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "qr", "q or r is NULL");
        if (q) *q = bad;
        if (r) *r = bad;
        return;
    }
    jx_val out[2];
    jx__bind(loc, JX_PRIM_QR, 1, &a, 0, NULL, 2, out, NULL);
    *q = out[0];
    *r = out[1];
}

void jx_svd_at(jx_loc loc, jx_val a, int full_matrices, int compute_uv, jx_val *u, jx_val *s, jx_val *vt) {
    if (!s || (compute_uv && (!u || !vt))) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "svd", "s, or u or vt with compute_uv, is NULL");
        if (s) *s = bad;
        if (u) *u = bad;
        if (vt) *vt = bad;
        return;
    }
    jx__attr attrs[2] = {jx__a_int(JX_A_FULL_MATRICES, !!full_matrices), jx__a_int(JX_A_COMPUTE_UV, !!compute_uv)};
    jx_val out[3];
    jx__bind(loc, JX_PRIM_SVD, 1, &a, 2, attrs, 3, out, NULL);
    *s = out[0];
    if (compute_uv) *u = out[1], *vt = out[2];
}
