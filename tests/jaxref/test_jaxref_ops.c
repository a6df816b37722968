/* test_jaxref_ops.c: jx against JAX computed at test time (tests/jaxref/jaxref_ops.py
 * through the driver jaxref_check.h): binary ops with broadcasting, ties and edge
 * values, reductions along axes (ties, zeros, +-inf), composites and the special
 * functions, cumulative ops, and linear algebra, in f32 and f64, through the
 * interpreter and the jit (JX_TEST_JIT=1); forward values and first and second
 * derivatives (the second for linear algebra on one small matrix each, in the
 * interpreter copy only: its jit copy is the slowest of all). No
 * input is subnormal (JAX's CPU flushes them; see test_jaxref.c), and ties of the edge
 * values avoid 1e10 (JAX's logaddexp weight there is exp(x - out) with out
 * rounded, about 0.4999998 in f64; jx's is 1/2). */
#include "jaxref_check.h"

enum { ANY = JR_ANY, SMOOTH = JR_SMOOTH, POS = JR_POS, UNIT = JR_UNIT, GT1 = JR_GT1, TIES = JR_TIES, ZEROS = JR_ZEROS,
       INFS = JR_INFS };
enum { EW, RED, LIN }; /* tolerance groups */
static const double tols[][2] = {{2e-6, 1e-12}, {1e-5, 1e-12}, {2e-4, 1e-10}};

static const jr_case cases[] = {
    {"add", 2, 2, ANY, 0, EW, 0, {"3x4", "3x4"}},           {"sub", 2, 2, ANY, 0, EW, 0, {"3x4", "4"}},
    {"mul", 2, 2, ANY, 0, EW, 0, {"3x1", "1x4"}},           {"div", 2, 2, SMOOTH, 0, EW, 0, {"3x4", "4"}},
    {"div", 2, 0, ANY, 0, EW, 0, {"3x4", "3x4"}},           {"pow", 2, 2, POS, 0, EW, 0, {"3x4", "3x4"}},
    {"pow", 2, 0, ANY, 0, EW, 0, {"3x4", "3x4"}},           {"max", 2, 2, ANY, 0, EW, 0, {"3x4", "3x4"}},
    {"min", 2, 2, ANY, 0, EW, 0, {"3x4", "1x4"}},           {"max", 2, 2, TIES, 0, EW, 0, {"3x4", "3x4"}},
    {"atan2", 2, 2, SMOOTH, 0, EW, 0, {"3x4", "3x4"}},      {"atan2", 2, 0, ANY, 0, EW, 0, {"3x4", "3x4"}},
    {"rem", 2, 2, SMOOTH, 0, EW, 0, {"3x4", "3x4"}},        {"logaddexp", 2, 2, ANY, 0, EW, 0, {"3x4", "3x4"}},
    {"sum_ax1", 1, 2, ANY, 0, RED, 0, {"3x4"}},             {"sum_all", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},
    {"prod_ax0", 1, 2, ZEROS, 0, RED, 0, {"3x4"}},          {"prod_ax1", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},
    {"max_ax1", 1, 2, TIES, 0, RED, 0, {"3x4"}},            {"min_ax0", 1, 2, TIES, 0, RED, 0, {"3x4"}},
    {"max_ax1", 1, 0, ANY, 0, RED, 0, {"3x4"}},             {"mean_ax1", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},
    {"var_ax1", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},          {"argmax_ax1", 1, 0, TIES, 0, RED, 0, {"3x4"}},
    {"argmin_ax0", 1, 0, TIES, 0, RED, 0, {"3x4"}},         {"logsumexp_ax1", 1, 2, INFS, 0, RED, 0, {"3x4"}},
    {"softmax_ax1", 1, 2, INFS, 0, RED, 0, {"3x4"}},        {"log_softmax_ax1", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},
    {"softplus", 1, 2, ANY, 0, EW, 0, {"3x4"}},             {"gelu", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},
    {"gelu_exact", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},        {"sigmoid", 1, 2, ANY, 0, EW, 0, {"3x4"}},
    {"erf", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},               {"erfc", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},
    {"lgamma", 1, 2, POS, 0, EW, 0, {"3x4"}},               {"digamma", 1, 2, POS, 0, EW, 0, {"3x4"}},
    {"tan", 1, 2, UNIT, 0, EW, 0, {"3x4"}},                 {"asin", 1, 2, UNIT, 0, EW, 0, {"3x4"}},
    {"acos", 1, 2, UNIT, 0, EW, 0, {"3x4"}},                {"atan", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},
    {"sinh", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},              {"cosh", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},
    {"asinh", 1, 2, SMOOTH, 0, EW, 0, {"3x4"}},             {"acosh", 1, 2, GT1, 0, EW, 0, {"3x4"}},
    {"atanh", 1, 2, UNIT, 0, EW, 0, {"3x4"}},               {"erf", 1, 0, ANY, 0, EW, 0, {"3x4"}},
    {"cumsum_ax1", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},       {"cumsum_rev0", 1, 2, SMOOTH, 0, RED, 0, {"3x4"}},
    {"cumprod_ax1", 1, 2, ZEROS, 0, RED, 0, {"3x4"}},       {"cummax_ax1", 1, 2, TIES, 0, RED, 0, {"3x4"}},
    {"cummin_ax0", 1, 2, TIES, 0, RED, 0, {"3x4"}},         {"cholesky", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},
    {"trisolve", 2, 1, SMOOTH, 0, LIN, 0, {"2x3x3", "2x3x2"}}, {"solve", 2, 1, SMOOTH, 0, LIN, 0, {"3x3", "2x3x2"}},
    {"inv", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},            {"logabsdet", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},
    {"eigh_w", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},         {"eigh_v2", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},
    {"qr_q", 1, 1, SMOOTH, 0, LIN, 0, {"2x4x3"}},           {"qr_r", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x4"}},
    {"lu", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x3"}},             {"svd_s", 1, 1, SMOOTH, 0, LIN, 0, {"2x4x3"}},
    {"svd_u2", 1, 1, SMOOTH, 0, LIN, 0, {"2x3x4"}},         {"svd_vt2", 1, 1, SMOOTH, 0, LIN, 0, {"2x4x3"}},
    /* second derivatives where cheap: one unbatched 3x3 each, interpreter copy only */
    {"cholesky", 1, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3"}},  {"trisolve", 2, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3", "3x2"}},
    {"solve", 2, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3", "3x2"}}, {"inv", 1, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3"}},
    {"logabsdet", 1, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3"}}, {"eigh_w", 1, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3"}},
    {"svd_s", 1, 2, SMOOTH, 0, LIN, JR_NOJIT, {"3x3"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

/* x + c I for x (..., n, n) */
static jx_val eye_plus(jx_val x, double c) {
    int64_t n = jx_dim(x, -1);
    jx_ints sq = JX_INTS(n, n);
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, sq, 0), jx_iota(JX_I32, sq, 1)), jx_dtype_of(x));
    return jx_add(x, jx_mul_s(eye, c));
}

/* x with its last two dims swapped */
static jx_val mt(jx_val x) {
    int r = jx_rank(x);
    int64_t perm[JX_MAX_RANK];
    for (int d = 0; d < r; d++) perm[d] = d;
    perm[r - 2] = r - 1, perm[r - 1] = r - 2;
    return jx_transpose(x, (jx_ints){perm, r});
}

/* F of the case named n on x (and y), as jaxref_ops.py's OPS[n] */
static jx_val apply(const char *n, const jx_val *in) {
    jx_val x = in[0], y = in[1];
#define IS(s) (strcmp(n, s) == 0)
    jx_val u, s, vt, w, lu, piv, perm, sign;
    if (IS("add")) return jx_add(x, y);
    if (IS("sub")) return jx_sub(x, y);
    if (IS("mul")) return jx_mul(x, y);
    if (IS("div")) return jx_div(x, y);
    if (IS("pow")) return jx_pow(x, y);
    if (IS("max")) return jx_max(x, y);
    if (IS("min")) return jx_min(x, y);
    if (IS("atan2")) return jx_atan2(x, y);
    if (IS("rem")) return jx_rem(x, y);
    if (IS("logaddexp")) return jx_logaddexp(x, y);
    if (IS("sum_ax1")) return jx_reduce_sum(x, JX_INTS(1));
    if (IS("sum_all")) return jx_reduce_sum(x, JX_NOINTS);
    if (IS("prod_ax0")) return jx_reduce_prod(x, JX_INTS(0));
    if (IS("prod_ax1")) return jx_reduce_prod(x, JX_INTS(1));
    if (IS("max_ax1")) return jx_reduce_max(x, JX_INTS(1));
    if (IS("min_ax0")) return jx_reduce_min(x, JX_INTS(0));
    if (IS("mean_ax1")) return jx_mean(x, JX_INTS(1));
    if (IS("var_ax1")) return jx_var(x, JX_INTS(1));
    if (IS("argmax_ax1")) return jx_argmax(x, 1, JX_I32);
    if (IS("argmin_ax0")) return jx_argmin(x, 0, JX_I32);
    if (IS("logsumexp_ax1")) return jx_logsumexp(x, 1);
    if (IS("softmax_ax1")) return jx_softmax(x, 1);
    if (IS("log_softmax_ax1")) return jx_log_softmax(x, 1);
    if (IS("softplus")) return jx_softplus(x);
    if (IS("gelu")) return jx_gelu(x);
    if (IS("gelu_exact")) return jx_gelu_exact(x);
    if (IS("sigmoid")) return jx_sigmoid(x);
    if (IS("erf")) return jx_erf(x);
    if (IS("erfc")) return jx_erfc(x);
    if (IS("lgamma")) return jx_lgamma(x);
    if (IS("digamma")) return jx_digamma(x);
    if (IS("tan")) return jx_tan(x);
    if (IS("asin")) return jx_asin(x);
    if (IS("acos")) return jx_acos(x);
    if (IS("atan")) return jx_atan(x);
    if (IS("sinh")) return jx_sinh(x);
    if (IS("cosh")) return jx_cosh(x);
    if (IS("asinh")) return jx_asinh(x);
    if (IS("acosh")) return jx_acosh(x);
    if (IS("atanh")) return jx_atanh(x);
    if (IS("cumsum_ax1")) return jx_cumsum(x, 1, 0);
    if (IS("cumsum_rev0")) return jx_cumsum(x, 0, 1);
    if (IS("cumprod_ax1")) return jx_cumprod(x, 1, 0);
    if (IS("cummax_ax1")) return jx_cummax(x, 1, 0);
    if (IS("cummin_ax0")) return jx_cummin(x, 0, 0);
    if (IS("cholesky")) return jx_cholesky(eye_plus(jx_matmul(x, mt(x)), 3));
    if (IS("trisolve")) return jx_triangular_solve(eye_plus(x, 3), y, JX_SOLVE_LEFT | JX_SOLVE_LOWER);
    if (IS("solve")) return jx_solve(eye_plus(x, 3), y);
    if (IS("inv")) return jx_inv(eye_plus(x, 3));
    if (IS("logabsdet")) return jx_slogdet(eye_plus(x, 3), &sign, &w), w;
    if (IS("eigh_w") || IS("eigh_v2")) {
        jx_eigh(jx_mul_s(jx_add(x, mt(x)), 0.5), &u, &w);
        return IS("eigh_w") ? w : jx_mul(u, u);
    }
    if (IS("qr_q") || IS("qr_r")) return jx_qr(x, &u, &w), IS("qr_q") ? u : w;
    if (IS("lu")) return jx_lu(x, &lu, &piv, &perm), lu;
    if (IS("svd_s")) return jx_svd(x, 0, 0, NULL, &s, NULL), s;
    jx_svd(x, 0, 1, &u, &s, &vt);
    return IS("svd_u2") ? jx_mul(u, u) : jx_mul(vt, vt);
#undef IS
}

static void test_ops(void) {
    jr_run(&(jr_suite){"jaxref/jaxref_ops.py", cases, NCASES, apply, tols});
}

int main(void) {
    return jr_main("binary ops, reductions, composites, cumulative and linear algebra against JAX", test_ops);
}
