/* test_grad_core.c: the grad machinery end to end on a few primitives: jvp against
 * finite differences, vjp against jvp, grad of known functions, higher orders, errors. */
#include "gradcheck.h"

/* f(x, y) = sin(x) * y - cos(x * y) + x */
static void f_trig(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val p = jx_mul(jx_sin(in[0]), in[1]);
    out[0] = jx_add(jx_sub(p, jx_cos(jx_mul(in[0], in[1]))), in[0]);
}

static void test_checks_trig(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 3, 4), JX_AVAL(JX_F64, 3, 4)};
    CU_ASSERT(jt_check_grads("trig", f_trig, NULL, 2, a, -2, 2, 1e-6));
}

/* g(x) = sum(x * x * 3.0) with a literal: d/dx = 6x */
static void f_sumsq(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_mul(in[0], in[0]), jx_scalar(JX_F64, 3.0)), JX_NOINTS);
}

static void test_grad_sumsq(void) {
    jx_aval a = JX_AVAL(JX_F64, 4);
    jx_fn *f = jx_trace("sumsq", f_sumsq, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_NOINTS);
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[4] = {1, -2, 0.5, 3}, want[4] = {6, -12, 3, 18};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(4), xv), *gx = NULL;
    CU_ASSERT_EQUAL(jt_eval(g, 1, &x, 1, &gx), JX_OK);
    JT_ASSERT_ARRAY(gx, want, 4, 1e-15);
    jx_array_release(x);
    jx_array_release(gx);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* Third derivative of sin at x is -cos(x): grad(grad(grad(sin))). */
static void f_sin(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
}

static void test_third_derivative(void) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *f = jx_trace("sin", f_sin, NULL, 1, &a, 1);
    jx_fn *g1 = jx_grad(f, JX_NOINTS), *g2 = jx_grad(g1, JX_NOINTS), *g3 = jx_grad(g2, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g3);
    for (double xv = -2; xv <= 2; xv += 0.5) {
        jx_array *x = jx_array_scalar(JX_F64, xv), *y = NULL;
        CU_ASSERT_EQUAL(jt_eval(g3, 1, &x, 1, &y), JX_OK);
        double want = -cos(xv);
        JT_ASSERT_ARRAY(y, &want, 1, 1e-14);
        jx_array_release(x);
        jx_array_release(y);
    }
    jx_fn_release(g3);
    jx_fn_release(g2);
    jx_fn_release(g1);
    jx_fn_release(f);
}

static void f_vec(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
    out[1] = jx_reduce_sum(in[1], JX_NOINTS);
}

static void test_grad_errors(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_I32, 3)};
    jx_fn *f = jx_trace("vec", f_vec, NULL, 2, a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int line = __LINE__ + 1;
    jx_fn *g = jx_grad(f, JX_NOINTS);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_SHAPE);
    JT_ASSERT_ERR("grad: output 0 of 'vec' is f64[3]: it must be a f32 or f64 scalar");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn_release(f);
    jx_aval b[2] = {JX_SCALAR(JX_F64), JX_AVAL(JX_I32, 3)};
    f = jx_trace("sc", f_vec, NULL, 2, b, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    g = jx_grad(f, JX_INTS(1));
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_DTYPE);
    JT_ASSERT_ERR("input 1 of 'sc' is i32[3]: only f32 and f64 inputs can be differentiated");
    g = jx_grad(f, JX_INTS(2));
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("argnum 2 is out of range: 'sc' has 2 inputs");
    jx_fn_release(f);
}

/* value_and_grad with an auxiliary output passed through. */
static void f_aux(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(in[0], in[1]), JX_NOINTS);
    out[1] = jx_neg(in[0]);
}

static void test_value_and_grad_aux(void) {
    jx_aval a[2] = {JX_AVAL(JX_F32, 2), JX_AVAL(JX_F32, 2)};
    jx_fn *f = jx_trace("aux", f_aux, NULL, 2, a, 2);
    jx_fn *g = jx_value_and_grad(f, JX_INTS(0, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(g), 4);
    float xv[2] = {1, 2}, yv[2] = {3, 4};
    jx_array *in[2] = {jx_array_new(JX_F32, JX_INTS(2), xv), jx_array_new(JX_F32, JX_INTS(2), yv)}, *o[4] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 4, o), JX_OK);
    double v = 11, aux[2] = {-1, -2}, gx[2] = {3, 4}, gy[2] = {1, 2};
    JT_ASSERT_ARRAY(o[0], &v, 1, 0);
    JT_ASSERT_ARRAY(o[1], aux, 2, 0);
    JT_ASSERT_ARRAY(o[2], gx, 2, 0);
    JT_ASSERT_ARRAY(o[3], gy, 2, 0);
    for (int i = 0; i < 4; i++) jx_array_release(o[i]);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* linearize: the known part runs f once; the linear part maps many tangents. */
static void f_sinx(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), in[0]);
    out[1] = jx_convert(in[0], JX_I32); /* an output with no derivative */
}

static void test_linearize(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    jx_fn *f = jx_trace("sinx", f_sinx, NULL, 1, &a, 2), *lin = NULL;
    jx_fn *known = jx_linearize(f, &lin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(known);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lin);
    int nr = jx_fn_num_outputs(known) - 2;
    CU_ASSERT(nr >= 1);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(lin), nr + 1);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(lin), 2);
    double xv[3] = {0.5, -1, 2};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(3), xv), *ko[8] = {0}, *li[8] = {0}, *lo[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(known, 1, &x, 2 + nr, ko), JX_OK);
    double y[3], dy[3];
    for (int i = 0; i < 3; i++) y[i] = sin(xv[i]) * xv[i];
    JT_ASSERT_ARRAY(ko[0], y, 3, 1e-15);
    for (int k = 0; k < 2; k++) { /* two tangents through one linearization */
        double dxv[3] = {1.0 + k, -0.5, 3.0 * k};
        for (int i = 0; i < 3; i++) dy[i] = (cos(xv[i]) * xv[i] + sin(xv[i])) * dxv[i];
        for (int r = 0; r < nr; r++) li[r] = ko[2 + r];
        li[nr] = jx_array_new(JX_F64, JX_INTS(3), dxv);
        CU_ASSERT_EQUAL_FATAL(jt_eval(lin, nr + 1, li, 2, lo), JX_OK);
        JT_ASSERT_ARRAY(lo[0], dy, 3, 1e-15);
        double zero[3] = {0, 0, 0};
        JT_ASSERT_ARRAY(lo[1], zero, 3, 0);
        jx_array_release(li[nr]);
        jx_array_release(lo[0]);
        jx_array_release(lo[1]);
    }
    for (int i = 0; i < 2 + nr; i++) jx_array_release(ko[i]);
    jx_array_release(x);
    jx_fn_release(lin);
    jx_fn_release(known);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"jvp and vjp of a trig expression", test_checks_trig},
        {"grad of a sum of squares", test_grad_sumsq},
        {"third derivative of sin", test_third_derivative},
        {"grad errors name the function and shape", test_grad_errors},
        {"value_and_grad with aux outputs", test_value_and_grad_aux},
        {"linearize: one known pass, many tangents", test_linearize},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad core", tests);
}
