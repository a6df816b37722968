/* test_grad_elementwise.c: jvp and vjp of every elementwise primitive against finite
 * differences (f64, several shapes, rank-0 and literal operands), second derivatives of
 * each, closed forms for higher derivatives, and JAX's conventions at ties and zeros. */
#include "gradcheck.h"

typedef jx_val (*un_op)(jx_loc, jx_val);
typedef jx_val (*bin_op)(jx_loc, jx_val, jx_val);

/* ------------------------------------------------------------------ helpers */

/* Evaluates f on rank-0 f64 inputs x[0..nin) and reads nout rank-0 outputs into y. */
static int eval_scalars(const jx_fn *f, int nin, const double *x, int nout, double *y) {
    jx_array *in[8], *out[8] = {0};
    for (int i = 0; i < nin; i++) in[i] = jx_array_scalar(JX_F64, x[i]);
    jx_status st = jt_eval(f, nin, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    for (int i = 0; i < nout && st == JX_OK; i++) y[i] = jx_array_get(out[i], 0);
    for (int i = 0; i < nin; i++) jx_array_release(in[i]);
    for (int i = 0; i < nout; i++) jx_array_release(out[i]);
    return st == JX_OK;
}

/* Evaluates a one-input, one-output fn on an array of doubles; the result, released by
 * the caller, or NULL. */
static jx_array *eval_vec(const jx_fn *f, jx_dtype t, jx_ints shape, const double *x) {
    jx_array *in = jt_array(t, shape, x), *out = NULL;
    if (jt_eval(f, 1, &in, 1, &out) != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    jx_array_release(in);
    return out;
}

/* Second derivatives of a scalar function of nin scalar inputs at x: each entry of the
 * Hessian from grad(grad(f)) against central differences of grad(f). Returns 1 if all
 * agree within tol (relative). */
static int check_second(const char *name, jx_body body, void *user, int nin, const double *x, double tol) {
    jx_aval av[4];
    for (int i = 0; i < nin; i++) av[i] = JX_SCALAR(JX_F64);
    jx_fn *f = jx_trace(name, body, user, nin, av, 1);
    int ok = f != NULL;
    for (int i = 0; i < nin && ok; i++) {
        jx_fn *g = jx_grad(f, JX_INTS(i));
        for (int j = 0; j < nin && g; j++) {
            jx_fn *h = jx_grad(g, JX_INTS(j));
            double xp[4], xm[4], gp = NAN, gm = NAN, hv = NAN, step = 1e-5;
            for (int k = 0; k < nin; k++) xp[k] = xm[k] = x[k];
            xp[j] += step;
            xm[j] -= step;
            ok = h && eval_scalars(h, nin, x, 1, &hv) && eval_scalars(g, nin, xp, 1, &gp) &&
                 eval_scalars(g, nin, xm, 1, &gm);
            double fd = (gp - gm) / (2 * step), e = fabs(hv - fd) / (fabs(fd) > 1 ? fabs(fd) : 1);
            if (ok && !(e <= tol)) {
                fprintf(stderr, "\n  %s: d2/dx%d dx%d = %.17g, fd %.17g\n", name, i, j, hv, fd);
                ok = 0;
            }
            jx_fn_release(h);
            if (!ok) break;
        }
        if (!g) {
            fprintf(stderr, "\n  %s: grad failed: %s\n", name, jx_errmsg());
            ok = 0;
        }
        jx_fn_release(g);
    }
    jx_fn_release(f);
    return ok;
}

/* ------------------------------------------------------------------ unary */

static jx_val ipow0(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, 0); }
static jx_val ipow1(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, 1); }
static jx_val ipow2(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, 2); }
static jx_val ipow3(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, 3); }
static jx_val ipowm2(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, -2); }
/* The piecewise constant ones times x: their own contribution to the derivative is 0. */
static jx_val xsign(jx_loc l, jx_val x) { return jx_mul_at(l, x, jx_sign_at(l, x)); }
static jx_val xfloor(jx_loc l, jx_val x) { return jx_mul_at(l, x, jx_floor_at(l, x)); }
static jx_val xceil(jx_loc l, jx_val x) { return jx_mul_at(l, x, jx_ceil_at(l, x)); }
static jx_val xround(jx_loc l, jx_val x) { return jx_mul_at(l, x, jx_round_at(l, x)); }
/* f64 -> f64 -> f64 conversions keep full precision for finite differences. */
static jx_val conv_same(jx_loc l, jx_val x) { return jx_exp_at(l, jx_convert_at(l, x, JX_F64)); }

typedef struct unary_case {
    const char *name;
    un_op op;
    double lo, hi; /* a smooth range */
} unary_case;

static const unary_case unary_cases[] = {
    {"neg", jx_neg_at, -2, 2},         {"exp", jx_exp_at, -2, 2},         {"log", jx_log_at, 0.3, 3},
    {"log1p", jx_log1p_at, -0.7, 2},   {"expm1", jx_expm1_at, -2, 2},     {"tanh", jx_tanh_at, -2, 2},
    {"logistic", jx_logistic_at, -3, 3}, {"sin", jx_sin_at, -3, 3},       {"cos", jx_cos_at, -3, 3},
    {"sqrt", jx_sqrt_at, 0.2, 3},      {"rsqrt", jx_rsqrt_at, 0.2, 3},    {"abs+", jx_abs_at, 0.1, 2},
    {"abs-", jx_abs_at, -2, -0.1},     {"integer_pow0", ipow0, -2, 2},    {"integer_pow1", ipow1, -2, 2},
    {"integer_pow2", ipow2, -2, 2},    {"integer_pow3", ipow3, -2, 2},    {"integer_pow-2", ipowm2, 0.3, 2},
    {"sign", xsign, -2, -0.1},         {"floor", xfloor, 1.1, 1.9},       {"ceil", xceil, -1.9, -1.1},
    {"round", xround, 2.6, 3.4},       {"convert", conv_same, -1, 1},
};
#define NUNARY ((int)(sizeof unary_cases / sizeof *unary_cases))

static void body_unary(jx_val *out, const jx_val *in, void *u) { out[0] = ((const unary_case *)u)->op(JX_HERE, in[0]); }

static void test_unary_checks(void) {
    jx_aval shapes[3] = {JX_AVAL(JX_F64, 3, 4), JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 2, 0)};
    for (int c = 0; c < NUNARY; c++)
        for (int s = 0; s < 3; s++) {
            const unary_case *uc = &unary_cases[c];
            int ok = jt_check_grads(uc->name, body_unary, (void *)uc, 1, &shapes[s], uc->lo, uc->hi, 1e-6);
            if (!ok) fprintf(stderr, "  (shape %d)\n", s);
            CU_ASSERT(ok);
        }
}

static void test_unary_second(void) {
    for (int c = 0; c < NUNARY; c++) {
        const unary_case *uc = &unary_cases[c];
        double x = uc->lo + 0.37 * (uc->hi - uc->lo);
        CU_ASSERT(check_second(uc->name, body_unary, (void *)uc, 1, &x, 1e-6));
    }
}

/* ------------------------------------------------------------------ binary */

/* rem(3x, y) keeps 3x / y away from integers for x, y in the test ranges. */
static jx_val rem3(jx_loc l, jx_val a, jx_val b) {
    return jx_rem_at(l, jx_mul_at(l, a, jx_scalar_like_at(l, a, 3.0)), b);
}

typedef struct binary_case {
    const char *name;
    bin_op op;
    double lo, hi;
    int mode; /* 0: op(a, b); 1: op(a, 1.25); 2: op(1.25, a) */
} binary_case;

static const binary_case binary_cases[] = {
    {"add", jx_add_at, -2, 2, 0}, {"sub", jx_sub_at, -2, 2, 0},     {"mul", jx_mul_at, -2, 2, 0},
    {"div", jx_div_at, 0.5, 2, 0}, {"rem", rem3, 1.05, 1.95, 0},    {"pow", jx_pow_at, 0.5, 2, 0},
    {"max", jx_max_at, -2, 2, 0}, {"min", jx_min_at, -2, 2, 0},     {"atan2", jx_atan2_at, -2, 2, 0},
};
#define NBINARY ((int)(sizeof binary_cases / sizeof *binary_cases))

static void body_binary(jx_val *out, const jx_val *in, void *u) {
    const binary_case *bc = u;
    jx_val k = jx_scalar(JX_F64, 1.25);
    jx_val a = bc->mode == 2 ? k : in[0], b = bc->mode == 0 ? in[1] : bc->mode == 1 ? k : in[0];
    out[0] = bc->op(JX_HERE, a, b);
}

static void test_binary_checks(void) {
    jx_aval m = JX_AVAL(JX_F64, 3, 4), s = JX_SCALAR(JX_F64), z = JX_AVAL(JX_F64, 0, 3);
    jx_aval pairs[6][2] = {{m, m}, {s, m}, {m, s}, {s, s}, {z, z}, {s, z}};
    for (int c = 0; c < NBINARY; c++) {
        binary_case bc = binary_cases[c];
        for (int p = 0; p < 6; p++) {
            int ok = jt_check_grads(bc.name, body_binary, &bc, 2, pairs[p], bc.lo, bc.hi, 1e-6);
            if (!ok) fprintf(stderr, "  (operand shapes %d)\n", p);
            CU_ASSERT(ok);
        }
        for (bc.mode = 1; bc.mode <= 2; bc.mode++) /* a literal operand */
            for (int p = 0; p < 2; p++) {
                int ok = jt_check_grads(bc.name, body_binary, &bc, 1, p ? &s : &m, bc.lo, bc.hi, 1e-6);
                if (!ok) fprintf(stderr, "  (literal mode %d, shape %d)\n", bc.mode, p);
                CU_ASSERT(ok);
            }
    }
}

static void test_binary_second(void) {
    for (int c = 0; c < NBINARY; c++) {
        const binary_case *bc = &binary_cases[c];
        double x[2] = {bc->lo + 0.31 * (bc->hi - bc->lo), bc->lo + 0.77 * (bc->hi - bc->lo)};
        CU_ASSERT(check_second(bc->name, body_binary, (void *)bc, 2, x, 1e-6));
    }
}

/* ------------------------------------------------------------------ select, compare */

/* select(a > b, a * b, sin(b)) */
static void body_select(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_select(jx_gt(in[0], in[1]), jx_mul(in[0], in[1]), jx_sin(in[1]));
}

/* select(s > 0, x * s, -x): a rank-0 predicate and operand */
static void body_select_scalar(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_select(jx_gt(in[1], jx_scalar(JX_F64, 0.0)), jx_mul(in[0], in[1]), jx_neg(in[0]));
}

/* select(x > 0.5, s, x) and select(x > 0.5, 2.0, x): rank-0 and literal branches */
static void body_select_branch(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val p = jx_gt(in[0], jx_scalar(JX_F64, 0.5));
    out[0] = jx_add(jx_select(p, in[1], in[0]), jx_select(p, jx_scalar(JX_F64, 2.0), jx_exp(in[0])));
}

static void test_select_checks(void) {
    jx_aval m = JX_AVAL(JX_F64, 3, 4), s = JX_SCALAR(JX_F64);
    jx_aval a[2] = {m, m}, b[2] = {m, s}, c[2] = {s, s};
    CU_ASSERT(jt_check_grads("select", body_select, NULL, 2, a, -2, 2, 1e-6));
    CU_ASSERT(jt_check_grads("select", body_select, NULL, 2, c, -2, 2, 1e-6));
    CU_ASSERT(jt_check_grads("select_scalar", body_select_scalar, NULL, 2, b, -2, 2, 1e-6));
    CU_ASSERT(jt_check_grads("select_scalar", body_select_scalar, NULL, 2, b, -2, -0.1, 1e-6));
    CU_ASSERT(jt_check_grads("select_branch", body_select_branch, NULL, 2, b, 0, 1, 1e-6));
}

/* sum(select(x > 0, x * x, -x)): d/dx is 2x or -1 */
static void body_sum_select(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    out[0] = jx_reduce_sum(jx_select(jx_gt(x, jx_scalar(JX_F64, 0.0)), jx_mul(x, x), jx_neg(x)), JX_NOINTS);
}

/* A comparison used as a value: convert(x > 1) * x, and x * (x == x) */
static void body_compare(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    jx_val a = jx_mul(jx_convert(jx_gt(x, jx_scalar(JX_F64, 1.0)), JX_F64), x);
    out[0] = jx_add(a, jx_mul(x, jx_convert(jx_eq(x, x), JX_F64)));
}

static void test_select_compare_values(void) {
    jx_aval a = JX_AVAL(JX_F64, 4);
    double xv[4] = {-2, -0.5, 0.5, 3};
    jx_fn *f = jx_trace("sum_select", body_sum_select, NULL, 1, &a, 1);
    jx_fn *g = jx_grad(f, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *r = eval_vec(g, JX_F64, JX_INTS(4), xv);
    double want[4] = {-1, -1, 1, 6};
    JT_ASSERT_ARRAY(r, want, 4, 0);
    jx_array_release(r);
    jx_fn_release(g);
    jx_fn_release(f);

    f = jx_trace("compare", body_compare, NULL, 1, &a, 1);
    jx_fn *j = jx_jvp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double dv[4] = {1, 1, 1, 1}, wantd[4] = {1, 1, 1, 2};
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(4), xv), jt_array(JX_F64, JX_INTS(4), dv)}, *o[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(j, 2, in, 2, o), JX_OK);
    JT_ASSERT_ARRAY(o[1], wantd, 4, 0);
    for (int i = 0; i < 2; i++) jx_array_release(in[i]), jx_array_release(o[i]);
    jx_fn_release(j);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ closed forms */

static void body_un_scalar(jx_val *out, const jx_val *in, void *u) { out[0] = ((un_op)u)(JX_HERE, in[0]); }

/* d^k/dx^k of op at points, k = 1..3, against want(k, x). */
static void check_derivs(un_op op, double (*want)(int, double)) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *g[4] = {jx_trace("f", body_un_scalar, (void *)op, 1, &a, 1)};
    for (int k = 1; k <= 3; k++) g[k] = g[k - 1] ? jx_grad(g[k - 1], JX_NOINTS) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g[3]);
    for (double x = -2.5; x <= 2.5; x += 0.625)
        for (int k = 1; k <= 3; k++) {
            double y = NAN, w = want(k, x);
            CU_ASSERT(eval_scalars(g[k], 1, &x, 1, &y));
            if (!(fabs(y - w) <= 1e-13 * (fabs(w) > 1 ? fabs(w) : 1)))
                fprintf(stderr, "\n  d%d at %g: %.17g, want %.17g\n", k, x, y, w);
            CU_ASSERT(fabs(y - w) <= 1e-13 * (fabs(w) > 1 ? fabs(w) : 1));
        }
    for (int k = 0; k < 4; k++) jx_fn_release(g[k]);
}

static double d_tanh(int k, double x) {
    double t = tanh(x), s = 1 - t * t;
    return k == 1 ? s : k == 2 ? -2 * t * s : (6 * t * t - 2) * s;
}
static double d_sin(int k, double x) { return k == 1 ? cos(x) : k == 2 ? -sin(x) : -cos(x); }
static double d_logistic(int k, double x) {
    double s = 1 / (1 + exp(-x)), d = s * (1 - s);
    return k == 1 ? d : k == 2 ? d * (1 - 2 * s) : d * (1 - 6 * s + 6 * s * s);
}

static void test_higher_tanh(void) { check_derivs(jx_tanh_at, d_tanh); }
static void test_higher_sin(void) { check_derivs(jx_sin_at, d_sin); }
static void test_higher_logistic(void) { check_derivs(jx_logistic_at, d_logistic); }

/* ------------------------------------------------------------------ conventions */

static void body_bin_scalar(jx_val *out, const jx_val *in, void *u) { out[0] = ((bin_op)u)(JX_HERE, in[0], in[1]); }

/* Gradient of op(a, b) with respect to both at (a, b). */
static void grad2(bin_op op, double a, double b, double *g) {
    jx_aval av[2] = {JX_SCALAR(JX_F64), JX_SCALAR(JX_F64)};
    jx_fn *f = jx_trace("f", body_bin_scalar, (void *)op, 2, av, 1);
    jx_fn *gf = jx_grad(f, JX_INTS(0, 1));
    double x[2] = {a, b};
    g[0] = g[1] = NAN;
    CU_ASSERT(gf && eval_scalars(gf, 2, x, 2, g));
    jx_fn_release(gf);
    jx_fn_release(f);
}

static void test_max_min_ties(void) {
    double g[2];
    bin_op ops[2] = {jx_max_at, jx_min_at};
    for (int i = 0; i < 2; i++) {
        grad2(ops[i], 1.5, 1.5, g);
        CU_ASSERT_EQUAL(g[0], 0.5);
        CU_ASSERT_EQUAL(g[1], 0.5);
        grad2(ops[i], 1.0, 2.0, g);
        CU_ASSERT_EQUAL(g[0], i == 0 ? 0.0 : 1.0);
        CU_ASSERT_EQUAL(g[1], i == 0 ? 1.0 : 0.0);
    }
    /* max(x, x) splits 0.5 + 0.5 = 1 */
    grad2(jx_max_at, -3.0, -3.0, g);
    CU_ASSERT_EQUAL(g[0] + g[1], 1.0);
}

static void body_relu(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_relu(in[0]), JX_NOINTS);
}

/* sum(clamp(x, -1, 1)) and sum(max(x, 0.0)) with the literal as a rank-0 operand */
static void body_clamp(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_clamp(in[0], -1.0, 1.0), JX_NOINTS);
}

static void test_relu_clamp(void) {
    jx_aval a = JX_AVAL(JX_F64, 6);
    double xv[6] = {-2, -0.5, 0.25, 3, -1, 1};
    double want[2][6] = {{0, 0, 1, 1, 0, 1}, {0, 1, 1, 0, 0.5, 0.5}};
    jx_body bodies[2] = {body_relu, body_clamp};
    for (int b = 0; b < 2; b++) {
        jx_fn *f = jx_trace("f", bodies[b], NULL, 1, &a, 1), *g = jx_grad(f, JX_NOINTS);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *r = eval_vec(g, JX_F64, JX_INTS(6), xv);
        JT_ASSERT_ARRAY(r, want[b], 6, 0);
        jx_array_release(r);
        jx_fn_release(g);
        jx_fn_release(f);
    }
}

static void test_pow_rem_conventions(void) {
    double g[2];
    grad2(jx_pow_at, 2.0, 3.0, g);
    CU_ASSERT_DOUBLE_EQUAL(g[0], 12.0, 1e-14);
    CU_ASSERT_DOUBLE_EQUAL(g[1], 8.0 * log(2.0), 1e-14);
    grad2(jx_pow_at, 0.0, 2.0, g); /* finite at x = 0: log(x) is replaced by log(1) */
    CU_ASSERT_EQUAL(g[0], 0.0);
    CU_ASSERT_EQUAL(g[1], 0.0);
    grad2(jx_pow_at, 0.0, 0.0, g); /* y = 0: d/dx is 0 * 0^-1 = NaN, as JAX's */
    CU_ASSERT(isnan(g[0]));
    CU_ASSERT_EQUAL(g[1], 0.0);
    grad2(jx_pow_at, 3.0, 0.0, g);
    CU_ASSERT_EQUAL(g[0], 0.0);
    CU_ASSERT_DOUBLE_EQUAL(g[1], log(3.0), 1e-15);
    grad2(jx_rem_at, 7.0, 2.0, g); /* d/dy = -trunc(x / y) */
    CU_ASSERT_EQUAL(g[0], 1.0);
    CU_ASSERT_EQUAL(g[1], -3.0);
    grad2(jx_rem_at, -7.5, 2.0, g);
    CU_ASSERT_EQUAL(g[0], 1.0);
    CU_ASSERT_EQUAL(g[1], 3.0);
    grad2(jx_div_at, 3.0, -2.0, g);
    CU_ASSERT_EQUAL(g[0], -0.5);
    CU_ASSERT_EQUAL(g[1], -0.75);
    grad2(jx_atan2_at, 0.0, 2.0, g);
    CU_ASSERT_EQUAL(g[0], 0.5);
    CU_ASSERT_EQUAL(g[1], 0.0);
}

/* NaN propagates through smooth rules; max/min give a NaN operand no share (JAX). */
static void test_nan(void) {
    double g[2];
    grad2(jx_max_at, NAN, 1.0, g);
    CU_ASSERT_EQUAL(g[0], 0.0);
    CU_ASSERT_EQUAL(g[1], 0.0);
    grad2(jx_mul_at, NAN, 2.0, g);
    CU_ASSERT_EQUAL(g[0], 2.0);
    CU_ASSERT(isnan(g[1]));
    grad2(jx_div_at, 1.0, INFINITY, g);
    CU_ASSERT_EQUAL(g[0], 0.0);
    CU_ASSERT_EQUAL(g[1], 0.0);
}

/* grad of each unary at points where its derivative is exact in closed form */
static void test_unary_values(void) {
    struct {
        un_op op;
        double x, want;
    } cases[] = {
        {jx_abs_at, -2, -1},    {jx_abs_at, 2, 1},     {jx_abs_at, 0, 1}, {jx_abs_at, -0.0, 1}, /* JAX: select(x >= 0, t, -t) */
        {jx_sqrt_at, 4, 0.25},  {jx_rsqrt_at, 4, -1.0 / 16}, {jx_log_at, 4, 0.25},
        {jx_log1p_at, 3, 0.25}, {jx_exp_at, 0, 1},     {jx_expm1_at, 0, 1},
        {ipow0, 0, 0},          {ipow1, 5, 1},         {ipow3, -2, 12},   {ipowm2, 2, -0.25},
        {jx_floor_at, 1.5, 0},  {jx_ceil_at, 1.5, 0},  {jx_round_at, 1.5, 0}, {jx_sign_at, -3, 0},
        {jx_stop_gradient_at, 2, 0},
    };
    jx_aval a = JX_SCALAR(JX_F64);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        jx_fn *f = jx_trace("f", body_un_scalar, (void *)cases[i].op, 1, &a, 1), *g = jx_grad(f, JX_NOINTS);
        double y = NAN;
        CU_ASSERT(g && eval_scalars(g, 1, &cases[i].x, 1, &y));
        if (y != cases[i].want) fprintf(stderr, "\n  case %zu: %.17g, want %.17g\n", i, y, cases[i].want);
        CU_ASSERT_EQUAL(y, cases[i].want);
        jx_fn_release(g);
        jx_fn_release(f);
    }
}

/* x * stop_gradient(x): d/dx is stop_gradient(x) only */
static void body_stop(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(in[0], jx_stop_gradient(in[0])), JX_NOINTS);
}

static void test_stop_gradient(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    double xv[3] = {-1, 2, 5};
    jx_fn *f = jx_trace("stop", body_stop, NULL, 1, &a, 1), *g = jx_grad(f, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *r = eval_vec(g, JX_F64, JX_INTS(3), xv);
    JT_ASSERT_ARRAY(r, xv, 3, 0);
    jx_array_release(r);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ dtypes */

/* f(x, n) = sum(x * f64(n)) + sum(f64(i32(x))) + sum(f64(max(n, 2) % 3)) */
static void body_mixed(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0], n = in[1];
    jx_val a = jx_reduce_sum(jx_mul(x, jx_convert(n, JX_F64)), JX_NOINTS);
    jx_val b = jx_reduce_sum(jx_convert(jx_convert(x, JX_I32), JX_F64), JX_NOINTS);
    jx_val m = jx_rem(jx_max(n, jx_scalar(JX_I32, 2)), jx_scalar(JX_I32, 3));
    out[0] = jx_add(jx_add(a, b), jx_reduce_sum(jx_convert(m, JX_F64), JX_NOINTS));
}

static void test_integer_inputs(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_I32, 3)};
    jx_fn *f = jx_trace("mixed", body_mixed, NULL, 2, av, 1), *v = jx_vjp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double xv[3] = {0.5, -1.5, 2.5}, nv[3] = {-4, 1, 7}, one = 1;
    jx_array *in[3] = {jt_array(JX_F64, JX_INTS(3), xv), jt_array(JX_I32, JX_INTS(3), nv),
                       jt_array(JX_F64, JX_NOINTS, &one)};
    jx_array *o[3] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(v, 3, in, 3, o), JX_OK);
    double zeros[3] = {0, 0, 0};
    JT_ASSERT_ARRAY(o[1], nv, 3, 0); /* the i32(x) path contributes nothing */
    CU_ASSERT_EQUAL(jx_array_dtype(o[2]), JX_I32);
    JT_ASSERT_ARRAY(o[2], zeros, 3, 0);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]), jx_array_release(o[i]);
    jx_fn_release(v);
    jx_fn_release(f);
}

/* sum(tanh(x) * x) in f32, and through an f64 convert and back */
static void body_f32(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    jx_val a = jx_reduce_sum(jx_mul(jx_tanh(x), x), JX_NOINTS);
    jx_val d = jx_convert(x, JX_F64);
    jx_val b = jx_convert(jx_reduce_sum(jx_mul(d, jx_sin(d)), JX_NOINTS), JX_F32);
    out[0] = jx_add(a, b);
}

static void test_f32(void) {
    jx_aval a = JX_AVAL(JX_F32, 5);
    double xv[5] = {-2, -0.5, 0, 0.75, 1.5}, want[5];
    for (int i = 0; i < 5; i++) {
        double t = tanh(xv[i]);
        want[i] = t + xv[i] * (1 - t * t) + sin(xv[i]) + xv[i] * cos(xv[i]);
    }
    jx_fn *f = jx_trace("f32", body_f32, NULL, 1, &a, 1), *g = jx_grad(f, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_output_aval(g, 0).dtype, JX_F32);
    jx_array *r = eval_vec(g, JX_F32, JX_INTS(5), xv);
    CU_ASSERT_EQUAL(jx_array_dtype(r), JX_F32);
    JT_ASSERT_ARRAY(r, want, 5, 1e-5);
    jx_array_release(r);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"unary jvp/vjp vs finite differences", test_unary_checks},
        {"unary second derivatives", test_unary_second},
        {"binary jvp/vjp, rank-0 and literal operands", test_binary_checks},
        {"binary second derivatives", test_binary_second},
        {"select jvp/vjp", test_select_checks},
        {"gradients through select and comparisons", test_select_compare_values},
        {"tanh derivatives 1-3", test_higher_tanh},
        {"sin derivatives 1-3", test_higher_sin},
        {"logistic derivatives 1-3", test_higher_logistic},
        {"max/min split ties", test_max_min_ties},
        {"relu and clamp gradients", test_relu_clamp},
        {"pow, rem, div, atan2 values", test_pow_rem_conventions},
        {"unary gradient values", test_unary_values},
        {"NaN and infinity", test_nan},
        {"stop_gradient", test_stop_gradient},
        {"integer inputs get no gradient", test_integer_inputs},
        {"f32 gradients", test_f32},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad elementwise", tests);
}
