/* test_reduce.c: reduce_sum/max/min/prod, argmax/argmin and the cumulative ops, traced
 * and evaluated: values on f32, f64 and ints, empty reductions, negative axes, NaN,
 * integer wrap-around, and error messages naming the caller's line. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

enum { SUM, PROD, MAX, MIN, ARGMAX, ARGMIN, CUMSUM, CUMPROD, CUMMAX, CUMMIN };

typedef struct rcase {
    int op;
    jx_ints axes;  /* reduce_* */
    int axis, rev; /* argmax/argmin, cumulative ops */
    jx_dtype it;   /* argmax/argmin index dtype */
} rcase;

/* Case builders: RED(SUM, JX_INTS(1)), AX(CUMSUM, .axis = 0, .rev = 1). */
#define RED(o, ...) ((rcase){.op = (o), .axes = __VA_ARGS__})
#define AX(o, ...) ((rcase){.op = (o), __VA_ARGS__})

static int op_line; /* the line of the op call in body(), for error tests */

static void body(jx_val *out, const jx_val *in, void *user) {
    const rcase *c = user;
    jx_val x = in[0];
    switch (c->op) {
    case SUM: op_line = __LINE__; out[0] = jx_reduce_sum(x, c->axes); break;
    case PROD: op_line = __LINE__; out[0] = jx_reduce_prod(x, c->axes); break;
    case MAX: op_line = __LINE__; out[0] = jx_reduce_max(x, c->axes); break;
    case MIN: op_line = __LINE__; out[0] = jx_reduce_min(x, c->axes); break;
    case ARGMAX: op_line = __LINE__; out[0] = jx_argmax(x, c->axis, c->it); break;
    case ARGMIN: op_line = __LINE__; out[0] = jx_argmin(x, c->axis, c->it); break;
    case CUMSUM: op_line = __LINE__; out[0] = jx_cumsum(x, c->axis, c->rev); break;
    case CUMPROD: op_line = __LINE__; out[0] = jx_cumprod(x, c->axis, c->rev); break;
    case CUMMAX: op_line = __LINE__; out[0] = jx_cummax(x, c->axis, c->rev); break;
    case CUMMIN: op_line = __LINE__; out[0] = jx_cummin(x, c->axis, c->rev); break;
    }
}

/* Traces and evaluates case c on x (released); NULL when that fails. */
static jx_array *run(rcase c, jx_array *x) { return jt_eval1(body, &c, 1, &x); }

/* Traces case c on aval a expecting failure with code and message s at op_line. */
static void check_err(rcase c, jx_aval a, jx_status code, const char *s) {
    jx_fn *f = jx_trace("bad", body, &c, 1, &a, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(s);
    JT_ASSERT_ERR(jt_place(__FILE__, op_line));
}

static const double x23[6] = {1, 2, 3, 4, 5, 6}; /* (2,3) */

static void test_sum_axes(void) {
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 3), x23)), JX_F32, JX_INTS(2),
          (double[]){6, 15}, 0);
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(0)), jt_array(JX_F32, JX_INTS(2, 3), x23)), JX_F32, JX_INTS(3),
          (double[]){5, 7, 9}, 0);
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(-1)), jt_array(JX_F64, JX_INTS(2, 3), x23)), JX_F64, JX_INTS(2),
          (double[]){6, 15}, 0);
    jt_check_array(__LINE__, run(RED(SUM, JX_NOINTS), jt_array(JX_I32, JX_INTS(2, 3), x23)), JX_I32, JX_NOINTS,
          (double[]){21}, 0);
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1, 0)), jt_array(JX_I64, JX_INTS(2, 3), x23)), JX_I64, JX_NOINTS,
          (double[]){21}, 0);
}

/* A rank-3 reduction over non-adjacent, unsorted, negative axes against a loop. */
static void test_sum_rank3(void) {
    double v[2 * 3 * 4], want[3] = {0};
    for (int i = 0; i < 24; i++) v[i] = i * 0.5 - 3;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) want[b] += v[(a * 3 + b) * 4 + c];
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(-1, 0)), jt_array(JX_F64, JX_INTS(2, 3, 4), v)), JX_F64, JX_INTS(3), want, 1e-12);
    double want2[2 * 4] = {0};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) want2[a * 4 + c] += v[(a * 3 + b) * 4 + c];
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 3, 4), v)), JX_F32, JX_INTS(2, 4), want2, 1e-6);
    /* size-1 dims and no axes at all (an identity reduction) */
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 1, 3), x23)), JX_F32, JX_INTS(2, 3), x23, 0);
    int64_t none[1];
    jt_check_array(__LINE__, run(RED(SUM, {none, 0}), jt_array(JX_F32, JX_INTS(2, 3), x23)), JX_F32, JX_INTS(2, 3), x23, 0);
}

static void test_rank0_and_empty(void) {
    jt_check_array(__LINE__, run(RED(SUM, JX_NOINTS), jx_array_scalar(JX_F32, 2.5)), JX_F32, JX_NOINTS, (double[]){2.5}, 0);
    jt_check_array(__LINE__, run(RED(MAX, JX_NOINTS), jx_array_scalar(JX_I32, -7)), JX_I32, JX_NOINTS, (double[]){-7}, 0);
    /* empty reductions give the identity */
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 0), NULL)), JX_F32, JX_INTS(2), (double[]){0, 0}, 0);
    jt_check_array(__LINE__, run(RED(PROD, JX_INTS(0)), jt_array(JX_I32, JX_INTS(0, 3), NULL)), JX_I32, JX_INTS(3),
          (double[]){1, 1, 1}, 0);
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(0)), jt_array(JX_F32, JX_INTS(0, 2), NULL)), JX_F32, JX_INTS(2),
          (double[]){-INFINITY, -INFINITY}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_NOINTS), jt_array(JX_F64, JX_INTS(0), NULL)), JX_F64, JX_NOINTS,
          (double[]){INFINITY}, 0);
    jt_check_array(__LINE__, run(RED(MAX, JX_NOINTS), jt_array(JX_I32, JX_INTS(0), NULL)), JX_I32, JX_NOINTS,
          (double[]){INT32_MIN}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_NOINTS), jt_array(JX_I32, JX_INTS(0), NULL)), JX_I32, JX_NOINTS,
          (double[]){INT32_MAX}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_NOINTS), jt_array(JX_U8, JX_INTS(0), NULL)), JX_U8, JX_NOINTS, (double[]){255}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_NOINTS), jt_array(JX_BOOL, JX_INTS(0), NULL)), JX_BOOL, JX_NOINTS, (double[]){1}, 0);
    /* an empty output: nothing to compute */
    jt_check_array(__LINE__, run(RED(SUM, JX_INTS(1)), jt_array(JX_F32, JX_INTS(0, 3), NULL)), JX_F32, JX_INTS(0), NULL, 0);
}

static void test_max_min_prod(void) {
    const double v[6] = {3, -1, 7, 2, 9, -4};
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 3), v)), JX_F32, JX_INTS(2), (double[]){7, 9}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_INTS(0)), jt_array(JX_I64, JX_INTS(2, 3), v)), JX_I64, JX_INTS(3),
          (double[]){2, -1, -4}, 0);
    jt_check_array(__LINE__, run(RED(PROD, JX_INTS(1)), jt_array(JX_F64, JX_INTS(2, 3), v)), JX_F64, JX_INTS(2),
          (double[]){-21, -72}, 0);
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(0)), jt_array(JX_U32, JX_INTS(3), (double[]){5, 4000000000.0, 7})), JX_U32,
          JX_NOINTS, (double[]){4000000000.0}, 0);
    /* NaN propagates through max and min wherever it sits; -inf is an ordinary value */
    const double n[6] = {1, NAN, 3, -INFINITY, -INFINITY, NAN};
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(1)), jt_array(JX_F32, JX_INTS(2, 3), n)), JX_F32, JX_INTS(2),
          (double[]){NAN, NAN}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_INTS(0)), jt_array(JX_F64, JX_INTS(2, 3), n)), JX_F64, JX_INTS(3),
          (double[]){-INFINITY, NAN, NAN}, 0);
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(0)), jt_array(JX_F32, JX_INTS(2), (double[]){-INFINITY, -INFINITY})), JX_F32,
          JX_NOINTS, (double[]){-INFINITY}, 0);
    /* bool: max is any, min is all */
    const double b[6] = {0, 1, 0, 0, 0, 0};
    jt_check_array(__LINE__, run(RED(MAX, JX_INTS(1)), jt_array(JX_BOOL, JX_INTS(2, 3), b)), JX_BOOL, JX_INTS(2), (double[]){1, 0}, 0);
    jt_check_array(__LINE__, run(RED(MIN, JX_INTS(1)), jt_array(JX_BOOL, JX_INTS(2, 3), (double[]){1, 1, 1, 1, 0, 1})), JX_BOOL,
          JX_INTS(2), (double[]){1, 0}, 0);
}

static void test_int_wrap(void) {
    int32_t v[2] = {INT32_MAX, 1};
    jt_check_array(__LINE__, run(RED(SUM, JX_NOINTS), jx_array_new(JX_I32, JX_INTS(2), v)), JX_I32, JX_NOINTS,
          (double[]){INT32_MIN}, 0);
    int32_t p[2] = {65536, 65537}; /* 2^32 + 2^16 wraps to 2^16 */
    jt_check_array(__LINE__, run(RED(PROD, JX_NOINTS), jx_array_new(JX_I32, JX_INTS(2), p)), JX_I32, JX_NOINTS,
          (double[]){65536}, 0);
    int64_t q[2] = {INT64_MAX, 2};
    jx_array *y = run(RED(PROD, JX_NOINTS), jx_array_new(JX_I64, JX_INTS(2), q));
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(*(const int64_t *)jx_array_data(y), -2);
    jx_array_release(y);
    jt_check_array(__LINE__, run(RED(SUM, JX_NOINTS), jt_array(JX_U8, JX_INTS(2), (double[]){200, 100})), JX_U8, JX_NOINTS,
          (double[]){44}, 0);
    jt_check_array(__LINE__, run(AX(CUMSUM, .axis = 0), jx_array_new(JX_I32, JX_INTS(2), v)), JX_I32, JX_INTS(2),
          (double[]){INT32_MAX, INT32_MIN}, 0);
}

static void test_argmax(void) {
    const double v[8] = {1, 5, 5, 2, /* tie: the first 5 */ 7, 0, 7, -1};
    jt_check_array(__LINE__, run(AX(ARGMAX, .axis = 1, .it = JX_I32), jt_array(JX_F32, JX_INTS(2, 4), v)), JX_I32, JX_INTS(2),
          (double[]){1, 0}, 0);
    jt_check_array(__LINE__, run(AX(ARGMAX, .axis = -1, .it = JX_I64), jt_array(JX_I32, JX_INTS(2, 4), v)), JX_I64, JX_INTS(2),
          (double[]){1, 0}, 0);
    jt_check_array(__LINE__, run(AX(ARGMIN, .axis = 0, .it = JX_I32), jt_array(JX_F64, JX_INTS(2, 4), v)), JX_I32, JX_INTS(4),
          (double[]){0, 1, 0, 1}, 0);
    jt_check_array(__LINE__, run(AX(ARGMIN, .axis = 1, .it = JX_I32), jt_array(JX_U8, JX_INTS(2, 4), (double[]){3, 1, 1, 2, 9, 9, 9, 9})),
          JX_I32, JX_INTS(2), (double[]){1, 0}, 0);
    /* NaN is the max for argmax and the min for argmin: the first NaN wins */
    const double n[5] = {1, NAN, 9, NAN, -9};
    jt_check_array(__LINE__, run(AX(ARGMAX, .axis = 0, .it = JX_I32), jt_array(JX_F32, JX_INTS(5), n)), JX_I32, JX_NOINTS,
          (double[]){1}, 0);
    jt_check_array(__LINE__, run(AX(ARGMIN, .axis = 0, .it = JX_I64), jt_array(JX_F64, JX_INTS(5), n)), JX_I64, JX_NOINTS,
          (double[]){1}, 0);
    jt_check_array(__LINE__, run(AX(ARGMAX, .axis = 0, .it = JX_I32), jt_array(JX_BOOL, JX_INTS(3), (double[]){0, 1, 1})), JX_I32,
          JX_NOINTS, (double[]){1}, 0);
    /* axis 0 of a rank-3 array: strided access */
    double w[12];
    for (int i = 0; i < 12; i++) w[i] = (i * 7) % 12;
    double want[6];
    for (int j = 0; j < 6; j++) want[j] = w[6 + j] > w[j] ? 1 : 0;
    jt_check_array(__LINE__, run(AX(ARGMAX, .axis = 0, .it = JX_I32), jt_array(JX_F32, JX_INTS(2, 3, 2), w)), JX_I32,
          JX_INTS(3, 2), want, 0);
}

static void test_cumulative(void) {
    const double v[6] = {1, 2, 3, 4, 5, 6};
    jt_check_array(__LINE__, run(AX(CUMSUM, .axis = 1), jt_array(JX_F32, JX_INTS(2, 3), v)), JX_F32, JX_INTS(2, 3),
          (double[]){1, 3, 6, 4, 9, 15}, 0);
    jt_check_array(__LINE__, run(AX(CUMSUM, .axis = -1, .rev = 1), jt_array(JX_F64, JX_INTS(2, 3), v)), JX_F64, JX_INTS(2, 3),
          (double[]){6, 5, 3, 15, 11, 6}, 0);
    jt_check_array(__LINE__, run(AX(CUMSUM, .axis = 0), jt_array(JX_I32, JX_INTS(2, 3), v)), JX_I32, JX_INTS(2, 3),
          (double[]){1, 2, 3, 5, 7, 9}, 0);
    jt_check_array(__LINE__, run(AX(CUMPROD, .axis = 1, .rev = 1), jt_array(JX_I64, JX_INTS(2, 3), v)), JX_I64, JX_INTS(2, 3),
          (double[]){6, 6, 3, 120, 30, 6}, 0);
    jt_check_array(__LINE__, run(AX(CUMPROD, .axis = 0, .rev = 1), jt_array(JX_F32, JX_INTS(2, 3), v)), JX_F32, JX_INTS(2, 3),
          (double[]){4, 10, 18, 4, 5, 6}, 0);
    const double m[5] = {2, 1, 5, 3, 4};
    jt_check_array(__LINE__, run(AX(CUMMAX, .axis = 0), jt_array(JX_F32, JX_INTS(5), m)), JX_F32, JX_INTS(5),
          (double[]){2, 2, 5, 5, 5}, 0);
    jt_check_array(__LINE__, run(AX(CUMMIN, .axis = 0, .rev = 1), jt_array(JX_I32, JX_INTS(5), m)), JX_I32, JX_INTS(5),
          (double[]){1, 1, 3, 3, 4}, 0);
    jt_check_array(__LINE__, run(AX(CUMMAX, .axis = 0, .rev = 1), jt_array(JX_BOOL, JX_INTS(3), (double[]){0, 1, 0})), JX_BOOL,
          JX_INTS(3), (double[]){1, 1, 0}, 0);
    /* NaN sticks from where it appears */
    const double n[4] = {1, NAN, 5, 0};
    jt_check_array(__LINE__, run(AX(CUMMAX, .axis = 0), jt_array(JX_F64, JX_INTS(4), n)), JX_F64, JX_INTS(4),
          (double[]){1, NAN, NAN, NAN}, 0);
    jt_check_array(__LINE__, run(AX(CUMMIN, .axis = 0, .rev = 1), jt_array(JX_F32, JX_INTS(4), n)), JX_F32, JX_INTS(4),
          (double[]){NAN, NAN, 0, 0}, 0);
    jt_check_array(__LINE__, run(AX(CUMSUM, .axis = 1), jt_array(JX_F32, JX_INTS(2, 0), NULL)), JX_F32, JX_INTS(2, 0), NULL, 0);
}

/* The recorded attributes are canonical: JX_NOINTS and negative, unsorted axes. */
static void test_ir_attrs(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3, 4);
    rcase c = RED(SUM, JX_INTS(-1, 0));
    jx_fn *f = jx_trace("r", body, &c, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 1);
    jx_aval o = jx_fn_output_aval(f, 0), want = JX_AVAL(JX_F32, 3);
    CU_ASSERT(jx_aval_equal(&o, &want));
    char *s = jx_fn_to_string(f);
    if (s) CU_ASSERT_PTR_NOT_NULL(strstr(s, "axes=(0,2)"));
    free(s);
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    jx_fn_release(f);
}

static void test_errors(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3);
    check_err(RED(SUM, JX_INTS(2)), a, JX_ERR_AXIS, "reduce_sum: axis 2 out of range for rank 2");
    check_err(RED(MAX, JX_INTS(1, -1)), a, JX_ERR_AXIS, "reduce_max: axis -1 repeated in (1,-1)");
    check_err(RED(MIN, JX_INTS(-3)), a, JX_ERR_AXIS, "reduce_min: axis -3 out of range for rank 2");
    check_err(RED(SUM, JX_NOINTS), JX_AVAL(JX_BOOL, 2), JX_ERR_DTYPE, "reduce_sum: dtype bool not supported");
    check_err(RED(PROD, JX_NOINTS), JX_AVAL(JX_F16, 2), JX_ERR_DTYPE, "reduce_prod: dtype f16 not supported");
    check_err(AX(ARGMAX, .axis = 0, .it = JX_I32), JX_AVAL(JX_F32, 0, 3), JX_ERR_SHAPE,
              "argmax: axis 0 of f32[0,3] is empty");
    check_err(AX(ARGMIN, .axis = 2, .it = JX_I32), a, JX_ERR_AXIS, "argmin: axis 2 out of range for rank 2");
    check_err(AX(ARGMAX, .axis = 0, .it = JX_F32), a, JX_ERR_DTYPE, "argmax: index dtype must be i32 or i64, got f32");
    check_err(AX(ARGMAX, .axis = 0, .it = JX_I32), JX_SCALAR(JX_F32), JX_ERR_AXIS,
              "argmax: axis 0 out of range for rank 0");
    check_err(AX(CUMSUM, .axis = -3), a, JX_ERR_AXIS, "cumsum: axis -3 out of range for rank 2");
    check_err(AX(CUMPROD, .axis = 0), JX_AVAL(JX_BOOL, 2), JX_ERR_DTYPE, "cumprod: dtype bool not supported");
    check_err(AX(CUMMAX, .axis = 0), JX_AVAL(JX_BF16, 2), JX_ERR_DTYPE, "cummax: dtype bf16 not supported");
}

/* Outside any trace the op fails with the thread error and an invalid value. */
static void test_outside_trace(void) {
    jx_clear_error();
    int line = __LINE__ + 1;
    jx_val y = jx_reduce_sum((jx_val){0, -1}, JX_NOINTS);
    CU_ASSERT(!jx_val_ok(y));
    CU_ASSERT_NOT_EQUAL(jx_errcode(), JX_OK);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"reduce_sum over axes", test_sum_axes},
        {"reduce_sum rank 3 against a loop", test_sum_rank3},
        {"rank 0 and empty reductions", test_rank0_and_empty},
        {"reduce_max/min/prod, NaN, bool", test_max_min_prod},
        {"integer wrap-around", test_int_wrap},
        {"argmax/argmin ties and NaN", test_argmax},
        {"cumulative ops, reverse, NaN", test_cumulative},
        {"canonical attributes", test_ir_attrs},
        {"errors name the caller's line", test_errors},
        {"outside of a trace", test_outside_trace},
        CU_TEST_INFO_NULL,
    };
    return jt_run("reductions", tests);
}
