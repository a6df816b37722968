/* test_eigh.c: eigh against JAX (ref/eigh_ref.h, made by ref/eigh_ref.py): eigenvalues,
 * |v|^2 (free of v's signs) and the gradients through w and v^2, x v = v diag(w) and
 * v^T v = I, jvp/vjp against finite differences in f64, vmap against a loop, and an
 * error naming the shape and the line. */
#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/eigh_ref.h"

static jx_array *input(jx_dtype t) {
    double v[32];
    for (int k = 0; k < 32; k++) v[k] = sin(0.37 * k + 0.4) + cos(0.61 * k * k);
    return jt_array(t, JX_INTS(2, 4, 4), v);
}

/* kind 0: w; 1: v^2; 2: x v - v diag(w) and v^T v - I (of the symmetric part of x) */
static void eigh_body(jx_val *out, const jx_val *in, void *u) {
    int kind = *(int *)u;
    jx_val v, w;
    jx_eigh(in[0], &v, &w);
    if (kind == 0) out[0] = w;
    if (kind == 1) out[0] = jx_mul(v, v);
    if (kind == 2) {
        jx_val s = jx_mul_s(jx_add(in[0], jx_transpose(in[0], JX_INTS(0, 2, 1))), 0.5);
        out[0] = jx_sub(jx_matmul(s, v), jx_mul(v, jx_expand_dims(w, JX_INTS(1))));
        jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(4, 4), 0), jx_iota(JX_I32, JX_INTS(4, 4), 1)), JX_F64);
        out[1] = jx_sub(jx_matmul(jx_transpose(v, JX_INTS(0, 2, 1)), v), eye);
    }
}

static void eigh_loss(jx_val *out, const jx_val *in, void *u) {
    jx_val y;
    eigh_body(&y, in, u);
    out[0] = jx_reduce_sum(jx_mul(y, in[1]), JX_NOINTS);
}

static void test_vs_jax(void) {
    const double *want[2] = {eigh_w, eigh_v2}, *grads[2] = {eigh_gw, eigh_gv};
    const int n[2] = {8, 32};
    for (int kind = 0; kind < 2; kind++) {
        for (int f = 0; f < 2; f++) {
            jx_array *in[1] = {input(f ? JX_F32 : JX_F64)};
            jx_array *y = jt_eval1(eigh_body, &kind, 1, in);
            CU_ASSERT_PTR_NOT_NULL_FATAL(y);
            JT_ASSERT_ARRAY(y, want[kind], n[kind], f ? 2e-5 : 1e-12);
            jx_array_release(y); /* jt_eval1 released in */
        }
        jx_aval av[2] = {JX_AVAL(JX_F64, 2, 4, 4), kind ? JX_AVAL(JX_F64, 2, 4, 4) : JX_AVAL(JX_F64, 2, 4)};
        jx_fn *l = jt_trace_or_say("eigh loss", eigh_loss, &kind, 2, av, 1), *g = l ? jx_grad(l, JX_NOINTS) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        double c[32];
        for (int k = 0; k < 32; k++) c[k] = cos(0.3 * k);
        jx_array *in[2] = {input(JX_F64), jt_array(JX_F64, kind ? JX_INTS(2, 4, 4) : JX_INTS(2, 4), c)}, *gx = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 1, &gx), JX_OK);
        JT_ASSERT_ARRAY(gx, grads[kind], 32, 1e-10);
        jt_release_arrays(2, in);
        jx_array_release(gx);
        jx_fn_release(g);
        jx_fn_release(l);
    }
}

static void test_residuals(void) {
    int kind = 2;
    jx_aval av = JX_AVAL(JX_F64, 2, 4, 4);
    jx_fn *f = jt_trace_or_say("eigh residuals", eigh_body, &kind, 1, &av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[1] = {input(JX_F64)}, *y[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, in, 2, y), JX_OK);
    CU_ASSERT(jt_max_err(y[0], (double[32]){0}, 32) <= 1e-13);
    CU_ASSERT(jt_max_err(y[1], (double[32]){0}, 32) <= 1e-13);
    jt_release_arrays(2, y);
    jt_release_arrays(1, in);
    jx_fn_release(f);
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.9 * (double)i + in->lo) + cos(0.61 * (double)(i * i));
}

static void test_grads_vmap(void) {
    jx_aval av = JX_AVAL(JX_F64, 2, 3, 3);
    for (int kind = 0; kind < 2; kind++) {
        CU_ASSERT(jt_check_grads("eigh", eigh_body, &kind, 1, &av, -1, 1, 1e-6));
        jt_vinput v = {JX_AVAL(JX_F64, 2, 3, 3), 2, 0.3, 0};
        CU_ASSERT(jt_check_vmap_avals("eigh", eigh_body, &kind, 1, &v, 1, 3, vfill, 1e-12, NULL));
    }
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val w;
    err_line = __LINE__ + 1;
    jx_eigh(in[0], &out[0], &w);
}

static void test_errors(void) {
    jx_aval av = JX_AVAL(JX_F32, 2, 3, 4);
    jt_assert_trace_fails(err_body, NULL, 1, &av, "eigh: wants square matrices (..., n, n), got f32[2,3,4]", __FILE__,
                          &err_line);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"w, v^2 and gradients vs JAX", test_vs_jax},
        {"x v = v diag(w), v^T v = I", test_residuals},
        {"jvp/vjp vs finite differences, vmap vs a loop", test_grads_vmap},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("eigh", tests);
}
