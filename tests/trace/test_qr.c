/* test_qr.c: qr (reduced; tall, square and wide batches) against JAX (ref/qr_ref.h, made
 * by ref/qr_ref.py): q, r and the gradient, q r = a and q^T q = I, jvp/vjp against finite
 * differences in f64 (wide too: JAX 0.10 differentiates it), vmap against a loop, and
 * errors naming the shape. */
#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/qr_ref.h"

static jx_array *input(jx_dtype t, jx_ints shape) {
    double v[40];
    int64_t n = shape.v[0] * shape.v[1] * shape.v[2];
    for (int64_t k = 0; k < n; k++) v[k] = sin(0.37 * (double)k + 0.4) + cos(0.61 * (double)(k * k));
    return jt_array(t, shape, v);
}

static void qr_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_qr(in[0], &out[0], &out[1]);
}

static void qr_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val q, r;
    jx_qr(in[0], &q, &r);
    out[0] = jx_add(jx_reduce_sum(jx_mul(q, in[1]), JX_NOINTS), jx_reduce_sum(jx_mul(r, in[2]), JX_NOINTS));
}

/* q r - a and q^T q - I */
static void resid_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val q, r;
    jx_qr(in[0], &q, &r);
    out[0] = jx_sub(jx_matmul(q, r), in[0]);
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(3, 3), 0), jx_iota(JX_I32, JX_INTS(3, 3), 1)), JX_F64);
    out[1] = jx_sub(jx_matmul(jx_transpose(q, JX_INTS(0, 2, 1)), q), eye);
}

static void test_vs_jax(void) {
    static const int64_t shapes[3][3] = {{2, 5, 3}, {2, 4, 4}, {2, 3, 5}};
    const double *qs[3] = {qr_tall_q, qr_sq_q, qr_wide_q}, *rs[3] = {qr_tall_r, qr_sq_r, qr_wide_r};
    const double *gs[3] = {qr_tall_g, qr_sq_g, qr_wide_g};
    for (int s = 0; s < 3; s++) {
        jx_ints sh = {shapes[s], 3};
        int64_t k = sh.v[1] < sh.v[2] ? sh.v[1] : sh.v[2];
        jx_ints qsh = JX_INTS(2, sh.v[1], k), rsh = JX_INTS(2, k, sh.v[2]);
        int n = (int)(sh.v[0] * sh.v[1] * sh.v[2]), nq = (int)(2 * sh.v[1] * k), nr = (int)(2 * k * sh.v[2]);
        for (int f = 0; f < 2; f++) {
            jx_aval av = jx_aval_make(f ? JX_F32 : JX_F64, sh);
            jx_fn *fn = jt_trace_or_say("qr", qr_body, NULL, 1, &av, 2);
            CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
            jx_array *in[1] = {input(av.dtype, sh)}, *y[2] = {0};
            CU_ASSERT_EQUAL_FATAL(jt_eval(fn, 1, in, 2, y), JX_OK);
            jx_aval qa = jx_array_aval(y[0]), ra = jx_array_aval(y[1]);
            CU_ASSERT(qa.rank == 3 && qa.shape[1] == qsh.v[1] && qa.shape[2] == k);
            CU_ASSERT(ra.rank == 3 && ra.shape[1] == k && ra.shape[2] == rsh.v[2]);
            JT_ASSERT_ARRAY(y[0], qs[s], nq, f ? 2e-5 : 1e-13);
            JT_ASSERT_ARRAY(y[1], rs[s], nr, f ? 2e-5 : 1e-13);
            jt_release_arrays(2, y);
            jt_release_arrays(1, in);
            jx_fn_release(fn);
        }
        double cq[40], cr[32];
        for (int i = 0; i < 40; i++) cq[i] = cos(0.3 * i);
        for (int i = 0; i < 32; i++) cr[i] = sin(0.7 * i);
        jx_aval av[3] = {jx_aval_make(JX_F64, sh), jx_aval_make(JX_F64, qsh), jx_aval_make(JX_F64, rsh)};
        jx_fn *l = jt_trace_or_say("qr loss", qr_loss, NULL, 3, av, 1), *g = l ? jx_grad(l, JX_NOINTS) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *in[3] = {input(JX_F64, sh), jt_array(JX_F64, qsh, cq), jt_array(JX_F64, rsh, cr)}, *gx = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 1, &gx), JX_OK);
        JT_ASSERT_ARRAY(gx, gs[s], n, 1e-11);
        jt_release_arrays(3, in);
        jx_array_release(gx);
        jx_fn_release(g);
        jx_fn_release(l);
    }
}

/* q (u NULL) or r alone, for the one-output finite-difference check */
static void qr_one(jx_val *out, const jx_val *in, void *u) {
    jx_val y[2];
    jx_qr(in[0], &y[0], &y[1]);
    out[0] = y[u ? 1 : 0];
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.9 * (double)i + in->lo) + cos(0.61 * (double)(i * i));
}

static void test_checks(void) {
    jx_aval av = JX_AVAL(JX_F64, 2, 5, 3);
    jx_fn *f = jt_trace_or_say("qr residuals", resid_body, NULL, 1, &av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[1] = {input(JX_F64, JX_INTS(2, 5, 3))}, *y[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 2, y), JX_OK);
    CU_ASSERT(jt_max_err(y[0], (double[30]){0}, 30) <= 1e-13);
    CU_ASSERT(jt_max_err(y[1], (double[18]){0}, 18) <= 1e-13);
    jt_release_arrays(2, y);
    jt_release_arrays(1, in);
    jx_fn_release(f);
    int one = 1;
    CU_ASSERT(jt_check_grads("qr q", qr_one, NULL, 1, &av, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("qr r", qr_one, &one, 1, &av, -1, 1, 1e-6));
    jx_aval wide = JX_AVAL(JX_F64, 2, 3, 5);
    CU_ASSERT(jt_check_grads("wide qr q", qr_one, NULL, 1, &wide, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("wide qr r", qr_one, &one, 1, &wide, -1, 1, 1e-6));
    f = jt_trace_or_say("wide qr residuals", resid_body, NULL, 1, &wide, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    in[0] = input(JX_F64, JX_INTS(2, 3, 5));
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 2, y), JX_OK);
    CU_ASSERT(jt_max_err(y[0], (double[30]){0}, 30) <= 1e-13);
    CU_ASSERT(jt_max_err(y[1], (double[18]){0}, 18) <= 1e-13);
    jt_release_arrays(2, y);
    jt_release_arrays(1, in);
    jx_fn_release(f);
    jt_vinput v = {JX_AVAL(JX_F64, 2, 4, 3), 1, 0.3, 0}, vw = {JX_AVAL(JX_F64, 2, 3, 4), 2, 0.3, 0};
    CU_ASSERT(jt_check_vmap_avals("qr", qr_body, NULL, 1, &v, 2, 3, vfill, 1e-12, NULL));
    CU_ASSERT(jt_check_vmap_avals("wide qr", qr_body, NULL, 1, &vw, 2, 3, vfill, 1e-12, NULL));
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val r;
    err_line = __LINE__ + 1;
    jx_qr(in[0], &out[0], &r);
}

static void test_errors(void) {
    jx_aval av = JX_AVAL(JX_F32, 4), iv = JX_AVAL(JX_I32, 3, 4);
    jt_assert_trace_fails(err_body, NULL, 1, &av, "qr: wants matrices (..., m, n), got f32[4]", __FILE__, &err_line);
    jt_assert_trace_fails(err_body, NULL, 1, &iv, "qr: wants f32 or f64, got i32[3,4]", __FILE__, &err_line);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"q, r and gradients vs JAX", test_vs_jax},
        {"q r = a, q^T q = I, finite differences, vmap", test_checks},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("qr", tests);
}
