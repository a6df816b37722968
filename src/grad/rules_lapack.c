/* rules_lapack.c: jvp and transpose rules of the linear-algebra primitives (cholesky,
 * triangular_solve, lu, eigh, qr; see prims.def), JAX's rules from jax/_src/lax/linalg.py written with
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

/* JAX's _qr_jvp_rule (real, m >= n): with C = a_dot r^-1 and B = q^T C, O = tril(B, -1)
 * - tril(B, -1)^T; q_dot = q (O - B) + C and r_dot = (B - O) r. */
static jx_status jvp_qr(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK || jx__is_zero(dx[0])) return jx_trace_status();
    jx_loc l = e->loc;
    jx_aval a = jx__val_aval(x[0]);
    int64_t n = a.shape[a.rank - 1];
    jx_val c = jx_triangular_solve_at(l, y[1], dx[0], 0);
    jx_val b = jx_matmul_at(l, swap_last(l, y[0]), c);
    jx_val low = jx_mul_at(l, b, tri_mask(l, b, n, n, true, 0));
    jx_val o = jx_sub_at(l, low, swap_last(l, low));
    dy[0] = jx_add_at(l, jx_matmul_at(l, y[0], jx_sub_at(l, o, b)), c);
    dy[1] = jx_matmul_at(l, jx_sub_at(l, b, o), y[1]);
    return jx_trace_status();
}

void jx__grad_register_lapack(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_CHOLESKY] = jvp_cholesky;
    jvp[JX_PRIM_TRIANGULAR_SOLVE] = jvp_triangular_solve;
    jvp[JX_PRIM_LU] = jvp_lu;
    jvp[JX_PRIM_EIGH] = jvp_eigh;
    jvp[JX_PRIM_QR] = jvp_qr;
    tr[JX_PRIM_TRIANGULAR_SOLVE] = tr_triangular_solve;
}
