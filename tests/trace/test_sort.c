/* test_sort.c: sort (single and multi-key, stable, NaNs last), argsort and top_k
 * (descending, ties by lower index, NaN largest), and their errors at the caller's line. */
#include <stdint.h>

#include "harness.h"

typedef struct params {
    int axis, num_keys, n, k, line;
} params;

static void sort_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    out[0] = jx_sort(in[0], p->axis);
}

static void sort_multi_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    jx_sort_multi(p->n, in, p->axis, p->num_keys, out);
}

static void argsort_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    out[0] = jx_argsort(in[0], p->axis);
}

static void top_k_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    jx_top_k(in[0], p->k, &out[0], &out[1]);
}

/* Traces body on the avals of in[] and evaluates it. */
static void run(jx_body body, params *p, int nin, jx_array **in, int nout, jx_array **out) {
    jx_aval av[4];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    jx_status st = jt_trace_eval(body, p, nin, av, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
}

static void release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

/* ------------------------------------------------------------------ sort */

static void test_sort_nan_inf(void) {
    jx_array *x = jx_array_new(JX_F32, JX_INTS(7), (float[]){3, NAN, -1, INFINITY, -INFINITY, 3, NAN});
    params p = {0, 1, 1, 0, 0};
    jx_array *y = NULL;
    run(sort_body, &p, 1, &x, 1, &y);
    double want[7] = {-INFINITY, -1, 3, 3, INFINITY, NAN, NAN};
    JT_ASSERT_ARRAY(y, want, 7, 0);
    jx_array_release(y);
    jx_array_release(x);
}

static void test_sort_axes(void) {
    /* (3,2): along axis 0 (columns) and axis -1 (rows) */
    jx_array *x = jx_array_new(JX_F64, JX_INTS(3, 2), (double[]){5, 0, 1, 9, 3, -2});
    params p = {0, 1, 1, 0, 0};
    jx_array *y = NULL;
    run(sort_body, &p, 1, &x, 1, &y);
    double want0[6] = {1, -2, 3, 0, 5, 9};
    JT_ASSERT_ARRAY(y, want0, 6, 0);
    jx_array_release(y);
    p.axis = -1;
    run(sort_body, &p, 1, &x, 1, &y);
    double want1[6] = {0, 5, 1, 9, -2, 3};
    JT_ASSERT_ARRAY(y, want1, 6, 0);
    jx_array_release(y);
    jx_array_release(x);
}

static void test_sort_integer_dtypes(void) {
    params p = {0, 1, 1, 0, 0};
    jx_array *y = NULL;
    /* u32 compares unsigned, i64 at its extremes, bool and u8 */
    jx_array *x = jx_array_new(JX_U32, JX_INTS(4), (uint32_t[]){0xffffffffu, 1, 0x80000000u, 0});
    run(sort_body, &p, 1, &x, 1, &y);
    const uint32_t *u = jx_array_data(y);
    CU_ASSERT(u[0] == 0 && u[1] == 1 && u[2] == 0x80000000u && u[3] == 0xffffffffu);
    jx_array_release(y);
    jx_array_release(x);
    x = jx_array_new(JX_I64, JX_INTS(4), (int64_t[]){INT64_MAX, -1, INT64_MIN, 0});
    run(sort_body, &p, 1, &x, 1, &y);
    const int64_t *l = jx_array_data(y);
    CU_ASSERT(l[0] == INT64_MIN && l[1] == -1 && l[2] == 0 && l[3] == INT64_MAX);
    jx_array_release(y);
    jx_array_release(x);
    x = jx_array_new(JX_BOOL, JX_INTS(4), (uint8_t[]){1, 0, 1, 0});
    run(sort_body, &p, 1, &x, 1, &y);
    double wb[4] = {0, 0, 1, 1};
    JT_ASSERT_ARRAY(y, wb, 4, 0);
    jx_array_release(y);
    jx_array_release(x);
    x = jx_array_new(JX_U8, JX_INTS(3), (uint8_t[]){200, 7, 255});
    run(sort_body, &p, 1, &x, 1, &y);
    double w8[3] = {7, 200, 255};
    JT_ASSERT_ARRAY(y, w8, 3, 0);
    jx_array_release(y);
    jx_array_release(x);
}

static void test_sort_signed_zero_stable(void) {
    /* -0.0 and +0.0 compare equal, so they keep their order */
    jx_array *x = jx_array_new(JX_F32, JX_INTS(3), (float[]){0.0f, -0.0f, -1.0f});
    params p = {0, 1, 1, 0, 0};
    jx_array *y = NULL;
    run(sort_body, &p, 1, &x, 1, &y);
    const float *v = jx_array_data(y);
    CU_ASSERT(v[0] == -1.0f && v[1] == 0.0f && !signbit(v[1]) && signbit(v[2]));
    jx_array_release(y);
    jx_array_release(x);
}

static void test_sort_empty(void) {
    params p = {1, 1, 1, 0, 0};
    jx_array *x = jx_array_zeros(JX_F32, JX_INTS(2, 0)), *y = NULL;
    run(sort_body, &p, 1, &x, 1, &y);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(jx_array_size(y), 0);
    CU_ASSERT_EQUAL(jx_array_shape(y)[0], 2);
    jx_array_release(y);
    jx_array_release(x);
    /* sorting along a dim of size 1 beside an empty one */
    p.axis = 0;
    x = jx_array_zeros(JX_F32, JX_INTS(1, 0));
    run(sort_body, &p, 1, &x, 1, &y);
    CU_ASSERT_EQUAL(jx_array_size(y), 0);
    jx_array_release(y);
    jx_array_release(x);
}

static void test_sort_multi_keys(void) {
    /* keys (a i32, b f32) and an i32 payload; NaN in the second key goes last */
    jx_array *in[3] = {
        jx_array_new(JX_I32, JX_INTS(5), (int32_t[]){1, 0, 1, 0, 1}),
        jx_array_new(JX_F32, JX_INTS(5), (float[]){2, 5, 1, 5, NAN}),
        jx_array_new(JX_I64, JX_INTS(5), (int64_t[]){0, 1, 2, 3, 4}),
    };
    jx_array *out[3] = {NULL, NULL, NULL};
    params p = {0, 2, 3, 0, 0};
    run(sort_multi_body, &p, 3, in, 3, out);
    double wa[5] = {0, 0, 1, 1, 1}, wb[5] = {5, 5, 1, 2, NAN}, wc[5] = {1, 3, 2, 0, 4};
    JT_ASSERT_ARRAY(out[0], wa, 5, 0);
    JT_ASSERT_ARRAY(out[1], wb, 5, 0);
    JT_ASSERT_ARRAY(out[2], wc, 5, 0);
    CU_ASSERT_EQUAL(jx_array_dtype(out[2]), JX_I64);
    release_all(3, out);
    /* one key: ties on a keep their input order (stable), b is just carried */
    p.num_keys = 1;
    run(sort_multi_body, &p, 3, in, 3, out);
    double wb1[5] = {5, 5, 2, 1, NAN}, wc1[5] = {1, 3, 0, 2, 4};
    JT_ASSERT_ARRAY(out[1], wb1, 5, 0);
    JT_ASSERT_ARRAY(out[2], wc1, 5, 0);
    release_all(3, out);
    release_all(3, in);
}

static void test_sort_multi_2d_payload_f16(void) {
    /* (2,3) along axis 1 with a f16 payload: storage types move untouched */
    jx_array *in[2] = {
        jx_array_new(JX_F64, JX_INTS(2, 3), (double[]){3, 1, 2, -1, -3, -2}),
        jx_array_new(JX_F16, JX_INTS(2, 3), (uint16_t[]){1, 2, 3, 4, 5, 6}),
    };
    jx_array *out[2] = {NULL, NULL};
    params p = {1, 1, 2, 0, 0};
    run(sort_multi_body, &p, 2, in, 2, out);
    double wk[6] = {1, 2, 3, -3, -2, -1};
    JT_ASSERT_ARRAY(out[0], wk, 6, 0);
    const uint16_t *h = jx_array_data(out[1]);
    CU_ASSERT(h[0] == 2 && h[1] == 3 && h[2] == 1 && h[3] == 5 && h[4] == 6 && h[5] == 4);
    release_all(2, out);
    release_all(2, in);
}

/* ------------------------------------------------------------------ argsort */

static void test_argsort(void) {
    jx_array *x = jx_array_new(JX_F32, JX_INTS(5), (float[]){3, 1, NAN, 2, 1}), *y = NULL;
    params p = {0, 1, 1, 0, 0};
    run(argsort_body, &p, 1, &x, 1, &y);
    CU_ASSERT_EQUAL(jx_array_dtype(y), JX_I32);
    double want[5] = {1, 4, 3, 0, 2};
    JT_ASSERT_ARRAY(y, want, 5, 0);
    jx_array_release(y);
    jx_array_release(x);
    /* along axis 0 of a (3,2) */
    x = jx_array_new(JX_I32, JX_INTS(3, 2), (int32_t[]){5, 0, 1, 9, 3, 0});
    run(argsort_body, &p, 1, &x, 1, &y);
    double want0[6] = {1, 0, 2, 2, 0, 1};
    JT_ASSERT_ARRAY(y, want0, 6, 0);
    jx_array_release(y);
    p.axis = -1;
    run(argsort_body, &p, 1, &x, 1, &y);
    double want1[6] = {1, 0, 0, 1, 1, 0};
    JT_ASSERT_ARRAY(y, want1, 6, 0);
    jx_array_release(y);
    jx_array_release(x);
}

/* ------------------------------------------------------------------ top_k */

static void test_top_k_ties_nan(void) {
    jx_array *x = jx_array_new(JX_F32, JX_INTS(2, 5), (float[]){1, 3, 3, NAN, 2, -1, -1, -1, -INFINITY, 0});
    jx_array *out[2] = {NULL, NULL};
    params p = {0, 0, 0, 3, 0};
    run(top_k_body, &p, 1, &x, 2, out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out[1]);
    CU_ASSERT_EQUAL(jx_array_dtype(out[1]), JX_I32);
    CU_ASSERT_EQUAL(jx_array_shape(out[0])[1], 3);
    double wv[6] = {NAN, 3, 3, 0, -1, -1}, wi[6] = {3, 1, 2, 4, 0, 1};
    JT_ASSERT_ARRAY(out[0], wv, 6, 0);
    JT_ASSERT_ARRAY(out[1], wi, 6, 0);
    release_all(2, out);
    jx_array_release(x);
}

static void test_top_k_ints_and_edges(void) {
    jx_array *x = jx_array_new(JX_I64, JX_INTS(4), (int64_t[]){INT64_MIN, 7, 7, INT64_MAX});
    jx_array *out[2] = {NULL, NULL};
    params p = {0, 0, 0, 4, 0};
    run(top_k_body, &p, 1, &x, 2, out);
    const int64_t *v = jx_array_data(out[0]);
    CU_ASSERT(v[0] == INT64_MAX && v[1] == 7 && v[2] == 7 && v[3] == INT64_MIN);
    double wi[4] = {3, 1, 2, 0};
    JT_ASSERT_ARRAY(out[1], wi, 4, 0);
    release_all(2, out);
    /* k = 0: an empty result */
    p.k = 0;
    run(top_k_body, &p, 1, &x, 2, out);
    CU_ASSERT_EQUAL(jx_array_size(out[0]), 0);
    CU_ASSERT_EQUAL(jx_array_size(out[1]), 0);
    release_all(2, out);
    jx_array_release(x);
    /* u32 ranks unsigned */
    x = jx_array_new(JX_U32, JX_INTS(3), (uint32_t[]){1, 0xfffffff0u, 5});
    p.k = 1;
    run(top_k_body, &p, 1, &x, 2, out);
    double wv1[1] = {0xfffffff0u}, wi1[1] = {1};
    JT_ASSERT_ARRAY(out[0], wv1, 1, 0);
    JT_ASSERT_ARRAY(out[1], wi1, 1, 0);
    release_all(2, out);
    jx_array_release(x);
}

/* ------------------------------------------------------------------ errors */

static void expect_err(jx_body body, params *p, int nin, const jx_aval *av, int nout, jx_status code,
                       const char *msg) {
    p->line = -1;
    jx_fn *f = jx_trace("bad", body, p, nin, av, nout);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, p->line));
}

static void test_sort_errors(void) {
    jx_aval x = JX_AVAL(JX_F32, 2, 3);
    params p = {2, 1, 1, 0, 0};
    expect_err(sort_body, &p, 1, &x, 1, JX_ERR_AXIS, "sort: axis 2 out of range for rank 2");
    p.axis = -3;
    expect_err(sort_body, &p, 1, &x, 1, JX_ERR_AXIS, "sort: axis -3 out of range for rank 2");
    p.axis = 0;
    expect_err(sort_body, &p, 1, (jx_aval[]){JX_SCALAR(JX_F32)}, 1, JX_ERR_AXIS, "axis 0 out of range for rank 0");
    expect_err(sort_body, &p, 1, (jx_aval[]){JX_AVAL(JX_BF16, 3)}, 1, JX_ERR_DTYPE,
               "sort: cannot sort by bf16[3] keys (operand 0): convert to f32 first");
    p.n = 2;
    expect_err(sort_multi_body, &p, 2, (jx_aval[]){x, JX_AVAL(JX_I32, 3, 2)}, 2, JX_ERR_SHAPE,
               "sort: operands differ in shape: f32[2,3] vs i32[3,2] (operand 1)");
    p.num_keys = 0;
    expect_err(sort_multi_body, &p, 2, (jx_aval[]){x, x}, 2, JX_ERR_ARG, "num_keys 0 out of range for 2 operands");
    p.num_keys = 3;
    expect_err(sort_multi_body, &p, 2, (jx_aval[]){x, x}, 2, JX_ERR_ARG, "num_keys 3 out of range for 2 operands");
    p.num_keys = 2;
    expect_err(sort_multi_body, &p, 2, (jx_aval[]){x, JX_AVAL(JX_F16, 2, 3)}, 2, JX_ERR_DTYPE,
               "cannot sort by f16[2,3] keys (operand 1)");
    p.n = 0;
    expect_err(sort_multi_body, &p, 1, &x, 0, JX_ERR_ARG, "sort: needs at least one operand (got 0)");
    p.axis = 4;
    expect_err(argsort_body, &p, 1, &x, 1, JX_ERR_AXIS, "sort: axis 4 out of range for rank 2");
}

static void test_top_k_errors(void) {
    params p = {0, 0, 0, 5, 0};
    expect_err(top_k_body, &p, 1, (jx_aval[]){JX_AVAL(JX_F32, 2, 4)}, 2, JX_ERR_SHAPE,
               "top_k: k 5 out of range for f32[2,4] (the last dim is 4)");
    p.k = -1;
    expect_err(top_k_body, &p, 1, (jx_aval[]){JX_AVAL(JX_F32, 2, 4)}, 2, JX_ERR_SHAPE,
               "k -1 out of range for f32[2,4]");
    p.k = 0;
    expect_err(top_k_body, &p, 1, (jx_aval[]){JX_SCALAR(JX_F32)}, 2, JX_ERR_SHAPE,
               "top_k: operand must have rank >= 1, got f32[]");
    expect_err(top_k_body, &p, 1, (jx_aval[]){JX_AVAL(JX_BOOL, 3)}, 2, JX_ERR_DTYPE,
               "top_k: operand must be f32, f64, i32, i64, u32 or u8, got bool[3]");
}

static int null_line;
static void top_k_null_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    null_line = __LINE__ + 1;
    jx_top_k(in[0], 1, &out[0], NULL);
}

static void test_top_k_null_output(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("bad", top_k_null_body, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    JT_ASSERT_ERR("top_k: values or indices is NULL");
    JT_ASSERT_ERR(jt_place(__FILE__, null_line));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"sort: NaN and infinities", test_sort_nan_inf},
        {"sort: axis 0 and -1", test_sort_axes},
        {"sort: integer and bool dtypes", test_sort_integer_dtypes},
        {"sort: signed zeros are equal and stable", test_sort_signed_zero_stable},
        {"sort: size-0 dims", test_sort_empty},
        {"sort_multi: two keys, one key, stability", test_sort_multi_keys},
        {"sort_multi: 2-D with a f16 payload", test_sort_multi_2d_payload_f16},
        {"argsort", test_argsort},
        {"top_k: ties and NaN", test_top_k_ties_nan},
        {"top_k: integers, k = 0, u32", test_top_k_ints_and_edges},
        {"sort errors name the line", test_sort_errors},
        {"top_k errors name the line", test_top_k_errors},
        {"top_k NULL output", test_top_k_null_output},
        CU_TEST_INFO_NULL,
    };
    return jt_run("sort", tests);
}
