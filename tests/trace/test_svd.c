/* test_svd.c: svd (tall, wide and square batches) against JAX (ref/svd_ref.h, made by
 * ref/svd_ref.py): the singular values, u^2 and vt^2 (free of the vectors' signs) and
 * the gradients of sum(s * cs) and of sum(u^2 * cu) + sum(vt^2 * cv); u diag(s) vt = a
 * and orthonormal u, vt with and without full_matrices; jvp/vjp against finite
 * differences in f64, the second derivative of sum(s) against finite differences, vmap
 * against a loop, empty and NaN matrices, and errors naming the shape and the line. */
#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/svd_ref.h"

static jx_array *input(jx_dtype t, jx_ints shape) {
    double v[40];
    int64_t n = shape.v[0] * shape.v[1] * shape.v[2];
    for (int64_t k = 0; k < n; k++) v[k] = sin(0.37 * (double)k + 0.4) + cos(0.61 * (double)(k * k));
    return jt_array(t, shape, v);
}

static jx_array *pattern(jx_ints shape, double (*f)(double), double c) {
    double v[40];
    int64_t n = 1;
    for (int d = 0; d < shape.n; d++) n *= shape.v[d];
    for (int64_t k = 0; k < n; k++) v[k] = f(c * (double)k);
    return jt_array(JX_F64, shape, v);
}

/* kind 0: s, u^2, vt^2; 1: sum(s * in[1]) through compute_uv = 0; 2: sum(u^2 * in[1]) +
 * sum(vt^2 * in[2]) */
static void svd_body(jx_val *out, const jx_val *in, void *u) {
    int kind = *(int *)u;
    jx_val uu, s, vt;
    if (kind == 1) {
        jx_svd(in[0], 0, 0, NULL, &s, NULL);
        out[0] = jx_reduce_sum(jx_mul(s, in[1]), JX_NOINTS);
        return;
    }
    jx_svd(in[0], 0, 1, &uu, &s, &vt);
    if (kind == 0) out[0] = s, out[1] = jx_mul(uu, uu), out[2] = jx_mul(vt, vt);
    else out[0] = jx_add(jx_reduce_sum(jx_mul(jx_mul(uu, uu), in[1]), JX_NOINTS),
                         jx_reduce_sum(jx_mul(jx_mul(vt, vt), in[2]), JX_NOINTS));
}

static void test_vs_jax(void) {
    static const int64_t shapes[3][3] = {{2, 5, 3}, {2, 3, 5}, {2, 4, 4}};
    const double *want[3][5] = {{svd_tall_s, svd_tall_u2, svd_tall_vt2, svd_tall_gs, svd_tall_guv},
                                {svd_wide_s, svd_wide_u2, svd_wide_vt2, svd_wide_gs, svd_wide_guv},
                                {svd_sq_s, svd_sq_u2, svd_sq_vt2, svd_sq_gs, svd_sq_guv}};
    for (int c = 0; c < 3; c++) {
        jx_ints sh = {shapes[c], 3};
        int64_t m = sh.v[1], n = sh.v[2], k = m < n ? m : n;
        jx_ints ssh = JX_INTS(2, k), ush = JX_INTS(2, m, k), vsh = JX_INTS(2, k, n);
        int len[3] = {(int)(2 * k), (int)(2 * m * k), (int)(2 * k * n)}, nx = (int)(2 * m * n);
        for (int f = 0; f < 2; f++) {
            int kind = 0;
            jx_aval av = jx_aval_make(f ? JX_F32 : JX_F64, sh);
            jx_fn *fn = jt_trace_or_say("svd", svd_body, &kind, 1, &av, 3);
            CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
            jx_array *in[1] = {input(av.dtype, sh)}, *y[3] = {0};
            CU_ASSERT_EQUAL_FATAL(jt_eval(fn, 1, in, 3, y), JX_OK);
            for (int i = 0; i < 3; i++) JT_ASSERT_ARRAY(y[i], want[c][i], len[i], f ? 2e-5 : 1e-12);
            jt_release_arrays(3, y);
            jt_release_arrays(1, in);
            jx_fn_release(fn);
        }
        for (int kind = 1; kind < 3; kind++) {
            jx_aval av[3] = {jx_aval_make(JX_F64, sh), jx_aval_make(JX_F64, kind == 1 ? ssh : ush),
                             jx_aval_make(JX_F64, vsh)};
            int nin = kind == 1 ? 2 : 3;
            jx_fn *l = jt_trace_or_say("svd loss", svd_body, &kind, nin, av, 1), *g = l ? jx_grad(l, JX_NOINTS) : NULL;
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            jx_array *in[3] = {input(JX_F64, sh), kind == 1 ? pattern(ssh, cos, 0.3) : pattern(ush, sin, 0.7),
                               pattern(vsh, cos, 0.45)}, *gx = NULL;
            CU_ASSERT_EQUAL_FATAL(jt_eval(g, nin, in, 1, &gx), JX_OK);
            JT_ASSERT_ARRAY(gx, want[c][2 + kind], nx, 1e-10);
            jt_release_arrays(3, in);
            jx_array_release(gx);
            jx_fn_release(g);
            jx_fn_release(l);
        }
    }
}

/* u diag(s) vt - a (u, vt cut to k columns, rows when full), u^T u - I and vt vt^T - I */
static void resid_body(jx_val *out, const jx_val *in, void *user) {
    int full = *(int *)user;
    jx_val u, s, vt;
    jx_svd(in[0], full, 1, &u, &s, &vt);
    int64_t m = jx_dim(in[0], 1), n = jx_dim(in[0], 2), k = m < n ? m : n;
    jx_val uk = jx_slice(u, JX_INTS(0, 0, 0), JX_INTS(2, m, k), JX_INTS(1, 1, 1));
    jx_val vk = jx_slice(vt, JX_INTS(0, 0, 0), JX_INTS(2, k, n), JX_INTS(1, 1, 1));
    out[0] = jx_sub(jx_matmul(jx_mul(uk, jx_expand_dims(s, JX_INTS(1))), vk), in[0]);
    jx_val ut = jx_transpose(u, JX_INTS(0, 2, 1)), v = jx_transpose(vt, JX_INTS(0, 2, 1));
    jx_ints su = JX_INTS(jx_dim(u, 2), jx_dim(u, 2)), sv = JX_INTS(jx_dim(vt, 1), jx_dim(vt, 1));
    out[1] = jx_sub(jx_matmul(ut, u), jx_convert(jx_eq(jx_iota(JX_I32, su, 0), jx_iota(JX_I32, su, 1)), JX_F64));
    out[2] = jx_sub(jx_matmul(vt, v), jx_convert(jx_eq(jx_iota(JX_I32, sv, 0), jx_iota(JX_I32, sv, 1)), JX_F64));
}

static void test_residuals(void) {
    static const int64_t shapes[3][3] = {{2, 5, 3}, {2, 3, 5}, {2, 4, 4}};
    for (int c = 0; c < 3; c++)
        for (int full = 0; full < 2; full++) {
            jx_ints sh = {shapes[c], 3};
            jx_aval av = jx_aval_make(JX_F64, sh);
            jx_fn *f = jt_trace_or_say("svd residuals", resid_body, &full, 1, &av, 3);
            CU_ASSERT_PTR_NOT_NULL_FATAL(f);
            jx_array *in[1] = {input(JX_F64, sh)}, *y[3] = {0};
            CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 3, y), JX_OK);
            for (int i = 0; i < 3; i++) {
                jx_aval a = jx_array_aval(y[i]);
                int64_t m = sh.v[1], n = sh.v[2], k = m < n ? m : n;
                int64_t want = i == 0 ? n : i == 1 ? (full ? m : k) : (full ? n : k);
                CU_ASSERT(a.shape[2] == want);
                CU_ASSERT(jt_max_err(y[i], (double[50]){0}, (int)(a.shape[0] * a.shape[1] * a.shape[2])) <= 1e-13);
            }
            jt_release_arrays(3, y);
            jt_release_arrays(1, in);
            jx_fn_release(f);
        }
}

/* one output for the finite-difference checks: 0 s, 1 u^2, 2 vt^2, 3 sum(s) */
static void svd_one(jx_val *out, const jx_val *in, void *user) {
    int which = *(int *)user, kind = 0;
    jx_val y[3];
    svd_body(y, in, &kind);
    out[0] = which == 3 ? jx_reduce_sum(y[0], JX_NOINTS) : y[which];
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.9 * (double)i + in->lo) + cos(0.61 * (double)(i * i));
}

static void sum_s_grad(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val s;
    jx_svd(in[0], 0, 0, NULL, &s, NULL);
    out[0] = jx_reduce_sum(s, JX_NOINTS);
}

static void test_grads_vmap(void) {
    static const int64_t shapes[3][3] = {{2, 4, 3}, {2, 3, 4}, {2, 3, 3}};
    for (int c = 0; c < 3; c++) {
        jx_aval av = jx_aval_make(JX_F64, (jx_ints){shapes[c], 3});
        for (int which = 0; which < 3; which++)
            CU_ASSERT(jt_check_grads("svd", svd_one, &which, 1, &av, -1, 1, 1e-6));
        int kind = 0;
        jt_vinput v = {av, c, 0.3, 0};
        CU_ASSERT(jt_check_vmap_avals("svd", svd_body, &kind, 1, &v, 3, 3, vfill, 1e-12, NULL));
    }
    /* second order: the jvp of grad sum(s) (= u vt) against its finite differences */
    jx_aval av = JX_AVAL(JX_F64, 3, 2);
    jx_fn *f = jt_trace_or_say("sum s", sum_s_grad, NULL, 1, &av, 1), *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *x[1] = {jt_array(JX_F64, JX_INTS(3, 2), (double[]){0.3, -1.2, 0.8, 0.5, -0.4, 1.1})};
    double err = jt_jvp_error(g, x, 1e-6, 7);
    if (!(err <= 1e-6)) printf("\n  second order of sum(s): error %g\n", err);
    CU_ASSERT(err <= 1e-6);
    jt_release_arrays(1, x);
    jx_fn_release(g);
    jx_fn_release(f);
}

static void full_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_svd(in[0], 1, 1, &out[0], &out[1], &out[2]);
}

/* an empty matrix (JAX: full u and vt are identities) and a NaN one (gesdd refuses it:
 * NaNs, like JAX) */
static void test_edges(void) {
    jx_aval av = JX_AVAL(JX_F64, 2, 0);
    jx_fn *f = jt_trace_or_say("empty svd", full_body, NULL, 1, &av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[1] = {jt_array(JX_F64, JX_INTS(2, 0), NULL)}, *y[3] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 3, y), JX_OK);
    jt_check_array(__LINE__, y[0], JX_F64, JX_INTS(2, 2), (double[]){1, 0, 0, 1}, 0); /* u; releases it */
    CU_ASSERT_EQUAL(jx_array_aval(y[1]).shape[0], 0);
    CU_ASSERT_EQUAL(jx_array_aval(y[2]).shape[0], 0);
    jx_array_release(y[1]);
    jx_array_release(y[2]);
    jx_array_release(in[0]);
    jx_fn_release(f);
    av = JX_AVAL(JX_F32, 2, 2);
    f = jt_trace_or_say("nan svd", full_body, NULL, 1, &av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    in[0] = jt_array(JX_F32, JX_INTS(2, 2), (double[]){1, NAN, 0, 2});
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 3, y), JX_OK);
    jt_check_array(__LINE__, y[1], JX_F32, JX_INTS(2), (double[]){NAN, NAN}, 0);
    jt_check_array(__LINE__, y[0], JX_F32, JX_INTS(2, 2), (double[]){NAN, NAN, NAN, NAN}, 0);
    jx_array_release(y[2]);
    jx_array_release(in[0]);
    jx_fn_release(f);
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    int full = *(int *)u;
    jx_val s, vt;
    err_line = __LINE__ + 1;
    jx_svd(in[0], full, 1, &out[0], &s, &vt);
}

static void full_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val uu, s, vt;
    err_line = __LINE__ + 1;
    jx_svd(in[0], 1, 1, &uu, &s, &vt);
    out[0] = jx_reduce_sum(jx_mul(uu, uu), JX_NOINTS);
}

static void test_errors(void) {
    int full = 0;
    jx_aval av = JX_AVAL(JX_F32, 4), iv = JX_AVAL(JX_I32, 3, 4);
    jt_assert_trace_fails(err_body, &full, 1, &av, "svd: wants matrices (..., m, n), got f32[4]",
                          __FILE__, &err_line);
    jt_assert_trace_fails(err_body, &full, 1, &iv, "svd: wants f32 or f64, got i32[3,4]", __FILE__, &err_line);
    /* JAX: "Singular value decomposition JVP not implemented for full matrices" */
    jx_aval wide = JX_AVAL(JX_F64, 2, 3);
    jx_fn *l = jt_trace_or_say("full svd", full_loss, NULL, 1, &wide, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    jx_fn *g = jx_grad(l, JX_NOINTS);
    CU_ASSERT_PTR_NULL(g);
    const char *want = "svd: jvp of u and vt with full_matrices is not implemented for non-square f64[2,3] (as in JAX)";
    if (!strstr(jx_errmsg(), want)) printf("\n  got: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), want));
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), jt_place(__FILE__, err_line)));
    jx_fn_release(g);
    jx_fn_release(l);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"s, u^2, vt^2 and gradients vs JAX", test_vs_jax},
        {"u diag(s) vt = a, orthonormal u and vt (reduced and full)", test_residuals},
        {"jvp/vjp vs finite differences, second order, vmap vs a loop", test_grads_vmap},
        {"empty and NaN matrices", test_edges},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("svd", tests);
}
