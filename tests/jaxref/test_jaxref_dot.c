/* test_jaxref_dot.c: contractions against JAX (tests/jaxref/jaxref_dot.py, driver
 * jaxref_check.h): dot_general with batch dims first, in the middle and several
 * contracting dims, outer products, matmul with broadcast batch dims and rank-1
 * operands, and einsum (batched, traces, diagonals, ellipses, three operands), values
 * and first and second derivatives in f32 and f64, edge values (inf * 0, NaN) forward. */
#include "jaxref_check.h"

enum { TOL }; /* one tolerance group */
static const double tols[][2] = {{1e-5, 1e-12}};
#define S JR_SMOOTH

static const jr_case cases[] = {
    {"dot_batch0", 2, 2, S, 0, TOL, 0, {"2x3x4", "2x4x5"}},
    {"dot_batch0", 2, 0, JR_ANY, 0, TOL, 0, {"2x3x4", "2x4x5"}},
    {"dot_batch_mid", 2, 2, S, 0, TOL, 0, {"3x2x4", "4x2x3"}},
    {"dot_two_contract", 2, 2, S, 0, TOL, 0, {"2x3x4", "3x4x2"}},
    {"dot_two_batch", 2, 2, S, 0, TOL, JR_NOJIT, {"2x2x3x2", "2x2x2x3"}},
    {"dot_outer", 2, 2, S, 0, TOL, JR_NOJIT, {"3", "4"}},
    {"matmul_bcast", 2, 2, S, 0, TOL, 0, {"2x1x3x4", "3x4x2"}},
    {"matmul_vec_mat", 2, 2, S, 0, TOL, JR_NOJIT, {"4", "2x4x3"}},
    {"matmul_mat_vec", 2, 2, S, 0, TOL, JR_NOJIT, {"3x4", "4"}},
    {"einsum_bmm", 2, 2, S, 0, TOL, 0, {"2x3x4", "2x4x2"}},
    {"einsum_attn", 2, 2, S, 0, TOL, 0, {"1x2x3x4", "1x2x2x4"}},
    {"einsum_dot", 2, 2, S, 0, TOL, JR_NOJIT, {"3x4", "3x4"}},
    {"einsum_trace", 1, 2, S, 0, TOL, JR_NOJIT, {"4x4"}},
    {"einsum_diag", 1, 2, S, 0, TOL, 0, {"2x3x3"}},
    {"einsum_ellipsis", 2, 2, S, 0, TOL, 0, {"2x3x4", "4x2"}},
    {"einsum_perm_sum", 1, 2, S, 0, TOL, JR_NOJIT, {"2x3x4"}},
    {"einsum_chain3", 3, 2, S, 0, TOL, 0, {"2x3", "3x4", "4x2"}},
    {"einsum_implicit", 2, 2, S, 0, TOL, JR_NOJIT, {"3x4", "4x2"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

static jx_val apply(const char *n, const jx_val *x) {
#define IS(s) (strcmp(n, s) == 0)
    if (IS("dot_batch0")) return jx_dot_general(x[0], x[1], JX_INTS(2), JX_INTS(1), JX_INTS(0), JX_INTS(0));
    if (IS("dot_batch_mid")) return jx_dot_general(x[0], x[1], JX_INTS(2), JX_INTS(0), JX_INTS(1), JX_INTS(1));
    if (IS("dot_two_contract")) return jx_dot_general(x[0], x[1], JX_INTS(1, 2), JX_INTS(0, 1), JX_NOINTS, JX_NOINTS);
    if (IS("dot_two_batch")) return jx_dot_general(x[0], x[1], JX_INTS(3), JX_INTS(2), JX_INTS(0, 1), JX_INTS(0, 1));
    if (IS("dot_outer")) return jx_dot_general(x[0], x[1], JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS);
    if (IS("matmul_bcast") || IS("matmul_vec_mat") || IS("matmul_mat_vec")) return jx_matmul(x[0], x[1]);
    static const struct { const char *name, *spec; int n; } es[] = {
        {"einsum_bmm", "bij,bjk->bik", 2},      {"einsum_attn", "bhqd,bhkd->bhqk", 2}, {"einsum_dot", "ij,ij->", 2},
        {"einsum_trace", "ii->", 1},            {"einsum_diag", "bii->bi", 1},         {"einsum_ellipsis", "...ij,jk->...ik", 2},
        {"einsum_perm_sum", "ijk->kj", 1},      {"einsum_chain3", "ij,jk,kl->il", 3},  {"einsum_implicit", "ij,jk", 2},
    };
    for (size_t i = 0; i < sizeof es / sizeof *es; i++)
        if (IS(es[i].name)) return jx_einsum(es[i].spec, es[i].n, x);
    return x[0];
#undef IS
}

static void test_dot(void) { jr_run(&(jr_suite){"jaxref/jaxref_dot.py", cases, NCASES, apply, tols}); }

int main(void) { return jr_main("dot_general, matmul and einsum against JAX", test_dot); }
