/* ops_lapack.c: the public linear-algebra ops (cholesky, triangular_solve, cho_solve,
 * lu). cholesky symmetrizes its input first, as lax.linalg.cholesky does, so its
 * derivative is that of a symmetric matrix. */
#include "ops_util.h"

jx_val jx_cholesky_at(jx_loc loc, jx_val x) {
    jx_aval a;
    if (!jx__ops_aval(loc, "cholesky", x, &a)) return jx__ops_invalid();
    if (a.rank >= 2 && a.shape[a.rank - 1] == a.shape[a.rank - 2]) { /* else the shape rule names the problem */
        int64_t perm[JX_MAX_RANK];
        for (int d = 0; d < a.rank; d++) perm[d] = d;
        perm[a.rank - 2] = a.rank - 1;
        perm[a.rank - 1] = a.rank - 2;
        jx_val s = jx_add_at(loc, x, jx_transpose_at(loc, x, (jx_ints){perm, a.rank}));
        x = jx_mul_at(loc, s, jx_scalar_like_at(loc, x, 0.5));
    }
    return jx__bind1(loc, JX_PRIM_CHOLESKY, 1, &x, 0, NULL);
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
