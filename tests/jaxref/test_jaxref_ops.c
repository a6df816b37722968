/* test_jaxref_ops.c: jx against JAX computed at test time (tests/jaxref/jaxref_ops.py,
 * one python3 process for every case): binary ops with broadcasting, ties and edge
 * values, reductions along axes (ties, zeros, +-inf), composites and the special
 * functions, cumulative ops, and linear algebra, in f32 and f64, through the
 * interpreter and the jit (JX_TEST_JIT=1). Each case is a function F of one or two
 * arrays; compared are F(x) (order 0), the gradients of L(t, x) = sum(F(x + t v) * ct)
 * in x at t = 0 (order 1) and the gradients of dL/dt in x (order 2: the Hessian of L
 * times v; not for linear algebra, whose JAX side is the slowest), every element of
 * each. No input is subnormal (JAX's CPU flushes them; see test_jaxref.c), and ties of
 * the edge values avoid 1e10 (JAX's logaddexp weight there is exp(x - out) with out
 * rounded, about 0.4999998 in f64; jx's is 1/2). Values agree when both are NaN, equal,
 * or within tol (per case group, in units of max(1, |JAX|)). Exit 77 (skipped) where
 * python3 cannot import jax; prints the number of elements compared per dtype and order
 * and the worst errors. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "vmap/vmap_check.h"

enum { ANY, SMOOTH, POS, UNIT, GT1, TIES, ZEROS, INFS }; /* value domains, see fill */
enum { EW, RED, LIN };                                 /* tolerance groups */

typedef struct jcase {
    const char *name;
    int nin, maxorder, domain, group;
    const char *shapes[2];
} jcase;

static const jcase cases[] = {
    {"add", 2, 2, ANY, EW, {"3x4", "3x4"}},           {"sub", 2, 2, ANY, EW, {"3x4", "4"}},
    {"mul", 2, 2, ANY, EW, {"3x1", "1x4"}},           {"div", 2, 2, SMOOTH, EW, {"3x4", "4"}},
    {"div", 2, 0, ANY, EW, {"3x4", "3x4"}},           {"pow", 2, 2, POS, EW, {"3x4", "3x4"}},
    {"pow", 2, 0, ANY, EW, {"3x4", "3x4"}},           {"max", 2, 2, ANY, EW, {"3x4", "3x4"}},
    {"min", 2, 2, ANY, EW, {"3x4", "1x4"}},           {"max", 2, 2, TIES, EW, {"3x4", "3x4"}},
    {"atan2", 2, 2, SMOOTH, EW, {"3x4", "3x4"}},      {"atan2", 2, 0, ANY, EW, {"3x4", "3x4"}},
    {"rem", 2, 2, SMOOTH, EW, {"3x4", "3x4"}},        {"logaddexp", 2, 2, ANY, EW, {"3x4", "3x4"}},
    {"sum_ax1", 1, 2, ANY, RED, {"3x4"}},             {"sum_all", 1, 2, SMOOTH, RED, {"3x4"}},
    {"prod_ax0", 1, 2, ZEROS, RED, {"3x4"}},          {"prod_ax1", 1, 2, SMOOTH, RED, {"3x4"}},
    {"max_ax1", 1, 2, TIES, RED, {"3x4"}},            {"min_ax0", 1, 2, TIES, RED, {"3x4"}},
    {"max_ax1", 1, 0, ANY, RED, {"3x4"}},             {"mean_ax1", 1, 2, SMOOTH, RED, {"3x4"}},
    {"var_ax1", 1, 2, SMOOTH, RED, {"3x4"}},          {"argmax_ax1", 1, 0, TIES, RED, {"3x4"}},
    {"argmin_ax0", 1, 0, TIES, RED, {"3x4"}},         {"logsumexp_ax1", 1, 2, INFS, RED, {"3x4"}},
    {"softmax_ax1", 1, 2, INFS, RED, {"3x4"}},        {"log_softmax_ax1", 1, 2, SMOOTH, RED, {"3x4"}},
    {"softplus", 1, 2, ANY, EW, {"3x4"}},             {"gelu", 1, 2, SMOOTH, EW, {"3x4"}},
    {"gelu_exact", 1, 2, SMOOTH, EW, {"3x4"}},        {"sigmoid", 1, 2, ANY, EW, {"3x4"}},
    {"erf", 1, 2, SMOOTH, EW, {"3x4"}},               {"erfc", 1, 2, SMOOTH, EW, {"3x4"}},
    {"lgamma", 1, 2, POS, EW, {"3x4"}},               {"digamma", 1, 2, POS, EW, {"3x4"}},
    {"tan", 1, 2, UNIT, EW, {"3x4"}},                 {"asin", 1, 2, UNIT, EW, {"3x4"}},
    {"acos", 1, 2, UNIT, EW, {"3x4"}},                {"atan", 1, 2, SMOOTH, EW, {"3x4"}},
    {"sinh", 1, 2, SMOOTH, EW, {"3x4"}},              {"cosh", 1, 2, SMOOTH, EW, {"3x4"}},
    {"asinh", 1, 2, SMOOTH, EW, {"3x4"}},             {"acosh", 1, 2, GT1, EW, {"3x4"}},
    {"atanh", 1, 2, UNIT, EW, {"3x4"}},               {"erf", 1, 0, ANY, EW, {"3x4"}},
    {"cumsum_ax1", 1, 2, SMOOTH, RED, {"3x4"}},       {"cumsum_rev0", 1, 2, SMOOTH, RED, {"3x4"}},
    {"cumprod_ax1", 1, 2, ZEROS, RED, {"3x4"}},       {"cummax_ax1", 1, 2, TIES, RED, {"3x4"}},
    {"cummin_ax0", 1, 2, TIES, RED, {"3x4"}},         {"cholesky", 1, 1, SMOOTH, LIN, {"2x3x3"}},
    {"trisolve", 2, 1, SMOOTH, LIN, {"2x3x3", "2x3x2"}}, {"solve", 2, 1, SMOOTH, LIN, {"3x3", "2x3x2"}},
    {"inv", 1, 1, SMOOTH, LIN, {"2x3x3"}},            {"logabsdet", 1, 1, SMOOTH, LIN, {"2x3x3"}},
    {"eigh_w", 1, 1, SMOOTH, LIN, {"2x3x3"}},         {"eigh_v2", 1, 1, SMOOTH, LIN, {"2x3x3"}},
    {"qr_q", 1, 1, SMOOTH, LIN, {"2x4x3"}},           {"qr_r", 1, 1, SMOOTH, LIN, {"2x3x4"}},
    {"lu", 1, 1, SMOOTH, LIN, {"2x3x3"}},             {"svd_s", 1, 1, SMOOTH, LIN, {"2x4x3"}},
    {"svd_u2", 1, 1, SMOOTH, LIN, {"2x3x4"}},         {"svd_vt2", 1, 1, SMOOTH, LIN, {"2x4x3"}},
};
enum { NCASES = sizeof cases / sizeof *cases, MAXN = 64 };

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
static jx_val apply(const char *n, jx_val x, jx_val y) {
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

static void f_body(jx_val *out, const jx_val *in, void *u) {
    const jcase *c = u;
    out[0] = apply(c->name, in[0], c->nin > 1 ? in[1] : in[0]);
}

/* (t, x..., v..., ct) -> sum(F(x + t v) * ct) */
static void loss_body(jx_val *out, const jx_val *in, void *u) {
    const jcase *c = u;
    jx_val x[2];
    for (int i = 0; i < c->nin; i++) x[i] = jx_add(in[1 + i], jx_mul(in[0], in[1 + c->nin + i]));
    jx_val y = apply(c->name, x[0], c->nin > 1 ? x[1] : x[0]);
    out[0] = jx_reduce_sum(jx_mul(y, in[1 + 2 * c->nin]), JX_NOINTS);
}

static const double edge[] = {0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -0.0, 2.0, INFINITY, -INFINITY, NAN, 1e10, -7.25, 2.0};
enum { NEDGE = sizeof edge / sizeof *edge };

/* element k of input i in domain d (no subnormals; ties and repeated values where the
 * domain asks for them) */
static double value(int d, int i, int64_t k) {
    /* in [-1, 1], and of full rank as a matrix (a plain sin(a k + b) is of rank 2) */
    double sm = 0.5 * (sin(0.37 * (double)k + 1.3 * i + 0.4) + cos(0.61 * (double)(k * k) + i));
    switch (d) {
    case ANY: return edge[(i && k % 4 == 1 ? k : k + 5 * i) % NEDGE]; /* ties where k % 4 == 1 */
    case SMOOTH: return 2 * sm;
    case POS: return 0.3 + 1.25 * (1 + sm);
    case UNIT: return 0.9 * sm;
    case GT1: return 1.2 + 1.5 * (1 + sm);
    case TIES: return floor(2.5 * sin(0.9 * (double)k + 0.35 * i));
    case ZEROS: return k % 5 == 2 ? 0 : 2 * sm;
    default: return k % 7 == 3 ? -INFINITY : k == 5 ? INFINITY : 2 * sm; /* INFS */
    }
}

static jx_ints parse_shape(const char *s, int64_t *dims) {
    int r = 0;
    while (*s) {
        dims[r++] = strtoll(s, (char **)&s, 10);
        if (*s == 'x') s++;
    }
    return (jx_ints){dims, r};
}

static int64_t size_of(jx_ints sh) {
    int64_t n = 1;
    for (int d = 0; d < sh.n; d++) n *= sh.v[d];
    return n;
}

/* an array of dtype t and shape sh with element k = f(c k + off) */
static jx_array *pattern(jx_dtype t, jx_ints sh, double (*f)(double), double c, double off) {
    double v[MAXN];
    for (int64_t k = 0; k < size_of(sh); k++) v[k] = f(c * (double)k + off);
    return jt_array(t, sh, v);
}

static jx_array *input(const jcase *c, int i, jx_dtype t) {
    int64_t dims[JX_MAX_RANK];
    jx_ints sh = parse_shape(c->shapes[i], dims);
    double v[MAXN];
    for (int64_t k = 0; k < size_of(sh); k++) v[k] = value(c->domain, i, k);
    return jt_array(t, sh, v);
}

static long ncmp[2][3];
static double worst[2][3];

/* Compares got (n arrays, flattened in order) with the next line of p ("count v...") */
static void compare(FILE *p, const jcase *c, int dt, int order, int n, jx_array *const *got) {
    long count = 0;
    CU_ASSERT_FATAL(fscanf(p, "%ld", &count) == 1);
    static const double tols[3][2] = {{2e-6, 1e-12}, {1e-5, 1e-12}, {2e-4, 1e-10}};
    double tol = tols[c->group][dt] * (order ? 10 : 1);
    long total = 0;
    for (int a = 0; a < n; a++) total += got[a] ? (long)jx_array_size(got[a]) : -1;
    CU_ASSERT_EQUAL(total, count);
    for (int a = 0, at = 0; a < n; a++)
        for (int64_t k = 0; got[a] && k < jx_array_size(got[a]); k++, at++) {
            char tok[64];
            CU_ASSERT_FATAL(fscanf(p, "%63s", tok) == 1);
            double want = strtod(tok, NULL), g = jx_array_get(got[a], k);
            double scale = fabs(want) > 1 ? fabs(want) : 1;
            double err = isnan(want) || isnan(g) ? (isnan(want) && isnan(g) ? 0 : INFINITY)
                       : want == g ? 0 : fabs(g - want) / scale;
            ncmp[dt][order]++;
            if (err > worst[dt][order]) worst[dt][order] = err;
            if (!(err <= tol))
                fprintf(stderr, "\n  %s %s (%s%s%s) order %d element %d: jx %.17g, JAX %.17g", c->name,
                        dt ? "f64" : "f32", c->shapes[0], c->nin > 1 ? ", " : "", c->nin > 1 ? c->shapes[1] : "", order,
                        at, g, want);
            CU_ASSERT(err <= tol);
        }
}

/* evaluates f on in (nin) and compares its nout outputs with the next line of p */
static void run_compare(FILE *p, const jcase *c, int dt, int order, jx_fn *f, int nin, jx_array *const *in, int nout) {
    jx_array *y[2] = {NULL, NULL};
    if (!f || jt_eval(f, nin, in, nout, y) != JX_OK)
        fprintf(stderr, "\n  %s order %d: %s\n", c->name, order, jx_errmsg());
    compare(p, c, dt, order, nout, y);
    jt_release_arrays(nout, y);
}

static void one_case(FILE *p, const jcase *c, int dt) {
    jx_dtype t = dt ? JX_F64 : JX_F32;
    jx_array *x[2] = {input(c, 0, t), c->nin > 1 ? input(c, 1, t) : NULL};
    jx_aval av[6];
    for (int i = 0; i < c->nin; i++) av[1 + i] = av[1 + c->nin + i] = jx_array_aval(x[i]);
    jx_fn *f = jx_trace("F", f_body, (void *)c, c->nin, av + 1, 1);
    run_compare(p, c, dt, 0, f, c->nin, x, 1);
    if (c->maxorder >= 1 && f) {
        av[0] = JX_SCALAR(t);
        av[1 + 2 * c->nin] = jx_fn_output_aval(f, 0);
        jx_array *in[6] = {jx_array_scalar(t, 0)};
        for (int i = 0; i < c->nin; i++) {
            in[1 + i] = x[i];
            in[1 + c->nin + i] = pattern(t, (jx_ints){av[1 + i].shape, av[1 + i].rank}, sin, 0.53, i + 0.2);
        }
        in[1 + 2 * c->nin] = pattern(t, (jx_ints){av[1 + 2 * c->nin].shape, av[1 + 2 * c->nin].rank}, cos, 0.37, 0);
        int64_t args[2] = {1, 2};
        jx_fn *l = jx_trace("L", loss_body, (void *)c, 2 + 2 * c->nin, av, 1);
        jx_fn *g1 = l ? jx_grad(l, (jx_ints){args, c->nin}) : NULL;
        run_compare(p, c, dt, 1, g1, 2 + 2 * c->nin, in, c->nin);
        if (c->maxorder >= 2) {
            jx_fn *gt = l ? jx_grad(l, JX_NOINTS) : NULL, *g2 = gt ? jx_grad(gt, (jx_ints){args, c->nin}) : NULL;
            run_compare(p, c, dt, 2, g2, 2 + 2 * c->nin, in, c->nin);
            jx_fn_release(gt);
            jx_fn_release(g2);
        }
        jx_fn_release(g1);
        jx_fn_release(l);
        jx_array_release(in[0]);
        for (int i = 0; i < c->nin; i++) jx_array_release(in[1 + c->nin + i]);
        jx_array_release(in[1 + 2 * c->nin]);
    }
    jx_fn_release(f);
    for (int i = 0; i < c->nin; i++) jx_array_release(x[i]);
}

static void test_ops(void) {
    char in_path[] = "/tmp/jx-jaxref-ops-XXXXXX";
    int fd = mkstemp(in_path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *in = fdopen(fd, "w");
    for (int dt = 0; dt < 2; dt++)
        for (int i = 0; i < NCASES; i++) {
            const jcase *c = &cases[i];
            fprintf(in, "%s %s %d %d", c->name, dt ? "f64" : "f32", c->maxorder, c->nin);
            for (int a = 0; a < c->nin; a++) fprintf(in, " %s", c->shapes[a]);
            fprintf(in, " :");
            for (int a = 0; a < c->nin; a++) {
                jx_array *x = input(c, a, dt ? JX_F64 : JX_F32);
                for (int64_t k = 0; k < jx_array_size(x); k++) fprintf(in, " %a", jx_array_get(x, k));
                jx_array_release(x);
            }
            fprintf(in, "\n");
        }
    fclose(in);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 jaxref/jaxref_ops.py < %s", in_path);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int dt = 0; dt < 2; dt++)
        for (int i = 0; i < NCASES; i++) one_case(p, &cases[i], dt);
    CU_ASSERT_EQUAL(pclose(p), 0);
    unlink(in_path);
    printf("\n  %d cases x 2 dtypes; elements compared (orders 0/1/2) f32 %ld/%ld/%ld, f64 %ld/%ld/%ld;"
           "\n  worst errors f32 %.3g/%.3g/%.3g, f64 %.3g/%.3g/%.3g\n", NCASES, ncmp[0][0], ncmp[0][1], ncmp[0][2],
           ncmp[1][0], ncmp[1][1], ncmp[1][2], worst[0][0], worst[0][1], worst[0][2], worst[1][0], worst[1][1],
           worst[1][2]);
}

int main(void) {
    if (system("python3 -c 'import jax' >/dev/null 2>&1") != 0) {
        printf("jaxref: python3 cannot import jax: skipped\n");
        return 77;
    }
    CU_TestInfo tests[] = {
        {"binary ops, reductions, composites, cumulative and linear algebra against JAX", test_ops},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jaxref ops", tests);
}
