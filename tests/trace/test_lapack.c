/* test_lapack.c: cholesky and triangular_solve (every combination of left_side, lower,
 * transpose_a, unit_diagonal) on batches: values and gradients against JAX
 * (ref/lapack_ref.h, made by ref/lapack_ref.py), L L^T = x, NaNs for a matrix that is
 * not positive definite, jvp/vjp against finite differences in f64, vmap against a loop,
 * and errors naming the shapes and the line. */
#include <stdlib.h>

#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/lapack_ref.h"

static void pattern(double *v, int64_t n, double seed) {
    for (int64_t k = 0; k < n; k++) v[k] = sin(0.37 * (double)k + seed);
}

/* m m^T + 4 I for m = pattern((2,4,4), seed), as lapack_ref.py builds it */
static jx_array *spd(jx_dtype t, double seed) {
    double m[32], x[32];
    pattern(m, 32, seed);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double s = i == j ? 4 : 0;
                for (int k = 0; k < 4; k++) s += m[b * 16 + i * 4 + k] * m[b * 16 + j * 4 + k];
                x[b * 16 + i * 4 + j] = s;
            }
    return jt_array(t, JX_INTS(2, 4, 4), x);
}

static jx_array *tri_a(jx_dtype t) {
    double a[32];
    pattern(a, 32, 3.0);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++) a[b * 16 + i * 5] += 4;
    return jt_array(t, JX_INTS(2, 4, 4), a);
}

static jx_array *ct(jx_ints shape) {
    double v[32];
    for (int k = 0; k < 32; k++) v[k] = cos(0.3 * k);
    return jt_array(JX_F64, shape, v);
}

static void chol_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_cholesky(in[0]);
}

static void chol_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_cholesky(in[0]), in[1]), JX_NOINTS);
}

static void test_cholesky(void) {
    for (int f = 0; f < 2; f++) {
        jx_array *in[1] = {spd(f ? JX_F32 : JX_F64, 1.0)};
        jx_array *y = jt_eval1(chol_body, NULL, 1, in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        JT_ASSERT_ARRAY(y, chol_l, 32, f ? 2e-6 : 1e-14);
        jx_array_release(y);
    }
    jx_aval av[2] = {JX_AVAL(JX_F64, 2, 4, 4), JX_AVAL(JX_F64, 2, 4, 4)};
    jx_fn *l = jt_trace_or_say("chol", chol_loss, NULL, 2, av, 1), *g = l ? jx_grad(l, JX_NOINTS) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {spd(JX_F64, 1.0), ct(JX_INTS(2, 4, 4))}, *gx = NULL;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 1, &gx), JX_OK);
    JT_ASSERT_ARRAY(gx, chol_g, 32, 1e-12);
    jt_release_arrays(2, in);
    jx_array_release(gx);
    jx_fn_release(g);
    jx_fn_release(l);
    /* not positive definite: NaNs below, zeros above (JAX's values) */
    jx_array *bad[1] = {jt_array(JX_F64, JX_INTS(2, 2), (double[]){1, 2, 2, 1})};
    jx_array *y = jt_eval1(chol_body, NULL, 1, bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    JT_ASSERT_ARRAY(y, ((double[]){NAN, 0, NAN, NAN}), 4, 0);
    jx_array_release(y);
}

static void solve_body(jx_val *out, const jx_val *in, void *u) { out[0] = jx_triangular_solve(in[0], in[1], *(int *)u); }

static void solve_loss(jx_val *out, const jx_val *in, void *u) {
    jx_val y;
    solve_body(&y, in, u);
    out[0] = jx_reduce_sum(jx_mul(y, in[2]), JX_NOINTS);
}

static jx_ints b_shape(int flags) {
    static const int64_t left[3] = {2, 4, 3}, right[3] = {2, 3, 4}; /* static: the list outlives the call */
    return (jx_ints){flags & JX_SOLVE_LEFT ? left : right, 3};
}

static void test_triangular_solve(void) {
    for (int flags = 0; flags < 16; flags++) {
        double bv[24];
        pattern(bv, 24, 2.0);
        for (int f = 0; f < 2; f++) {
            jx_dtype t = f ? JX_F32 : JX_F64;
            jx_array *in[2] = {tri_a(t), jt_array(t, b_shape(flags), bv)};
            jx_array *y = jt_eval1(solve_body, &flags, 2, in);
            CU_ASSERT_PTR_NOT_NULL_FATAL(y);
            double err = jt_max_err(y, solve_y[flags], 24);
            if (!(err <= (f ? 1e-5 : 1e-13))) fprintf(stderr, "\n  flags %d %s: error %g", flags, jx_dtype_name(t), err);
            CU_ASSERT(err <= (f ? 1e-5 : 1e-13));
            jx_array_release(y);
        }
        jx_aval av[3] = {JX_AVAL(JX_F64, 2, 4, 4), jx_aval_make(JX_F64, b_shape(flags)),
                         jx_aval_make(JX_F64, b_shape(flags))};
        jx_fn *l = jt_trace_or_say("solve", solve_loss, &flags, 3, av, 1);
        jx_fn *g = l ? jx_grad(l, JX_INTS(0, 1)) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *in[3] = {tri_a(JX_F64), jt_array(JX_F64, b_shape(flags), bv), ct(b_shape(flags))}, *gr[2] = {0};
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 2, gr), JX_OK);
        JT_ASSERT_ARRAY(gr[0], solve_ga[flags], 32, 1e-12);
        JT_ASSERT_ARRAY(gr[1], solve_gb[flags], 24, 1e-12);
        jt_release_arrays(3, in);
        jt_release_arrays(2, gr);
        jx_fn_release(g);
        jx_fn_release(l);
    }
}

/* L L^T gives back the symmetric part of x, on a (3, 5, 5) batch. */
static void reconstruct_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val L = jx_cholesky(in[0]);
    out[0] = jx_matmul(L, jx_transpose(L, JX_INTS(0, 2, 1)));
}

static void test_reconstruct(void) {
    double m[75], x[75];
    pattern(m, 75, 0.5);
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                double s = i == j ? 1 : 0;
                for (int k = 0; k < 5; k++) s += m[b * 25 + i * 5 + k] * m[b * 25 + j * 5 + k];
                x[b * 25 + i * 5 + j] = s;
            }
    jx_array *in[1] = {jt_array(JX_F64, JX_INTS(3, 5, 5), x)};
    jx_array *y = jt_eval1(reconstruct_body, NULL, 1, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    JT_ASSERT_ARRAY(y, x, 75, 1e-13);
    jx_array_release(y);
}

/* f64 finite differences: cholesky on an SPD input built inside (x x^T + 3 I), and
 * triangular_solve with a well-conditioned a (a + 4 I), for every flag combination. */
static void spd_chol_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val s = jx_matmul(in[0], jx_transpose(in[0], JX_INTS(0, 2, 1)));
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(3, 3), 0), jx_iota(JX_I32, JX_INTS(3, 3), 1)), JX_F64);
    out[0] = jx_cholesky(jx_add(s, jx_mul_s(eye, 3.0)));
}

static void cond_solve_body(jx_val *out, const jx_val *in, void *u) {
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(4, 4), 0), jx_iota(JX_I32, JX_INTS(4, 4), 1)), JX_F64);
    jx_val a = jx_add(in[0], jx_mul_s(eye, 4.0));
    out[0] = jx_triangular_solve(a, in[1], *(int *)u);
}

static void test_grads_fd(void) {
    jx_aval c = JX_AVAL(JX_F64, 2, 3, 3);
    CU_ASSERT(jt_check_grads("cholesky", spd_chol_body, NULL, 1, &c, -1, 1, 1e-6));
    for (int flags = 0; flags < 16; flags++) {
        jx_aval av[2] = {JX_AVAL(JX_F64, 2, 4, 4), jx_aval_make(JX_F64, b_shape(flags))};
        CU_ASSERT(jt_check_grads("triangular_solve", cond_solve_body, &flags, 2, av, -1, 1, 1e-6));
    }
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.9 * (double)i + in->lo) + (in->hi > 0 && i % 5 == 0 ? 4 : 0);
}

static void test_vmap(void) {
    jt_vinput c = {JX_AVAL(JX_F64, 2, 3, 3), 1, 0.3, 0};
    CU_ASSERT(jt_check_vmap_avals("cholesky", spd_chol_body, NULL, 1, &c, 1, 3, vfill, 1e-12, NULL));
    static const int64_t axes[3][2] = {{0, JX_NOT_MAPPED}, {JX_NOT_MAPPED, 3}, {2, 1}};
    int flags = JX_SOLVE_LEFT | JX_SOLVE_LOWER;
    for (int k = 0; k < 3; k++) {
        jt_vinput in[2] = {{JX_AVAL(JX_F64, 2, 4, 4), axes[k][0], 0.1, 1}, {JX_AVAL(JX_F64, 2, 4, 3), axes[k][1], 0.7, 0}};
        CU_ASSERT(jt_check_vmap_avals("triangular_solve", solve_body, &flags, 2, in, 1, 3, vfill, 1e-12, NULL));
    }
}

/* x = cho_solve(cholesky(s), b) for s = m m^T + 3 I (u non-NULL: s x, which is b); its
 * derivatives in m and b */
static void cho_body(jx_val *out, const jx_val *in, void *u) {
    jx_val s = jx_matmul(in[0], jx_transpose(in[0], JX_INTS(0, 2, 1)));
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(3, 3), 0), jx_iota(JX_I32, JX_INTS(3, 3), 1)), JX_F64);
    s = jx_add(s, jx_mul_s(eye, 3.0));
    jx_val x = jx_cho_solve(jx_cholesky(s), in[1]);
    out[0] = u ? jx_matmul(s, x) : x;
}

static void test_cho_solve(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 2, 3, 3), JX_AVAL(JX_F64, 2, 3, 2)};
    double mv[18], bv[12];
    pattern(mv, 18, 0.2);
    pattern(bv, 12, 1.7);
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(2, 3, 3), mv), jt_array(JX_F64, JX_INTS(2, 3, 2), bv)};
    int product = 1;
    jx_array *y = jt_eval1(cho_body, &product, 2, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    JT_ASSERT_ARRAY(y, bv, 12, 1e-13);
    jx_array_release(y);
    CU_ASSERT(jt_check_grads("cho_solve", cho_body, NULL, 2, av, -1, 1, 1e-6));
}

/* The text form prints the new attributes and parses back to the same text. */
static void text_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_triangular_solve(jx_cholesky(in[0]), in[1], JX_SOLVE_LEFT | JX_SOLVE_LOWER | JX_SOLVE_UNIT_DIAGONAL);
}

static void test_text(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 3), JX_AVAL(JX_F32, 3, 2)};
    jx_fn *f = jt_trace_or_say("text", text_body, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jt_assert_text_round_trip(f, 2, (const char *[]){"= cholesky ",
                                                     "= triangular_solve[left_side=1 lower=1 transpose_a=0 unit_diagonal=1] "});
    jx_fn_release(f);
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    int flags = *(int *)u;
    err_line = __LINE__ + 1;
    out[0] = flags < 0 ? jx_cholesky(in[1]) : jx_triangular_solve(in[0], in[1], flags);
}

static void test_errors(void) {
    static const struct {
        int flags;
        const char *msg;
    } e[] = {
        {-1, "cholesky: wants square matrices (..., n, n), got f32[2,4,3]"},
        {JX_SOLVE_LEFT, "triangular_solve: b f32[2,4,3] must have 3 rows (a is f32[2,3,3], left side)"},
        {64, "triangular_solve: unknown flags 0x40"},
    };
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3, 3), JX_AVAL(JX_F32, 2, 4, 3)};
    for (size_t k = 0; k < sizeof e / sizeof *e; k++)
        jt_assert_trace_fails(err_body, (void *)&e[k].flags, 2, av, e[k].msg, __FILE__, &err_line);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"cholesky vs JAX", test_cholesky},
        {"triangular_solve, 16 flag combinations, vs JAX", test_triangular_solve},
        {"L L^T = x", test_reconstruct},
        {"cho_solve", test_cho_solve},
        {"text form", test_text},
        {"jvp/vjp vs finite differences", test_grads_fd},
        {"vmap vs a loop", test_vmap},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("lapack", tests);
}
