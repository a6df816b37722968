/* rules_lapack.c: jvp and transpose rules of the linear-algebra primitives (cholesky,
 * triangular_solve, lu, eigh, qr, svd; see prims.def), JAX's rules from jax/_src/lax/linalg.py written with
 * jx's ops. triangular_solve is linear in b (its transpose solves with op(a)
 * transposed) and not in a. */
#include "grad.h"

/* The flags (JX_SOLVE_*) of a triangular_solve equation. */
static int solve_flags(const jx__eqn *e) {
    return (jx__attr_int(e->nattr, e->attrs, JX_A_LEFT_SIDE, 0) ? JX_SOLVE_LEFT : 0) |
           (jx__attr_int(e->nattr, e->attrs, JX_A_LOWER, 0) ? JX_SOLVE_LOWER : 0) |
           (jx__attr_int(e->nattr, e->attrs, JX_A_TRANSPOSE_A, 0) ? JX_SOLVE_TRANSPOSE_A : 0) |
           (jx__attr_int(e->nattr, e->attrs, JX_A_UNIT_DIAGONAL, 0) ? JX_SOLVE_UNIT_DIAGONAL : 0);
}

/* An (rows, cols) mask of like's dtype: 1 strictly below (lower) or above the diagonal,
 * diag on it. It broadcasts over batch dims when multiplied. */
static jx_val tri_mask(jx_loc l, jx_val like, int64_t rows, int64_t cols, bool lower, double diag) {
    jx_val r = jx_iota_at(l, JX_I32, JX_INTS(rows, cols), 0), c = jx_iota_at(l, JX_I32, JX_INTS(rows, cols), 1);
    jx_val off = lower ? jx_gt_at(l, r, c) : jx_lt_at(l, r, c);
    jx_val one = jx_scalar_like_at(l, like, 1), zero = jx_scalar_like_at(l, like, 0);
    jx_val d = jx_select_at(l, jx_eq_at(l, r, c), jx_scalar_like_at(l, like, diag), zero);
    return jx_select_at(l, off, jx_broadcast_to_at(l, one, JX_INTS(rows, cols)), d);
}

/* The (n, n) matrix of like's dtype with ones on the diagonal from row `from` on. */
static jx_val eye_from(jx_loc l, jx_val like, int64_t n, int64_t from) {
    jx_val r = jx_iota_at(l, JX_I32, JX_INTS(n, n), 0), c = jx_iota_at(l, JX_I32, JX_INTS(n, n), 1);
    jx_val on = jx_and_at(l, jx_eq_at(l, r, c), jx_ge_at(l, r, jx_scalar_like_at(l, r, (double)from)));
    return jx_convert_at(l, on, jx__val_aval(like).dtype);
}

/* x's last two dims cropped or zero-padded (at their ends) to (rows, cols). */
static jx_val fit(jx_loc l, jx_val x, int64_t rows, int64_t cols) {
    jx_aval a = jx__val_aval(x);
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK] = {0}, in[JX_MAX_RANK] = {0};
    hi[a.rank - 2] = rows - a.shape[a.rank - 2];
    hi[a.rank - 1] = cols - a.shape[a.rank - 1];
    jx_ints z = {lo, a.rank};
    return jx_pad_at(l, x, jx_scalar_like_at(l, x, 0), z, (jx_ints){hi, a.rank}, (jx_ints){in, a.rank});
}

/* x with its last two dims swapped. */
static jx_val swap_last(jx_loc l, jx_val x) {
    jx_aval a = jx__val_aval(x);
    int64_t perm[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) perm[d] = d;
    perm[a.rank - 2] = a.rank - 1;
    perm[a.rank - 1] = a.rank - 2;
    return jx_transpose_at(l, x, (jx_ints){perm, a.rank});
}

/* L_dot = L phi(L^-1 sigma_dot L^-T), phi: the lower triangle with the diagonal halved
 * (Murray 2016, arXiv:1602.07527; JAX's _cholesky_jvp_rule). */
static jx_status jvp_cholesky(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK || jx__is_zero(dx[0])) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val L = y[0];
    jx_aval a = jx__val_aval(L);
    jx_val tmp = jx_triangular_solve_at(l, L, dx[0], JX_SOLVE_LOWER | JX_SOLVE_TRANSPOSE_A);
    jx_val inner = jx_triangular_solve_at(l, L, tmp, JX_SOLVE_LEFT | JX_SOLVE_LOWER);
    jx_val phi = jx_mul_at(l, inner, tri_mask(l, L, a.shape[a.rank - 1], a.shape[a.rank - 1], true, 0.5));
    dy[0] = jx_matmul_at(l, L, phi);
    return jx_trace_status();
}

/* d x = a^-1 (db - da x) on the left, (db - x da) a^-1 on the right, da restricted to
 * the triangle the solve reads (without the diagonal when it is taken as ones). */
static jx_status jvp_triangular_solve(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    int f = solve_flags(e);
    jx_val ta = JX_ZERO, tb = JX_ZERO;
    if (!jx__is_zero(dx[1])) tb = jx_triangular_solve_at(l, x[0], dx[1], f);
    if (!jx__is_zero(dx[0])) {
        jx_aval a = jx__val_aval(x[0]);
        int64_t m = a.shape[a.rank - 1];
        jx_val mask = tri_mask(l, x[0], m, m, f & JX_SOLVE_LOWER, f & JX_SOLVE_UNIT_DIAGONAL ? 0 : 1);
        jx_val g = jx_neg_at(l, jx_mul_at(l, dx[0], mask));
        if (f & JX_SOLVE_TRANSPOSE_A) g = swap_last(l, g);
        jx_val rhs = f & JX_SOLVE_LEFT ? jx_matmul_at(l, g, y[0]) : jx_matmul_at(l, y[0], g);
        ta = jx_triangular_solve_at(l, x[0], rhs, f);
    }
    dy[0] = jx__add_tan(l, ta, tb);
    return jx_trace_status();
}

static jx_status tr_triangular_solve(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                     const jx_val *ct, jx_val *ct_in) {
    (void)av;
    if (lin[0]) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, "triangular_solve", "transpose with respect to a");
        return jx_trace_status();
    }
    ct_in[1] = jx_triangular_solve_at(e->loc, x[0], ct[0], solve_flags(e) ^ JX_SOLVE_TRANSPOSE_A);
    return jx_trace_status();
}

/* JAX's _lu_jvp_rule (De Hoog, Anderssen and Lukas): with P a the rows of a_dot in the
 * permutation's order and F = L^-1 (P a_dot) U^-1, L_dot = L tril(F, -1) and U_dot =
 * triu(F) U; L (m, m) and U (n, n) are completed with identity rows and columns where a
 * is not square. */
static jx_status jvp_lu(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK || jx__is_zero(dx[0])) return jx_trace_status();
    jx_loc l = e->loc;
    jx_aval a = jx__val_aval(x[0]);
    int r = a.rank;
    int64_t m = a.shape[r - 2], n = a.shape[r - 1], k = m < n ? m : n, sq[JX_MAX_RANK], bd[JX_MAX_RANK];
    for (int d = 0; d < r; d++) sq[d] = a.shape[d], bd[d] = d;
    sq[r - 1] = m;
    jx_val pb = jx_broadcast_in_dim_at(l, y[2], (jx_ints){sq, r}, (jx_ints){bd, r - 1});
    jx_val p = jx_convert_at(l, jx_eq_at(l, pb, jx_iota_at(l, JX_I32, (jx_ints){sq, r}, r - 1)), a.dtype);
    jx_val pa = jx_matmul_at(l, p, dx[0]);
    jx_val L = jx_add_at(l, jx_mul_at(l, fit(l, y[0], m, m), tri_mask(l, y[0], m, m, true, 0)), eye_from(l, y[0], m, 0));
    jx_val U = jx_add_at(l, jx_mul_at(l, fit(l, y[0], n, n), tri_mask(l, y[0], n, n, false, 1)), eye_from(l, y[0], n, k));
    jx_val la = jx_triangular_solve_at(l, L, pa, JX_SOLVE_LEFT | JX_SOLVE_LOWER | JX_SOLVE_UNIT_DIAGONAL);
    jx_val f = jx_triangular_solve_at(l, U, la, 0);
    jx_val ldot = jx_matmul_at(l, L, jx_mul_at(l, f, tri_mask(l, y[0], m, n, true, 0)));
    jx_val udot = jx_matmul_at(l, jx_mul_at(l, f, tri_mask(l, y[0], m, n, false, 1)), U);
    dy[0] = jx_add_at(l, ldot, udot);
    return jx_trace_status();
}

/* JAX's _eigh_jvp_rule: with G = v^T x_dot v and F[i][j] = 1 / (w[j] - w[i]) off the
 * diagonal (0 on it), v_dot = v (F * G) and w_dot = diag(G). */
static jx_status jvp_eigh(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK || jx__is_zero(dx[0])) return jx_trace_status();
    jx_loc l = e->loc;
    jx_aval a = jx__val_aval(x[0]);
    int r = a.rank;
    int64_t n = a.shape[r - 1], bd[JX_MAX_RANK];
    for (int d = 0; d < r - 1; d++) bd[d] = d;
    jx_ints sh = {a.shape, r}, dims = {bd, r - 1};
    jx_val wi = jx_broadcast_in_dim_at(l, y[1], sh, dims); /* w[i] along rows */
    bd[r - 2] = r - 1;
    jx_val wj = jx_broadcast_in_dim_at(l, y[1], sh, dims); /* w[j] along columns */
    jx_val eye = tri_mask(l, y[1], n, n, true, 1), off = tri_mask(l, y[1], n, n, true, 0);
    eye = jx_sub_at(l, eye, off);
    jx_val F = jx_sub_at(l, jx_div_at(l, jx_scalar_like_at(l, y[1], 1), jx_add_at(l, jx_sub_at(l, wj, wi), eye)), eye);
    jx_val G = jx_matmul_at(l, jx_matmul_at(l, swap_last(l, y[0]), dx[0]), y[0]);
    dy[0] = jx_matmul_at(l, y[0], jx_mul_at(l, F, G));
    dy[1] = jx_reduce_sum_at(l, jx_mul_at(l, G, eye), (jx_ints){(int64_t[]){r - 1}, 1});
    return jx_trace_status();
}

/* JAX's _thin_qr_jvp (real, m >= n): with C = a_dot r^-1 and B = q^T C, O = tril(B, -1)
 * - tril(B, -1)^T; q_dot = q (O - B) + C and r_dot = (B - O) r. */
static void thin_qr_jvp(jx_loc l, jx_val q, jx_val r, jx_val da, jx_val *dq, jx_val *dr) {
    jx_aval a = jx__val_aval(r);
    int64_t n = a.shape[a.rank - 1];
    jx_val c = jx_triangular_solve_at(l, r, da, 0);
    jx_val b = jx_matmul_at(l, swap_last(l, q), c);
    jx_val low = jx_mul_at(l, b, tri_mask(l, b, n, n, true, 0));
    jx_val o = jx_sub_at(l, low, swap_last(l, low));
    *dq = jx_add_at(l, jx_matmul_at(l, q, jx_sub_at(l, o, b)), c);
    *dr = jx_matmul_at(l, jx_sub_at(l, b, o), r);
}

/* x's columns [from, to) (its last dim). */
static jx_val cols(jx_loc l, jx_val x, int64_t from, int64_t to) {
    jx_aval a = jx__val_aval(x);
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK], st[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) hi[d] = a.shape[d], st[d] = 1;
    lo[a.rank - 1] = from;
    hi[a.rank - 1] = to;
    return jx_slice_at(l, x, (jx_ints){lo, a.rank}, (jx_ints){hi, a.rank}, (jx_ints){st, a.rank});
}

/* JAX 0.10's qr_jvp_rule: thin_qr_jvp when m >= n; for a wide a = [a1 a2] (a1 m x m),
 * q and r1 from the square rule on a1, and r2_dot = q_dot^T a2 + q^T a2_dot. */
static jx_status jvp_qr(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK || jx__is_zero(dx[0])) return jx_trace_status();
    jx_loc l = e->loc;
    jx_aval a = jx__val_aval(x[0]);
    int64_t m = a.shape[a.rank - 2], n = a.shape[a.rank - 1];
    if (m >= n) {
        thin_qr_jvp(l, y[0], y[1], dx[0], &dy[0], &dy[1]);
        return jx_trace_status();
    }
    jx_val dr[2];
    thin_qr_jvp(l, y[0], cols(l, y[1], 0, m), cols(l, dx[0], 0, m), &dy[0], &dr[0]);
    dr[1] = jx_add_at(l, jx_matmul_at(l, swap_last(l, dy[0]), cols(l, x[0], m, n)),
                      jx_matmul_at(l, swap_last(l, y[0]), cols(l, dx[0], m, n)));
    dy[1] = jx_concatenate_at(l, 2, dr, a.rank - 1);
    return jx_trace_status();
}

/* s (..., k) broadcast to (..., rows, k): s_j in column j. */
static jx_val along_cols(jx_loc l, jx_val s, int64_t rows) {
    jx_aval a = jx__val_aval(s);
    int64_t sh[JX_MAX_RANK], bd[JX_MAX_RANK];
    for (int d = 0; d < a.rank - 1; d++) sh[d] = a.shape[d], bd[d] = d;
    sh[a.rank - 1] = rows;
    sh[a.rank] = a.shape[a.rank - 1];
    bd[a.rank - 1] = a.rank;
    return jx_broadcast_in_dim_at(l, s, (jx_ints){sh, a.rank + 1}, (jx_ints){bd, a.rank});
}

/* JAX's _svd_jvp_rule (real): from the reduced s, u, vt (bound again when the equation
 * is full or gives s alone) and dS = u^T a_dot v, s_dot = diag(dS); with F[i][j] =
 * 1 / (s_j^2 - s_i^2) off the diagonal (0 on it), u_dot = u (F * (dS S + S dS^T)) and
 * v_dot = v (F * (S dS + dS^T S)), plus (I - u u^T) a_dot v / s for a tall a or
 * (I - v v^T) a_dot^T u / s for a wide one (JAX's dUdV_diag term is zero for real a).
 * Full matrices of a non-square a have no rule in JAX: an error naming the shape. */
static jx_status jvp_svd(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx_loc l = e->loc;
    jx_aval a = jx__val_aval(x[0]);
    int r = a.rank;
    int64_t m = a.shape[r - 2], n = a.shape[r - 1], k = m < n ? m : n;
    bool uv = e->nout == 3, full = jx__attr_int(e->nattr, e->attrs, JX_A_FULL_MATRICES, 0);
    if (uv && full && m != n) {
        jx__trace_fail(jx__trace_top(), JX_ERR_ARG, l, "svd", "jvp of u and vt with full_matrices is not implemented "
                                                             "for non-square %s (as in JAX)", jx__avs(&a));
        return jx_trace_status();
    }
    jx_val red[3];
    if (uv && !full) {
        if (jx__rebind(e, x, red) != JX_OK) return jx_trace_status();
    } else {
        jx__attr at[2] = {jx__a_int(JX_A_FULL_MATRICES, 0), jx__a_int(JX_A_COMPUTE_UV, 1)};
        if (jx__bind(l, JX_PRIM_SVD, 1, x, 2, at, 3, red, NULL) != JX_OK) return jx_trace_status();
    }
    for (int i = 0; i < e->nout; i++) y[i] = red[i];
    if (jx__is_zero(dx[0])) return jx_trace_status();
    jx_val s = red[0], u = red[1], v = swap_last(l, red[2]), ut = swap_last(l, u);
    jx_val ds = jx_matmul_at(l, jx_matmul_at(l, ut, dx[0]), v);
    jx_val eye = tri_mask(l, s, k, k, true, 1);
    eye = jx_sub_at(l, eye, tri_mask(l, s, k, k, true, 0));
    dy[0] = jx_reduce_sum_at(l, jx_mul_at(l, ds, eye), (jx_ints){(int64_t[]){r - 1}, 1});
    if (!uv) return jx_trace_status();
    jx_val sj = along_cols(l, s, k), si = swap_last(l, sj); /* s_j, s_i at [i][j] */
    jx_val diffs = jx_mul_at(l, jx_add_at(l, sj, si), jx_sub_at(l, sj, si));
    jx_val F = jx_sub_at(l, jx_div_at(l, jx_scalar_like_at(l, s, 1), jx_add_at(l, diffs, eye)), eye);
    jx_val dss = jx_mul_at(l, sj, ds), sds = jx_mul_at(l, si, ds);
    jx_val du = jx_matmul_at(l, u, jx_mul_at(l, F, jx_add_at(l, dss, swap_last(l, dss))));
    jx_val dv = jx_matmul_at(l, v, jx_mul_at(l, F, jx_add_at(l, sds, swap_last(l, sds))));
    if (m != n) { /* the part outside u's (tall) or v's (wide) span */
        jx_val p = m > n ? u : v, g = m > n ? jx_matmul_at(l, dx[0], v) : jx_matmul_at(l, swap_last(l, dx[0]), u);
        jx_val rest = jx_sub_at(l, g, jx_matmul_at(l, p, jx_matmul_at(l, swap_last(l, p), g)));
        rest = jx_div_at(l, rest, along_cols(l, s, m > n ? m : n));
        if (m > n) du = jx_add_at(l, du, rest);
        else dv = jx_add_at(l, dv, rest);
    }
    dy[1] = du;
    dy[2] = swap_last(l, dv);
    return jx_trace_status();
}

void jx__grad_register_lapack(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_CHOLESKY] = jvp_cholesky;
    jvp[JX_PRIM_TRIANGULAR_SOLVE] = jvp_triangular_solve;
    jvp[JX_PRIM_LU] = jvp_lu;
    jvp[JX_PRIM_EIGH] = jvp_eigh;
    jvp[JX_PRIM_QR] = jvp_qr;
    jvp[JX_PRIM_SVD] = jvp_svd;
    tr[JX_PRIM_TRIANGULAR_SOLVE] = tr_triangular_solve;
}
