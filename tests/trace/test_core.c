/* test_core.c: the tracer itself: avals, values, errors with the caller's line. */
#include "harness.h"

static void identity(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0];
}

static void test_trace_identity(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3);
    jx_fn *f = jx_trace("id", identity, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(f), 1);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(f), 1);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 0);
    jx_aval o = jx_fn_output_aval(f, 0);
    CU_ASSERT(jx_aval_equal(&o, &a));
    jx_array *x = jx_array_arange(JX_F32, 0, 6, 1);
    CU_ASSERT_PTR_NULL(NULL);
    jx_array *xr = jx_array_new(JX_F32, JX_INTS(2, 3), jx_array_data(x));
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jt_eval(f, 1, &xr, 1, &y), JX_OK);
    double want[6] = {0, 1, 2, 3, 4, 5};
    JT_ASSERT_ARRAY(y, want, 6, 0);
    jx_array_release(x);
    jx_array_release(xr);
    jx_array_release(y);
    jx_fn_release(f);
}

static int unset_line;
static void leaves_output_unset(jx_val *out, const jx_val *in, void *user) {
    (void)out; (void)in; (void)user;
}

static void test_unset_output(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    unset_line = __LINE__ + 1;
    jx_fn *f = jx_trace("unset", leaves_output_unset, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TRACE);
    JT_ASSERT_ERR("output 0 was not set");
    JT_ASSERT_ERR(jt_place(__FILE__, unset_line));
}

static void test_eval_bad_input(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3);
    jx_fn *f = jx_trace("id", identity, NULL, 1, &a, 1);
    jx_array *x = jx_array_zeros(JX_F32, JX_INTS(3, 2));
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jt_eval(f, 1, &x, 1, &y), JX_ERR_SHAPE);
    JT_ASSERT_ERR("input 0 of 'id': expected f32[2,3], got f32[3,2]");
    CU_ASSERT_PTR_NULL(y);
    jx_array_release(x);
    jx_fn_release(f);
}

static void test_status_names(void) {
    CU_ASSERT_STRING_EQUAL(jx_status_name(JX_ERR_SHAPE), "JX_ERR_SHAPE");
    CU_ASSERT_STRING_EQUAL(jx_status_message(JX_ERR_DTYPE), "dtype mismatch");
    CU_ASSERT_STRING_EQUAL(jx_dtype_name(JX_BF16), "bf16");
    CU_ASSERT_EQUAL(jx_dtype_size(JX_I64), 8);
}

static void test_f16_roundtrip(void) {
    CU_ASSERT_EQUAL(jx_f32_to_f16(1.0f), 0x3c00);
    CU_ASSERT_EQUAL(jx_f32_to_f16(-2.0f), 0xc000);
    CU_ASSERT_EQUAL(jx_f32_to_f16(65504.0f), 0x7bff);
    CU_ASSERT_EQUAL(jx_f32_to_f16(70000.0f), 0x7c00);
    CU_ASSERT_EQUAL(jx_f32_to_f16(5.9604645e-08f), 0x0001);
    CU_ASSERT_EQUAL(jx_f16_to_f32(0x3555), 0.333251953125f);
    CU_ASSERT_EQUAL(jx_f32_to_bf16(1.0f), 0x3f80);
    CU_ASSERT_EQUAL(jx_bf16_to_f32(0x4049), 3.140625f);
    CU_ASSERT(isnan(jx_f16_to_f32(jx_f32_to_f16(NAN))));
}

/* An integer scalar must fit its dtype (JAX raises OverflowError for jnp.uint8(300)):
 * the error names the value, the dtype, its range and the caller's line; a fraction
 * truncates, and each dtype's extremes fit. */
static int scalar_line;
static void bad_scalar(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    const double *v = user;
    scalar_line = __LINE__ + 1;
    out[0] = jx_scalar((jx_dtype)v[0], v[1]);
}

static void test_scalar_range(void) {
    struct {
        jx_dtype t;
        double v;
        const char *msg;
    } bad[] = {
        {JX_U8, 300, "scalar: 300 is out of range for u8 [0, 255]"},
        {JX_U8, -1, "scalar: -1 is out of range for u8 [0, 255]"},
        {JX_I32, 1e30, "scalar: 1e+30 is out of range for i32 [-2147483648, 2147483647]"},
        {JX_I64, -1e300, "out of range for i64 [-9223372036854775808, 9223372036854775807]"},
        {JX_U32, NAN, "scalar: nan is out of range for u32 [0, 4294967295]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double u[2] = {bad[i].t, bad[i].v};
        jx_fn *f = jx_trace("bad", bad_scalar, u, 0, NULL, 1);
        CU_ASSERT_PTR_NULL(f);
        CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
        JT_ASSERT_ERR(bad[i].msg);
        JT_ASSERT_ERR(jt_place(__FILE__, scalar_line));
    }
    struct {
        jx_dtype t;
        double v, want;
    } good[] = {{JX_U8, 255.9, 255}, {JX_U8, -0.5, 0}, {JX_I32, -2147483648.0, INT32_MIN},
                {JX_I64, -0x1p63, -0x1p63}, {JX_U32, 4294967295.0, 4294967295.0}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        double u[2] = {good[i].t, good[i].v};
        jx_fn *f = jx_trace("ok", bad_scalar, u, 0, NULL, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_array *o = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(f, 0, NULL, 1, &o), JX_OK);
        CU_ASSERT_EQUAL(jx_array_get(o, 0), good[i].want);
        jx_array_release(o);
        jx_fn_release(f);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"trace identity", test_trace_identity},
        {"unset output names the line", test_unset_output},
        {"eval checks input avals", test_eval_bad_input},
        {"status and dtype names", test_status_names},
        {"f16/bf16 conversions", test_f16_roundtrip},
        {"integer scalars must fit their dtype", test_scalar_range},
        CU_TEST_INFO_NULL,
    };
    return jt_run("trace core", tests);
}
