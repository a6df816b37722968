/* test_elementwise.c: the elementwise unary, binary and compare primitives on every dtype
 * they take, against C's math.h, with NaN/Inf, integer wrap-around, division by zero,
 * shift edge cases, rank-0 and size-0 operands, scalar and numpy broadcasting. */
#include <float.h>
#include <stdint.h>

#include "elementwise_util.h"

static const double float_inputs[] = {0,   -0.0, 0.5,  -0.5, 1,    -1.5, 2.5,      -2.5,      3.7,
                                      -3.7, 10,  -20,  88,   -100, 1e-3, INFINITY, -INFINITY, NAN};
#define NFLOAT ((int)(sizeof float_inputs / sizeof *float_inputs))

/* A float array of dtype (f32 or f64) holding n doubles. */
static jx_array *floats(jx_dtype dtype, const double *v, int n) {
    jx_array *d = jx_array_new(JX_F64, JX_INTS(n), v);
    jx_array *x = jx_array_astype(d, dtype);
    jx_array_release(d);
    return x;
}

static double ref_logistic(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static float ref_logisticf(float x) { return x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x)); }
static double ref_rsqrt(double x) { return 1 / sqrt(x); }
static float ref_rsqrtf(float x) { return 1 / sqrtf(x); }
static double ref_neg(double x) { return -x; }
static float ref_negf(float x) { return -x; }
static double ref_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : x; }
static float ref_signf(float x) { return x > 0 ? 1.0f : x < 0 ? -1.0f : x; }

static const struct {
    const char *name;
    jt_unop op;
    double (*ref)(double);
    float (*reff)(float);
} float_unary[] = {
    {"neg", jx_neg_at, ref_neg, ref_negf},       {"exp", jx_exp_at, exp, expf},
    {"log", jx_log_at, log, logf},               {"log1p", jx_log1p_at, log1p, log1pf},
    {"expm1", jx_expm1_at, expm1, expm1f},       {"tanh", jx_tanh_at, tanh, tanhf},
    {"logistic", jx_logistic_at, ref_logistic, ref_logisticf},
    {"sin", jx_sin_at, sin, sinf},               {"cos", jx_cos_at, cos, cosf},
    {"sqrt", jx_sqrt_at, sqrt, sqrtf},           {"rsqrt", jx_rsqrt_at, ref_rsqrt, ref_rsqrtf},
    {"abs", jx_abs_at, fabs, fabsf},             {"sign", jx_sign_at, ref_sign, ref_signf},
    {"floor", jx_floor_at, floor, floorf},       {"ceil", jx_ceil_at, ceil, ceilf},
    {"round", jx_round_at, round, roundf},       {"erf", jx_erf_at, erf, erff},
    {"erfc", jx_erfc_at, erfc, erfcf},           {"lgamma", jx_lgamma_at, lgamma, lgammaf},
    {"tan", jx_tan_at, tan, tanf},               {"asin", jx_asin_at, asin, asinf},
    {"acos", jx_acos_at, acos, acosf},           {"atan", jx_atan_at, atan, atanf},
    {"sinh", jx_sinh_at, sinh, sinhf},           {"cosh", jx_cosh_at, cosh, coshf},
    {"asinh", jx_asinh_at, asinh, asinhf},       {"acosh", jx_acosh_at, acosh, acoshf},
    {"atanh", jx_atanh_at, atanh, atanhf},
};

static void test_float_unary(void) {
    for (size_t k = 0; k < sizeof float_unary / sizeof *float_unary; k++)
        for (int f64 = 0; f64 <= 1; f64++) {
            jx_dtype dt = f64 ? JX_F64 : JX_F32;
            jx_array *x = floats(dt, float_inputs, NFLOAT);
            jx_array *y = jt_eval_un(float_unary[k].op, x, NULL);
            double want[NFLOAT];
            for (int i = 0; i < NFLOAT; i++)
                want[i] = f64 ? float_unary[k].ref(float_inputs[i])
                              : (double)float_unary[k].reff((float)float_inputs[i]);
            if (!y || jt_max_err(y, want, NFLOAT) > (f64 ? 1e-15 : 1e-6))
                fprintf(stderr, "\n  %s on %s: %s\n", float_unary[k].name, jx_dtype_name(dt),
                        y ? "wrong values" : jx_errmsg());
            CU_ASSERT_PTR_NOT_NULL(y);
            CU_ASSERT_EQUAL(jx_array_dtype(y), dt);
            JT_ASSERT_ARRAY(y, want, NFLOAT, f64 ? 1e-15 : 1e-6);
            jx_array_release(x);
            jx_array_release(y);
        }
}

static void test_float_unary_edges(void) {
    /* round is half away from zero; sign keeps -0 and NaN; logistic saturates cleanly */
    jx_array *x = JT_ARR(JX_F32, float, 0.5f, -0.5f, 2.5f, -2.5f, 1.49f);
    jx_array *y = jt_eval_un(jx_round_at, x, NULL);
    JT_ASSERT_ARRAY(y, ((double[]){1, -1, 3, -3, 1}), 5, 0);
    jx_array_release(x);
    jx_array_release(y);

    x = JT_ARR(JX_F64, double, -0.0, NAN);
    y = jt_eval_un(jx_sign_at, x, NULL);
    CU_ASSERT(signbit(jx_array_get(y, 0)) && jx_array_get(y, 0) == 0);
    CU_ASSERT(isnan(jx_array_get(y, 1)));
    jx_array_release(x);
    jx_array_release(y);

    x = JT_ARR(JX_F32, float, -200.0f, 200.0f, -1e30f, 1e30f);
    y = jt_eval_un(jx_logistic_at, x, NULL);
    JT_ASSERT_ARRAY(y, ((double[]){0, 1, 0, 1}), 4, 0);
    jx_array_release(x);
    jx_array_release(y);

    x = JT_ARR(JX_F64, double, 0.0, -1.0, INFINITY);
    y = jt_eval_un(jx_log_at, x, NULL);
    JT_ASSERT_ARRAY(y, ((double[]){-INFINITY, NAN, INFINITY}), 3, 0);
    jx_array_release(x);
    jx_array_release(y);
}

static void test_int_unary(void) {
    jx_array *x = JT_ARR(JX_I32, int32_t, 0, 5, -7, INT32_MAX, INT32_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_neg_at, x, NULL), JX_I32, 0, -5, 7, -INT32_MAX, INT32_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_abs_at, x, NULL), JX_I32, 0, 5, 7, INT32_MAX, INT32_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_sign_at, x, NULL), JX_I32, 0, 1, -1, 1, -1);
    JT_ASSERT_INTS(jt_eval_un(jx_not_at, x, NULL), JX_I32, -1, -6, 6, INT32_MIN, INT32_MAX);
    jx_array_release(x);

    x = JT_ARR(JX_I64, int64_t, 0, -3, INT64_MAX, INT64_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_neg_at, x, NULL), JX_I64, 0, 3, -INT64_MAX, INT64_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_abs_at, x, NULL), JX_I64, 0, 3, INT64_MAX, INT64_MIN);
    JT_ASSERT_INTS(jt_eval_un(jx_sign_at, x, NULL), JX_I64, 0, -1, 1, -1);
    JT_ASSERT_INTS(jt_eval_un(jx_not_at, x, NULL), JX_I64, -1, 2, INT64_MIN, INT64_MAX);
    jx_array_release(x);

    x = JT_ARR(JX_U8, uint8_t, 0, 0xf0, 255);
    JT_ASSERT_INTS(jt_eval_un(jx_not_at, x, NULL), JX_U8, 255, 0x0f, 0);
    jx_array_release(x);
    x = JT_ARR(JX_U32, uint32_t, 0, 1);
    JT_ASSERT_INTS(jt_eval_un(jx_not_at, x, NULL), JX_U32, UINT32_MAX, UINT32_MAX - 1);
    jx_array_release(x);
    x = JT_ARR(JX_BOOL, uint8_t, 0, 1);
    JT_ASSERT_INTS(jt_eval_un(jx_not_at, x, NULL), JX_BOOL, 1, 0);
    jx_array_release(x);
}

/* ------------------------------------------------------------------ binary floats */

static double ref_add(double a, double b) { return a + b; }
static double ref_sub(double a, double b) { return a - b; }
static double ref_mul(double a, double b) { return a * b; }
static double ref_div(double a, double b) { return a / b; }
static double ref_max(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }
static double ref_min(double a, double b) { return isnan(a) || isnan(b) ? NAN : a < b ? a : b; }
static double ref_powf(double a, double b) { return powf((float)a, (float)b); }
static double ref_fmodf(double a, double b) { return fmodf((float)a, (float)b); }
static double ref_atan2f(double a, double b) { return atan2f((float)a, (float)b); }

static const struct {
    const char *name;
    jt_binop op;
    double (*ref)(double, double);
    double (*reff)(double, double); /* the f32 reference on f32 values; NULL: round ref */
} float_binary[] = {
    {"add", jx_add_at, ref_add, NULL},      {"sub", jx_sub_at, ref_sub, NULL},
    {"mul", jx_mul_at, ref_mul, NULL},      {"div", jx_div_at, ref_div, NULL},
    {"rem", jx_rem_at, fmod, ref_fmodf},    {"pow", jx_pow_at, pow, ref_powf},
    {"max", jx_max_at, ref_max, NULL},      {"min", jx_min_at, ref_min, NULL},
    {"atan2", jx_atan2_at, atan2, ref_atan2f},
};

static void test_float_binary(void) {
    static const double a[] = {1, -2, 3.5, 0, 0, INFINITY, -INFINITY, NAN, 1, 5, -7.5, 2, 1e30, -0.0};
    static const double b[] = {2, 3, -1.25, 0, -3, INFINITY, 2, 1, NAN, 0, 2, -0.5, 1e30, 4};
    enum { N = sizeof a / sizeof *a };
    for (size_t k = 0; k < sizeof float_binary / sizeof *float_binary; k++)
        for (int f64 = 0; f64 <= 1; f64++) {
            jx_dtype dt = f64 ? JX_F64 : JX_F32;
            jx_array *xa = floats(dt, a, N), *xb = floats(dt, b, N);
            jx_array *y = jt_eval_bin(float_binary[k].op, xa, xb, NULL);
            double want[N];
            for (int i = 0; i < N; i++) {
                double fa = f64 ? a[i] : (double)(float)a[i], fb = f64 ? b[i] : (double)(float)b[i];
                want[i] = !f64 && float_binary[k].reff ? float_binary[k].reff(fa, fb)
                                                       : float_binary[k].ref(fa, fb);
                if (!f64) want[i] = (double)(float)want[i];
            }
            if (!y) fprintf(stderr, "\n  %s on %s: %s\n", float_binary[k].name, jx_dtype_name(dt), jx_errmsg());
            CU_ASSERT_EQUAL(jx_array_dtype(y), dt);
            JT_ASSERT_ARRAY(y, want, N, f64 ? 1e-15 : 1e-6);
            jx_array_release(xa);
            jx_array_release(xb);
            jx_array_release(y);
        }
}

/* ------------------------------------------------------------------ binary ints */

static void test_int_arith_wraps(void) {
    jx_array *a = JT_ARR(JX_I32, int32_t, INT32_MAX, INT32_MIN, 7, -7, 65536);
    jx_array *b = JT_ARR(JX_I32, int32_t, 1, 1, 2, 2, 65536);
    JT_ASSERT_INTS(jt_eval_bin(jx_add_at, a, b, NULL), JX_I32, INT32_MIN, INT32_MIN + 1, 9, -5, 131072);
    JT_ASSERT_INTS(jt_eval_bin(jx_sub_at, a, b, NULL), JX_I32, INT32_MAX - 1, INT32_MAX, 5, -9, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_mul_at, a, b, NULL), JX_I32, INT32_MAX, INT32_MIN, 14, -14, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_div_at, a, b, NULL), JX_I32, INT32_MAX, INT32_MIN, 3, -3, 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_rem_at, a, b, NULL), JX_I32, 0, 0, 1, -1, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_max_at, a, b, NULL), JX_I32, INT32_MAX, 1, 7, 2, 65536);
    JT_ASSERT_INTS(jt_eval_bin(jx_min_at, a, b, NULL), JX_I32, 1, INT32_MIN, 2, -7, 65536);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_I64, int64_t, INT64_MAX, INT64_MIN, INT64_MAX);
    b = JT_ARR(JX_I64, int64_t, 1, -1, 2);
    JT_ASSERT_INTS(jt_eval_bin(jx_add_at, a, b, NULL), JX_I64, INT64_MIN, INT64_MAX, INT64_MIN + 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_mul_at, a, b, NULL), JX_I64, INT64_MAX, INT64_MIN, -2);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_U8, uint8_t, 200, 3, 16);
    b = JT_ARR(JX_U8, uint8_t, 100, 5, 16);
    JT_ASSERT_INTS(jt_eval_bin(jx_add_at, a, b, NULL), JX_U8, 44, 8, 32);
    JT_ASSERT_INTS(jt_eval_bin(jx_sub_at, a, b, NULL), JX_U8, 100, 254, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_mul_at, a, b, NULL), JX_U8, (200 * 100) % 256, 15, 0);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_U32, uint32_t, UINT32_MAX, 0, 0x80000000u);
    b = JT_ARR(JX_U32, uint32_t, 1, 1, 2);
    JT_ASSERT_INTS(jt_eval_bin(jx_add_at, a, b, NULL), JX_U32, 0, 1, 0x80000002u);
    JT_ASSERT_INTS(jt_eval_bin(jx_sub_at, a, b, NULL), JX_U32, UINT32_MAX - 1, UINT32_MAX, 0x7ffffffeu);
    JT_ASSERT_INTS(jt_eval_bin(jx_mul_at, a, b, NULL), JX_U32, UINT32_MAX, 0, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_max_at, a, b, NULL), JX_U32, UINT32_MAX, 1, 0x80000000u);
    jx_array_release(a);
    jx_array_release(b);
}

static void test_int_division_edges(void) {
    /* x/0 is -1 (signed) or all ones (unsigned); x%0 is x; INT_MIN/-1 wraps, INT_MIN%-1 is 0 */
    jx_array *a = JT_ARR(JX_I32, int32_t, 7, -7, 0, INT32_MIN, INT32_MIN, -7, 7);
    jx_array *b = JT_ARR(JX_I32, int32_t, 0, 0, 0, -1, 0, 2, -2);
    JT_ASSERT_INTS(jt_eval_bin(jx_div_at, a, b, NULL), JX_I32, -1, -1, -1, INT32_MIN, -1, -3, -3);
    JT_ASSERT_INTS(jt_eval_bin(jx_rem_at, a, b, NULL), JX_I32, 7, -7, 0, 0, INT32_MIN, -1, 1);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_I64, int64_t, INT64_MIN, 9, INT64_MIN);
    b = JT_ARR(JX_I64, int64_t, -1, 0, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_div_at, a, b, NULL), JX_I64, INT64_MIN, -1, -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_rem_at, a, b, NULL), JX_I64, 0, 9, INT64_MIN);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_U8, uint8_t, 9, 200, 255);
    b = JT_ARR(JX_U8, uint8_t, 0, 7, 255);
    JT_ASSERT_INTS(jt_eval_bin(jx_div_at, a, b, NULL), JX_U8, 255, 28, 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_rem_at, a, b, NULL), JX_U8, 9, 4, 0);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_U32, uint32_t, 9, UINT32_MAX, 10);
    b = JT_ARR(JX_U32, uint32_t, 0, UINT32_MAX, 3);
    JT_ASSERT_INTS(jt_eval_bin(jx_div_at, a, b, NULL), JX_U32, UINT32_MAX, 1, 3);
    JT_ASSERT_INTS(jt_eval_bin(jx_rem_at, a, b, NULL), JX_U32, 9, 0, 1);
    jx_array_release(a);
    jx_array_release(b);
}

static void test_bitwise_and_shifts(void) {
    jx_array *a = JT_ARR(JX_I32, int32_t, 1, 1, 1, -8, -8, -8, 8, 0x0ff0, -1);
    jx_array *b = JT_ARR(JX_I32, int32_t, 31, 32, -1, 1, 40, -3, 40, 4, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_left_at, a, b, NULL), JX_I32, INT32_MIN, 0, 0, -16, 0, 0, 0, 0xff00, -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_logical_at, a, b, NULL), JX_I32, 0, 0, 0, 0x7ffffffc, 0, 0, 0,
                   0xff, -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_arithmetic_at, a, b, NULL), JX_I32, 0, 0, 0, -4, -1, -1, 0, 0xff,
                   -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_and_at, a, b, NULL), JX_I32, 1, 0, 1, 0, 40, -8, 8, 0, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_or_at, a, b, NULL), JX_I32, 31, 33, -1, -7, -8, -3, 40, 0x0ff4, -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_xor_at, a, b, NULL), JX_I32, 30, 33, -2, -7, -48, 5, 32, 0x0ff4, -1);
    jx_array_release(a);
    jx_array_release(b);

    /* u8: the top bit is the sign for the arithmetic shift, like XLA */
    a = JT_ARR(JX_U8, uint8_t, 0x80, 0x80, 0x81, 1);
    b = JT_ARR(JX_U8, uint8_t, 1, 9, 7, 8);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_arithmetic_at, a, b, NULL), JX_U8, 0xc0, 0xff, 0xff, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_logical_at, a, b, NULL), JX_U8, 0x40, 0, 1, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_left_at, a, b, NULL), JX_U8, 0, 0, 0x80, 0);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_I64, int64_t, 1, INT64_MIN, INT64_MIN, 5);
    b = JT_ARR(JX_I64, int64_t, 63, 63, 64, -1);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_left_at, a, b, NULL), JX_I64, INT64_MIN, 0, 0, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_logical_at, a, b, NULL), JX_I64, 0, 1, 0, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_arithmetic_at, a, b, NULL), JX_I64, 0, -1, -1, 0);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_U32, uint32_t, 0x80000000u, 0xffffffffu);
    b = JT_ARR(JX_U32, uint32_t, 31, 32);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_logical_at, a, b, NULL), JX_U32, 1, 0);
    JT_ASSERT_INTS(jt_eval_bin(jx_shift_right_arithmetic_at, a, b, NULL), JX_U32, 0xffffffffu, 0xffffffffu);
    jx_array_release(a);
    jx_array_release(b);

    a = JT_ARR(JX_BOOL, uint8_t, 0, 0, 1, 1);
    b = JT_ARR(JX_BOOL, uint8_t, 0, 1, 0, 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_and_at, a, b, NULL), JX_BOOL, 0, 0, 0, 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_or_at, a, b, NULL), JX_BOOL, 0, 1, 1, 1);
    JT_ASSERT_INTS(jt_eval_bin(jx_xor_at, a, b, NULL), JX_BOOL, 0, 1, 1, 0);
    jx_array_release(a);
    jx_array_release(b);
}

/* ------------------------------------------------------------------ compare */

static const jt_binop compares[6] = {jx_eq_at, jx_ne_at, jx_lt_at, jx_le_at, jx_gt_at, jx_ge_at};

/* want[k][i]: compare k on element i */
static void check_compares(jx_array *a, jx_array *b, int n, const int64_t want[6][8]) {
    for (int k = 0; k < 6; k++) {
        jx_array *y = jt_eval_bin(compares[k], a, b, NULL);
        CU_ASSERT(jt_ints_equal(y, JX_BOOL, want[k], n, __LINE__));
        jx_array_release(y);
    }
    jx_array_release(a);
    jx_array_release(b);
}

static void test_compare(void) {
    /* NaN is unordered: only ne is true */
    static const int64_t fw[6][8] = {{1, 0, 0, 0, 0, 1}, {0, 1, 1, 1, 1, 0}, {0, 1, 0, 0, 0, 0},
                                     {1, 1, 0, 0, 0, 1}, {0, 0, 1, 0, 0, 0}, {1, 0, 1, 0, 0, 1}};
    check_compares(JT_ARR(JX_F32, float, 1, 1, 2, NAN, 1, INFINITY),
                   JT_ARR(JX_F32, float, 1, 2, 1, 1, NAN, INFINITY), 6, fw);
    check_compares(JT_ARR(JX_F64, double, 1, 1, 2, NAN, 1, -0.0), JT_ARR(JX_F64, double, 1, 2, 1, 1, NAN, 0.0),
                   6, fw);
    static const int64_t iw[6][8] = {{1, 0, 0}, {0, 1, 1}, {0, 1, 0}, {1, 1, 0}, {0, 0, 1}, {1, 0, 1}};
    check_compares(JT_ARR(JX_I32, int32_t, -5, INT32_MIN, 0), JT_ARR(JX_I32, int32_t, -5, INT32_MAX, -1), 3, iw);
    check_compares(JT_ARR(JX_I64, int64_t, INT64_MAX, INT64_MIN, 1),
                   JT_ARR(JX_I64, int64_t, INT64_MAX, INT64_MIN + 1, 0), 3, iw);
    /* unsigned: 0x80000000 is large, not negative */
    check_compares(JT_ARR(JX_U32, uint32_t, 7, 1, 0x80000000u), JT_ARR(JX_U32, uint32_t, 7, 0x80000000u, 1), 3,
                   iw);
    check_compares(JT_ARR(JX_U8, uint8_t, 200, 1, 255), JT_ARR(JX_U8, uint8_t, 200, 128, 0), 3, iw);
    check_compares(JT_ARR(JX_BOOL, uint8_t, 1, 0, 1), JT_ARR(JX_BOOL, uint8_t, 1, 1, 0), 3, iw);
}

/* ------------------------------------------------------------------ scalars and broadcasting */

static void body_scalar_ops(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val two = jx_scalar(JX_F32, 2);
    out[0] = jx_sub(in[0], two);                     /* scalar on the right */
    out[1] = jx_div(jx_scalar_like(in[0], 1), in[0]); /* scalar on the left */
    out[2] = jx_max(in[1], in[0]);                   /* rank-0 variable, broadcast by the impl */
}

static void test_scalar_operands(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    jx_array *in[2] = {JT_ARR(JX_F32, float, 4, -1, 0.5f), jx_array_scalar(JX_F32, 0)};
    jx_array *out[3] = {NULL, NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_trace_eval(body_scalar_ops, NULL, 2, av, in, 3, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], ((double[]){2, -3, -1.5}), 3, 0);
    JT_ASSERT_ARRAY(out[1], ((double[]){0.25, -1, 2}), 3, 0);
    JT_ASSERT_ARRAY(out[2], ((double[]){4, 0, 0.5}), 3, 0);
    for (int i = 0; i < 3; i++) jx_array_release(out[i]);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

static void test_rank0_and_size0(void) {
    jx_array *a = jx_array_scalar(JX_F64, 2), *b = jx_array_scalar(JX_F64, 3);
    jx_array *y = jt_eval_bin(jx_pow_at, a, b, NULL);
    CU_ASSERT_EQUAL(jx_array_rank(y), 0);
    JT_ASSERT_ARRAY(y, ((double[]){8}), 1, 0);
    jx_array_release(y);
    y = jt_eval_un(jx_exp_at, a, NULL);
    JT_ASSERT_ARRAY(y, ((double[]){exp(2.0)}), 1, 1e-15);
    jx_array_release(y);
    jx_array_release(a);
    jx_array_release(b);

    a = jx_array_zeros(JX_F32, JX_INTS(2, 0));
    y = jt_eval_bin(jx_add_at, a, a, NULL);
    CU_ASSERT_PTR_NOT_NULL(y);
    CU_ASSERT_EQUAL(jx_array_size(y), 0);
    CU_ASSERT_EQUAL(jx_array_shape(y)[0], 2);
    jx_array_release(y);
    y = jt_eval_un(jx_tanh_at, a, NULL);
    CU_ASSERT_EQUAL(jx_array_size(y), 0);
    jx_array_release(y);
    y = jt_eval_bin(jx_lt_at, a, a, NULL);
    CU_ASSERT_EQUAL(jx_array_dtype(y), JX_BOOL);
    CU_ASSERT_EQUAL(jx_array_size(y), 0);
    jx_array_release(y);
    jx_array_release(a);
}

static void test_broadcasting(void) {
    /* (2,3) + (3) */
    jx_array *a = jx_array_new(JX_F32, JX_INTS(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    jx_array *b = JT_ARR(JX_F32, float, 10, 20, 30);
    jx_array *y = jt_eval_bin(jx_add_at, a, b, NULL);
    if (!y) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(jx_array_rank(y), 2);
    JT_ASSERT_ARRAY(y, ((double[]){11, 22, 33, 14, 25, 36}), 6, 0);
    jx_array_release(y);
    y = jt_eval_bin(jx_sub_at, b, a, NULL); /* (3) - (2,3) keeps the operand order */
    JT_ASSERT_ARRAY(y, ((double[]){9, 18, 27, 6, 15, 24}), 6, 0);
    jx_array_release(y);
    jx_array_release(a);
    jx_array_release(b);

    /* (2,1) * (1,3) stretches both */
    a = jx_array_new(JX_I32, JX_INTS(2, 1), (const int32_t[]){2, 3});
    b = jx_array_new(JX_I32, JX_INTS(1, 3), (const int32_t[]){1, 10, 100});
    y = jt_eval_bin(jx_mul_at, a, b, NULL);
    CU_ASSERT(y && jx_array_rank(y) == 2 && jx_array_shape(y)[0] == 2 && jx_array_shape(y)[1] == 3);
    JT_ASSERT_INTS(y, JX_I32, 2, 20, 200, 3, 30, 300);
    /* compare broadcasts too */
    y = jt_eval_bin(jx_ge_at, a, b, NULL);
    JT_ASSERT_INTS(y, JX_BOOL, 1, 0, 0, 1, 0, 0);
    jx_array_release(a);
    jx_array_release(b);

    /* ranks differ by one and both stretch: (2,1,3) - (2,1) is (2,2,3) */
    a = jx_array_new(JX_F64, JX_INTS(2, 1, 3), (const double[]){1, 2, 3, 4, 5, 6});
    b = jx_array_new(JX_F64, JX_INTS(2, 1), (const double[]){10, 20});
    y = jt_eval_bin(jx_sub_at, a, b, NULL);
    CU_ASSERT(y && jx_array_rank(y) == 3 && jx_array_shape(y)[1] == 2);
    JT_ASSERT_ARRAY(y, ((double[]){-9, -8, -7, -19, -18, -17, -6, -5, -4, -16, -15, -14}), 12, 0);
    jx_array_release(y);
    jx_array_release(a);
    jx_array_release(b);
}

/* A large add, for the loop structure: every block and the tail are right. */
static void test_long_arrays(void) {
    enum { N = 1000 + 13 };
    jx_array *a = jx_array_arange(JX_F32, 0, N, 1), *b = jx_array_full(JX_F32, JX_INTS(N), 0.5);
    jx_array *y = jt_eval_bin(jx_add_at, a, b, NULL);
    double want[N];
    for (int i = 0; i < N; i++) want[i] = i + 0.5;
    JT_ASSERT_ARRAY(y, want, N, 0);
    jx_array_release(y);
    y = jt_eval_bin(jx_max_at, a, b, NULL);
    for (int i = 0; i < N; i++) want[i] = i ? i : 0.5;
    JT_ASSERT_ARRAY(y, want, N, 0);
    jx_array_release(y);
    jx_array_release(a);
    jx_array_release(b);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"float unary ops against math.h (f32, f64)", test_float_unary},
        {"round, sign, logistic, log edge cases", test_float_unary_edges},
        {"neg, abs, sign, not on integers and bool", test_int_unary},
        {"float binary ops against math.h, NaN and Inf", test_float_binary},
        {"integer add/sub/mul wrap around", test_int_arith_wraps},
        {"integer division by zero and INT_MIN/-1", test_int_division_edges},
        {"bitwise ops and shift edge cases", test_bitwise_and_shifts},
        {"comparisons on every dtype, NaN unordered", test_compare},
        {"scalar literals and rank-0 operands", test_scalar_operands},
        {"rank-0 and size-0 operands", test_rank0_and_size0},
        {"numpy broadcasting", test_broadcasting},
        {"long arrays: blocks and tail", test_long_arrays},
        CU_TEST_INFO_NULL,
    };
    return jt_run("elementwise", tests);
}
