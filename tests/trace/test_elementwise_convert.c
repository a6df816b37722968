/* test_elementwise_convert.c: convert_element_type (saturation, wrap, f16/bf16), integer_pow,
 * stop_gradient, select, and the creation ops: scalar, const, full, zeros/ones_like, iota. */
#include <stdint.h>

#include "elementwise_util.h"

/* ------------------------------------------------------------------ convert */

static void body_convert(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_convert(in[0], *(const jx_dtype *)user);
}

/* x converted to dtype `to` by a traced convert; releases x. */
static jx_array *convert(jx_array *x, jx_dtype to) {
    jx_aval av = jx_array_aval(x);
    jx_array *y = NULL;
    if (jt_trace_eval(body_convert, &to, 1, &av, &x, 1, &y) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    jx_array_release(x);
    return y;
}

/* The 16-bit patterns of an f16/bf16 array. */
static int halves_equal(const jx_array *a, const uint16_t *want, int n) {
    if (!a || jx_array_size(a) != n) return 0;
    const uint16_t *d = jx_array_data(a);
    for (int i = 0; i < n; i++)
        if (d[i] != want[i]) {
            fprintf(stderr, "\n  half %d is 0x%04x, want 0x%04x\n", i, d[i], want[i]);
            return 0;
        }
    return 1;
}

static void test_convert_float_to_int(void) {
    /* truncates toward zero, saturates, NaN gives 0 */
    JT_ASSERT_INTS(convert(JT_ARR(JX_F32, float, 2.7f, -2.7f, 1e10f, -1e10f, NAN, INFINITY, -INFINITY,
                                  2147483520.0f, -0.5f),
                           JX_I32),
                   JX_I32, 2, -2, INT32_MAX, INT32_MIN, 0, INT32_MAX, INT32_MIN, 2147483520, 0);
    JT_ASSERT_INTS(convert(JT_ARR(JX_F64, double, 1e19, -1e19, 9.2e18, NAN, -3.99, 9223372036854775807.0), JX_I64),
                   JX_I64, INT64_MAX, INT64_MIN, 9200000000000000000LL, 0, -3, INT64_MAX);
    JT_ASSERT_INTS(convert(JT_ARR(JX_F64, double, -5, 300, 255.9, 0.9, NAN), JX_U8), JX_U8, 0, 255, 255, 0, 0);
    JT_ASSERT_INTS(convert(JT_ARR(JX_F32, float, -1, 4294967296.0f, 3e9f), JX_U32), JX_U32, 0, UINT32_MAX,
                   3000000000u);
}

static void test_convert_int_to_int(void) {
    /* wraps, two's complement */
    JT_ASSERT_INTS(convert(JT_ARR(JX_I32, int32_t, 300, -1, 255), JX_U8), JX_U8, 44, 255, 255);
    JT_ASSERT_INTS(convert(JT_ARR(JX_I64, int64_t, 0x100000005LL, -1, INT64_MIN), JX_I32), JX_I32, 5, -1, 0);
    JT_ASSERT_INTS(convert(JT_ARR(JX_U32, uint32_t, UINT32_MAX, 7), JX_I32), JX_I32, -1, 7);
    JT_ASSERT_INTS(convert(JT_ARR(JX_I32, int32_t, -1, INT32_MIN), JX_I64), JX_I64, -1, INT32_MIN);
    JT_ASSERT_INTS(convert(JT_ARR(JX_I32, int32_t, -1), JX_U32), JX_U32, UINT32_MAX);
    JT_ASSERT_INTS(convert(JT_ARR(JX_U8, uint8_t, 255), JX_I64), JX_I64, 255);
    JT_ASSERT_INTS(convert(JT_ARR(JX_U32, uint32_t, UINT32_MAX), JX_I64), JX_I64, UINT32_MAX);
}

static void test_convert_bool(void) {
    JT_ASSERT_INTS(convert(JT_ARR(JX_I32, int32_t, 0, 5, -1), JX_BOOL), JX_BOOL, 0, 1, 1);
    JT_ASSERT_INTS(convert(JT_ARR(JX_F32, float, 0, -0.0f, 0.1f, NAN), JX_BOOL), JX_BOOL, 0, 0, 1, 1);
    JT_ASSERT_INTS(convert(JT_ARR(JX_U8, uint8_t, 0, 2), JX_BOOL), JX_BOOL, 0, 1);
    JT_ASSERT_INTS(convert(JT_ARR(JX_BOOL, uint8_t, 0, 1), JX_I32), JX_I32, 0, 1);
    jx_array *y = convert(JT_ARR(JX_BOOL, uint8_t, 1, 0), JX_F64);
    JT_ASSERT_ARRAY(y, ((double[]){1, 0}), 2, 0);
    jx_array_release(y);
}

static void test_convert_int_float(void) {
    jx_array *y = convert(JT_ARR(JX_I64, int64_t, 9007199254740992LL, -3), JX_F64);
    JT_ASSERT_ARRAY(y, ((double[]){9007199254740992.0, -3}), 2, 0);
    jx_array_release(y);
    y = convert(JT_ARR(JX_U32, uint32_t, 4000000000u), JX_F64);
    JT_ASSERT_ARRAY(y, ((double[]){4e9}), 1, 0);
    jx_array_release(y);
    y = convert(JT_ARR(JX_I32, int32_t, -7, 16777217), JX_F32); /* 2^24+1 rounds to even */
    JT_ASSERT_ARRAY(y, ((double[]){-7, 16777216}), 2, 0);
    jx_array_release(y);
    y = convert(JT_ARR(JX_F64, double, 0.1, 1e300), JX_F32);
    CU_ASSERT_EQUAL(jx_array_get(y, 0), (double)0.1f);
    CU_ASSERT(isinf(jx_array_get(y, 1)));
    jx_array_release(y);
    y = convert(JT_ARR(JX_F32, float, 0.1f), JX_F64);
    CU_ASSERT_EQUAL(jx_array_get(y, 0), (double)0.1f);
    jx_array_release(y);
}

static void test_convert_half(void) {
    jx_array *h = convert(JT_ARR(JX_F32, float, 1.5f, -2, 65504, 1e5f, 0.1f, NAN, -INFINITY), JX_F16);
    CU_ASSERT_EQUAL(jx_array_dtype(h), JX_F16);
    CU_ASSERT(halves_equal(h, (const uint16_t[]){0x3e00, 0xc000, 0x7bff, 0x7c00, 0x2e66, 0x7e00, 0xfc00}, 7));
    jx_array *back = convert(h, JX_F32); /* round trip */
    JT_ASSERT_ARRAY(back, ((double[]){1.5, -2, 65504, INFINITY, 0.0999755859375, NAN, -INFINITY}), 7, 0);
    jx_array_release(back);

    jx_array *b = convert(JT_ARR(JX_F32, float, 3.14159f, 1, -0.0f), JX_BF16);
    CU_ASSERT(halves_equal(b, (const uint16_t[]){0x4049, 0x3f80, 0x8000}, 3));
    back = convert(b, JX_F64);
    JT_ASSERT_ARRAY(back, ((double[]){3.140625, 1, 0}), 3, 0);
    jx_array_release(back);

    /* between the storage types and to ints, through f32 */
    h = convert(JT_ARR(JX_F32, float, 1.5f, 2.5f, INFINITY), JX_F16);
    jx_array *hb = convert(jx_array_retain(h), JX_BF16);
    CU_ASSERT(halves_equal(hb, (const uint16_t[]){0x3fc0, 0x4020, 0x7f80}, 3));
    jx_array_release(hb);
    JT_ASSERT_INTS(convert(h, JX_I32), JX_I32, 1, 2, INT32_MAX);
    jx_array *hi = convert(JT_ARR(JX_I32, int32_t, 3, -70000), JX_F16);
    CU_ASSERT(halves_equal(hi, (const uint16_t[]){0x4200, 0xfc00}, 2));
    jx_array_release(hi);
}

static void test_convert_same_dtype(void) {
    jx_array *y = convert(JT_ARR(JX_F32, float, 1, NAN, -3), JX_F32);
    JT_ASSERT_ARRAY(y, ((double[]){1, NAN, -3}), 3, 0);
    jx_array_release(y);
}

/* ------------------------------------------------------------------ integer_pow, stop_gradient */

static void body_ipow(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_integer_pow(in[0], *(const int *)user);
}

static jx_array *ipow(jx_array *x, int y) {
    jx_aval av = jx_array_aval(x);
    jx_array *r = NULL;
    if (jt_trace_eval(body_ipow, &y, 1, &av, &x, 1, &r) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    jx_array_release(x);
    return r;
}

static void test_integer_pow(void) {
    jx_array *y = ipow(JT_ARR(JX_F32, float, 2, -3, 0.5f, NAN, 0), 3);
    JT_ASSERT_ARRAY(y, ((double[]){8, -27, 0.125, NAN, 0}), 5, 0);
    jx_array_release(y);
    y = ipow(JT_ARR(JX_F64, double, 2, -4, 0, 3), -2);
    JT_ASSERT_ARRAY(y, ((double[]){0.25, 0.0625, INFINITY, 1.0 / 9}), 4, 1e-15);
    jx_array_release(y);
    y = ipow(JT_ARR(JX_F64, double, NAN, 0, 5), 0);
    JT_ASSERT_ARRAY(y, ((double[]){1, 1, 1}), 3, 0);
    jx_array_release(y);
    y = ipow(JT_ARR(JX_F32, float, 1.1f), 10);
    JT_ASSERT_ARRAY(y, ((double[]){pow(1.1, 10)}), 1, 1e-5);
    jx_array_release(y);

    JT_ASSERT_INTS(ipow(JT_ARR(JX_I32, int32_t, 3, -2, 7, 0), 5), JX_I32, 243, -32, 16807, 0);
    uint32_t w32 = 1;
    uint64_t w64 = 1;
    for (int i = 0; i < 41; i++) {
        if (i < 40) w32 *= 3u;
        w64 *= 3u;
    }
    JT_ASSERT_INTS(ipow(JT_ARR(JX_I32, int32_t, 3), 40), JX_I32, (int32_t)w32); /* wraps */
    JT_ASSERT_INTS(ipow(JT_ARR(JX_I64, int64_t, 3, -1), 41), JX_I64, (int64_t)w64, -1);
}

static void body_stop_gradient(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_stop_gradient(in[0]);
}

static void test_stop_gradient(void) {
    jx_array *x = JT_ARR(JX_I64, int64_t, INT64_MIN, 5);
    jx_aval av = jx_array_aval(x);
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jt_trace_eval(body_stop_gradient, NULL, 1, &av, &x, 1, &y), JX_OK);
    JT_ASSERT_INTS(y, JX_I64, INT64_MIN, 5);
    jx_array_release(x);
    /* it takes the storage types too */
    x = convert(JT_ARR(JX_F32, float, 1.5f), JX_BF16);
    av = jx_array_aval(x);
    CU_ASSERT_EQUAL(jt_trace_eval(body_stop_gradient, NULL, 1, &av, &x, 1, &y), JX_OK);
    CU_ASSERT(halves_equal(y, (const uint16_t[]){0x3fc0}, 1));
    jx_array_release(y);
    jx_array_release(x);
}

/* ------------------------------------------------------------------ select */

static void body_select(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_select(in[0], in[1], in[2]);
}

static jx_array *select3(jx_array *p, jx_array *t, jx_array *f) {
    jx_aval av[3] = {jx_array_aval(p), jx_array_aval(t), jx_array_aval(f)};
    jx_array *in[3] = {p, t, f}, *y = NULL;
    if (jt_trace_eval(body_select, NULL, 3, av, in, 1, &y) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    return y;
}

static void body_select_literals(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_select(in[0], jx_scalar(JX_F32, 1), jx_scalar(JX_F32, -1));
    out[1] = jx_select(in[1], in[2], jx_scalar(JX_F32, 0)); /* rank-0 predicate */
}

static void test_select(void) {
    jx_array *y = select3(JT_ARR(JX_BOOL, uint8_t, 1, 0, 1), JT_ARR(JX_F32, float, 1, 2, 3),
                          JT_ARR(JX_F32, float, 10, 20, 30));
    JT_ASSERT_ARRAY(y, ((double[]){1, 20, 3}), 3, 0);
    jx_array_release(y);
    JT_ASSERT_INTS(select3(JT_ARR(JX_BOOL, uint8_t, 0, 1), JT_ARR(JX_I64, int64_t, INT64_MIN, INT64_MAX),
                           JT_ARR(JX_I64, int64_t, 1, 2)),
                   JX_I64, 1, INT64_MAX);
    JT_ASSERT_INTS(select3(JT_ARR(JX_BOOL, uint8_t, 0, 1), JT_ARR(JX_BOOL, uint8_t, 1, 1),
                           JT_ARR(JX_BOOL, uint8_t, 0, 0)),
                   JX_BOOL, 0, 1);
    /* long enough for the blocked loop and its tail */
    enum { N = 37 };
    uint8_t p[N];
    int32_t t[N], f[N];
    int64_t want[N];
    for (int i = 0; i < N; i++) {
        p[i] = i % 3 == 0;
        t[i] = i;
        f[i] = -i;
        want[i] = p[i] ? i : -i;
    }
    y = select3(jx_array_new(JX_BOOL, JX_INTS(N), p), jx_array_new(JX_I32, JX_INTS(N), t),
                jx_array_new(JX_I32, JX_INTS(N), f));
    CU_ASSERT(jt_ints_equal(y, JX_I32, want, N, __LINE__));
    jx_array_release(y);

    jx_aval av[3] = {JX_AVAL(JX_BOOL, 3), JX_SCALAR(JX_BOOL), JX_AVAL(JX_F32, 3)};
    jx_array *in[3] = {JT_ARR(JX_BOOL, uint8_t, 1, 0, 0), jx_array_scalar(JX_BOOL, 1),
                       JT_ARR(JX_F32, float, 4, 5, 6)};
    jx_array *out[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(jt_trace_eval(body_select_literals, NULL, 3, av, in, 2, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], ((double[]){1, -1, -1}), 3, 0);
    JT_ASSERT_ARRAY(out[1], ((double[]){4, 5, 6}), 3, 0);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_array_release(out[0]);
    jx_array_release(out[1]);

    /* numpy broadcasting: (2,1) predicate, (3) branch, scalar branch */
    jx_array *pb = jx_array_new(JX_BOOL, JX_INTS(2, 1), (const uint8_t[]){1, 0});
    jx_array *tb = JT_ARR(JX_F32, float, 1, 2, 3);
    jx_array *fb = jx_array_scalar(JX_F32, 9);
    y = select3(pb, tb, fb);
    CU_ASSERT(y && jx_array_rank(y) == 2 && jx_array_shape(y)[1] == 3);
    JT_ASSERT_ARRAY(y, ((double[]){1, 2, 3, 9, 9, 9}), 6, 0);
    jx_array_release(y);
}

/* ------------------------------------------------------------------ creation */

static void test_scalar_outside_trace(void) {
    jx_clear_error();
    int line = __LINE__ + 1;
    jx_val v = jx_scalar(JX_F32, 1);
    CU_ASSERT(!jx_val_ok(v));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TRACE);
    JT_ASSERT_ERR("scalar: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    line = __LINE__ + 1;
    v = jx_full(JX_F32, JX_INTS(2), 1);
    CU_ASSERT(!jx_val_ok(v));
    JT_ASSERT_ERR("full: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

static jx_array *const_arr;

static void body_creation(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_full(JX_F32, JX_INTS(2, 3), 7);
    out[1] = jx_full(JX_I64, JX_NOINTS, -2);
    out[2] = jx_zeros_like(in[0]);
    out[3] = jx_add(jx_ones_like(in[0]), jx_scalar_like(in[0], 0));
    out[4] = jx_const(const_arr);
    out[5] = jx_add(jx_const(const_arr), jx_const(const_arr)); /* i32 wraps */
}

static void test_full_like_const(void) {
    const_arr = jx_array_new(JX_I32, JX_INTS(2, 2), (const int32_t[]){1, -2, 3, INT32_MIN});
    jx_aval av = JX_AVAL(JX_I32, 2, 2);
    jx_fn *f = jx_trace("creation", body_creation, NULL, 1, &av, 6);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array_release(const_arr); /* the IR keeps its own reference */
    const_arr = NULL;
    jx_aval o = jx_fn_output_aval(f, 1);
    CU_ASSERT_EQUAL(o.rank, 0);
    jx_array *x = jx_array_zeros(JX_I32, JX_INTS(2, 2)), *out[6] = {NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 1, &x, 6, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], ((double[]){7, 7, 7, 7, 7, 7}), 6, 0);
    CU_ASSERT_EQUAL(jx_array_rank(out[0]), 2);
    jx_array_release(out[0]);
    JT_ASSERT_INTS(out[1], JX_I64, -2);
    JT_ASSERT_INTS(out[2], JX_I32, 0, 0, 0, 0);
    JT_ASSERT_INTS(out[3], JX_I32, 1, 1, 1, 1);
    JT_ASSERT_INTS(out[4], JX_I32, 1, -2, 3, INT32_MIN);
    JT_ASSERT_INTS(out[5], JX_I32, 2, -4, 6, 0);
    jx_array_release(x);
    jx_fn_release(f);
}

static void body_const_scalars(jx_val *out, const jx_val *in, void *user) {
    jx_array **arrs = user;
    (void)in;
    for (int i = 0; i < 3; i++) out[i] = jx_const(arrs[i]);
}

static void test_const_scalars_are_exact_literals(void) {
    int64_t big = (INT64_C(1) << 62) + 1; /* not a double */
    jx_array *arrs[3] = {jx_array_new(JX_I64, JX_NOINTS, &big), jx_array_scalar(JX_F64, 0.1),
                         jx_array_scalar(JX_BOOL, 1)};
    jx_fn *f = jx_trace("consts", body_const_scalars, arrs, 0, NULL, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 0); /* literals, not constant equations */
    jx_array *out[3] = {NULL};
    CU_ASSERT_EQUAL(jt_eval(f, 0, NULL, 3, out), JX_OK);
    JT_ASSERT_INTS(out[0], JX_I64, (INT64_C(1) << 62) + 1);
    CU_ASSERT_EQUAL(jx_array_get(out[1], 0), 0.1);
    JT_ASSERT_INTS(out[2], JX_BOOL, 1);
    jx_array_release(out[1]);
    for (int i = 0; i < 3; i++) jx_array_release(arrs[i]);
    jx_fn_release(f);
}

static void body_iota(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    out[0] = jx_iota(JX_I32, JX_INTS(2, 3), 1);
    out[1] = jx_iota(JX_F32, JX_INTS(2, 3), 0);
    out[2] = jx_iota(JX_I64, JX_INTS(2, 3), -1);
    out[3] = jx_iota(JX_U8, JX_INTS(0, 3), 1);
    out[4] = jx_iota(JX_U32, JX_INTS(2, 3, 2), 1);
    out[5] = jx_iota(JX_U8, JX_INTS(258), 0);
}

static void test_iota(void) {
    jx_array *out[6] = {NULL};
    CU_ASSERT_EQUAL_FATAL(jt_trace_eval(body_iota, NULL, 0, NULL, NULL, 6, out), JX_OK);
    JT_ASSERT_INTS(out[0], JX_I32, 0, 1, 2, 0, 1, 2);
    JT_ASSERT_ARRAY(out[1], ((double[]){0, 0, 0, 1, 1, 1}), 6, 0);
    CU_ASSERT_EQUAL(jx_array_dtype(out[1]), JX_F32);
    JT_ASSERT_INTS(out[2], JX_I64, 0, 1, 2, 0, 1, 2);
    CU_ASSERT_EQUAL(jx_array_size(out[3]), 0);
    CU_ASSERT_EQUAL(jx_array_shape(out[3])[1], 3);
    JT_ASSERT_INTS(out[4], JX_U32, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2);
    CU_ASSERT_EQUAL(jx_array_get(out[5], 257), 1); /* u8 wraps */
    jx_array_release(out[1]);
    jx_array_release(out[3]);
    jx_array_release(out[5]);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"convert float to int: truncate, saturate, NaN 0", test_convert_float_to_int},
        {"convert int to int wraps", test_convert_int_to_int},
        {"convert to and from bool", test_convert_bool},
        {"convert between ints and floats", test_convert_int_float},
        {"convert f16/bf16 round trips", test_convert_half},
        {"convert to the same dtype", test_convert_same_dtype},
        {"integer_pow on floats and wrapping ints", test_integer_pow},
        {"stop_gradient passes values", test_stop_gradient},
        {"select: full, scalar, literal, broadcast operands", test_select},
        {"scalar outside a trace names the line", test_scalar_outside_trace},
        {"full, zeros_like, ones_like, const", test_full_like_const},
        {"rank-0 consts are exact literals", test_const_scalars_are_exact_literals},
        {"iota", test_iota},
        CU_TEST_INFO_NULL,
    };
    return jt_run("elementwise convert and creation", tests);
}
