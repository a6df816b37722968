/* test_elementwise_errors.c: every dtype and shape error of the elementwise ops, each
 * naming the op, the operands and the caller's line; sticky errors; the primitives'
 * own rules (no numpy broadcasting there). */
#include <stdint.h>

#include "elementwise_util.h"
#include "ir.h"

/* Asserts the last error has code and message and names file:line. */
#define JT_ASSERT_FAIL(code, msg, file, line)          \
    do {                                               \
        CU_ASSERT_EQUAL(jx_errcode(), (code));         \
        JT_ASSERT_ERR(msg);                            \
        JT_ASSERT_ERR(jt_place((file), (line)));       \
    } while (0)

/* ------------------------------------------------------------------ dtype tables */

static const struct {
    jt_unop op;
    jx_dtype dtype;
    int rank;
    const char *msg;
} unary_errors[] = {
    {jx_exp_at, JX_I32, 1, "exp: wants f32 or f64, got i32[3]"},
    {jx_exp_at, JX_F16, 1, "exp: f16 is a storage type: convert to f32 first"},
    {jx_log_at, JX_BF16, 1, "log: bf16 is a storage type: convert to f32 first"},
    {jx_tanh_at, JX_BOOL, 1, "tanh: wants f32 or f64, got bool[3]"},
    {jx_logistic_at, JX_U8, 1, "logistic: wants f32 or f64, got u8[3]"},
    {jx_sqrt_at, JX_I64, 0, "sqrt: wants f32 or f64, got i64[]"},
    {jx_floor_at, JX_I32, 1, "floor: wants f32 or f64, got i32[3]"},
    {jx_round_at, JX_U32, 1, "round: wants f32 or f64, got u32[3]"},
    {jx_neg_at, JX_U8, 1, "neg: wants i32, i64, f32 or f64, got u8[3]"},
    {jx_abs_at, JX_U32, 1, "abs: wants i32, i64, f32 or f64, got u32[3]"},
    {jx_sign_at, JX_BOOL, 1, "sign: wants i32, i64, f32 or f64, got bool[3]"},
    {jx_neg_at, JX_F16, 1, "neg: f16 is a storage type: convert to f32 first"},
    {jx_not_at, JX_F32, 1, "not: wants bool, u8, i32, u32 or i64, got f32[3]"},
    {jx_not_at, JX_BF16, 1, "not: bf16 is a storage type: convert to f32 first"},
};

static void test_unary_dtype_errors(void) {
    for (size_t k = 0; k < sizeof unary_errors / sizeof *unary_errors; k++) {
        jx_array *x = unary_errors[k].rank ? jx_array_zeros(unary_errors[k].dtype, JX_INTS(3))
                                           : jx_array_zeros(unary_errors[k].dtype, JX_NOINTS);
        jt_op op;
        jx_array *y = jt_eval_un(unary_errors[k].op, x, &op);
        CU_ASSERT_PTR_NULL(y);
        JT_ASSERT_FAIL(JX_ERR_DTYPE, unary_errors[k].msg, op.loc.file, op.loc.line);
        jx_array_release(x);
    }
}

static const struct {
    jt_binop op;
    jx_dtype da, db;
    int ra, rb; /* rank-1 size 2 or rank 0 */
    jx_status code;
    const char *msg;
} binary_errors[] = {
    {jx_add_at, JX_BOOL, JX_BOOL, 1, 1, JX_ERR_DTYPE, "add: wants u8, i32, u32, i64, f32 or f64, got bool[2]"},
    {jx_add_at, JX_F16, JX_F16, 1, 1, JX_ERR_DTYPE, "add: f16 is a storage type: convert to f32 first"},
    {jx_mul_at, JX_BF16, JX_BF16, 0, 1, JX_ERR_DTYPE, "mul: bf16 is a storage type: convert to f32 first"},
    {jx_div_at, JX_BOOL, JX_BOOL, 1, 1, JX_ERR_DTYPE, "div: wants u8, i32, u32, i64, f32 or f64, got bool[2]"},
    {jx_max_at, JX_BOOL, JX_BOOL, 1, 0, JX_ERR_DTYPE, "max: wants u8, i32, u32, i64, f32 or f64, got bool[2]"},
    {jx_pow_at, JX_I32, JX_I32, 1, 1, JX_ERR_DTYPE, "pow: wants f32 or f64, got i32[2]"},
    {jx_atan2_at, JX_U8, JX_U8, 1, 1, JX_ERR_DTYPE, "atan2: wants f32 or f64, got u8[2]"},
    {jx_and_at, JX_F32, JX_F32, 1, 1, JX_ERR_DTYPE, "and: wants bool, u8, i32, u32 or i64, got f32[2]"},
    {jx_xor_at, JX_F64, JX_F64, 1, 1, JX_ERR_DTYPE, "xor: wants bool, u8, i32, u32 or i64, got f64[2]"},
    {jx_shift_left_at, JX_BOOL, JX_BOOL, 1, 1, JX_ERR_DTYPE, "shift_left: wants u8, i32, u32 or i64, got bool[2]"},
    {jx_shift_right_arithmetic_at, JX_F64, JX_F64, 1, 1, JX_ERR_DTYPE,
     "shift_right_arithmetic: wants u8, i32, u32 or i64, got f64[2]"},
    {jx_lt_at, JX_F16, JX_F16, 1, 1, JX_ERR_DTYPE, "lt: f16 is a storage type: convert to f32 first"},
    {jx_eq_at, JX_BF16, JX_BF16, 1, 1, JX_ERR_DTYPE, "eq: bf16 is a storage type: convert to f32 first"},
    {jx_add_at, JX_F32, JX_F64, 1, 1, JX_ERR_DTYPE, "add: dtypes differ: f32[2] and f64[2] (convert with jx_convert)"},
    {jx_mul_at, JX_I32, JX_I64, 0, 1, JX_ERR_DTYPE, "mul: dtypes differ: i32[] and i64[2] (convert with jx_convert)"},
    {jx_ge_at, JX_U8, JX_BOOL, 1, 1, JX_ERR_DTYPE, "ge: dtypes differ: u8[2] and bool[2]"},
};

static void test_binary_dtype_errors(void) {
    for (size_t k = 0; k < sizeof binary_errors / sizeof *binary_errors; k++) {
        jx_array *a = binary_errors[k].ra ? jx_array_zeros(binary_errors[k].da, JX_INTS(2))
                                          : jx_array_zeros(binary_errors[k].da, JX_NOINTS);
        jx_array *b = binary_errors[k].rb ? jx_array_zeros(binary_errors[k].db, JX_INTS(2))
                                          : jx_array_zeros(binary_errors[k].db, JX_NOINTS);
        jt_op op;
        jx_array *y = jt_eval_bin(binary_errors[k].op, a, b, &op);
        CU_ASSERT_PTR_NULL(y);
        JT_ASSERT_FAIL(binary_errors[k].code, binary_errors[k].msg, op.loc.file, op.loc.line);
        jx_array_release(a);
        jx_array_release(b);
    }
}

/* ------------------------------------------------------------------ shapes */

static void test_broadcast_shape_errors(void) {
    const struct { /* automatic: the shapes are compound literals */
        jt_binop op;
        jx_ints a, b;
        const char *msg;
    } cases[] = {
        {jx_add_at, {(const int64_t[]){2, 3}, 2}, {(const int64_t[]){4}, 1}, "add: shapes f32[2,3] and f32[4] do not broadcast"},
        {jx_max_at, {(const int64_t[]){2, 3}, 2}, {(const int64_t[]){3, 2}, 2}, "max: shapes f32[2,3] and f32[3,2] do not broadcast"},
        {jx_eq_at, {(const int64_t[]){2}, 1}, {(const int64_t[]){0}, 1}, "eq: shapes f32[2] and f32[0] do not broadcast"},
        {jx_sub_at, {(const int64_t[]){5, 2, 3}, 3}, {(const int64_t[]){3, 1}, 2}, "sub: shapes f32[5,2,3] and f32[3,1] do not broadcast"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        jx_array *a = jx_array_zeros(JX_F32, cases[k].a), *b = jx_array_zeros(JX_F32, cases[k].b);
        jt_op op;
        CU_ASSERT_PTR_NULL(jt_eval_bin(cases[k].op, a, b, &op));
        JT_ASSERT_FAIL(JX_ERR_SHAPE, cases[k].msg, op.loc.file, op.loc.line);
        jx_array_release(a);
        jx_array_release(b);
    }
}

/* ------------------------------------------------------------------ ops with attributes */

static int err_line;

/* Traces body on the avals and expects it to fail. */
static void expect_trace_fails(jx_body body, int nin, const jx_aval *av) {
    jx_fn *f = jx_trace("err", body, NULL, nin, av, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
}

static void body_ipow_negative(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_integer_pow(in[0], -1);
}
static void body_ipow_u8(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_integer_pow(in[0], 2);
}
static void body_convert_bad(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_convert(in[0], JX_DTYPE_COUNT);
}

static void test_attribute_errors(void) {
    jx_aval i32 = JX_AVAL(JX_I32, 2), u8 = JX_AVAL(JX_U8, 2);
    expect_trace_fails(body_ipow_negative, 1, &i32);
    JT_ASSERT_FAIL(JX_ERR_ARG, "integer_pow: negative exponent -1 needs a float operand, got i32[2]", __FILE__,
                   err_line);
    expect_trace_fails(body_ipow_u8, 1, &u8);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "integer_pow: wants i32, i64, f32 or f64, got u8[2]", __FILE__, err_line);
    expect_trace_fails(body_convert_bad, 1, &i32);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "convert_element_type: wants a valid dtype attribute", __FILE__, err_line);
}

/* select: user picks the case */
static void body_select_err(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_select(in[0], in[1], in[2]);
}

static void test_select_errors(void) {
    static const struct {
        jx_aval av[3];
        jx_status code;
        const char *msg;
    } cases[] = {
        {{{JX_F32, 1, {2}}, {JX_F32, 1, {2}}, {JX_F32, 1, {2}}}, JX_ERR_DTYPE, "select: predicate must be bool, got f32[2]"},
        {{{JX_BOOL, 1, {2}}, {JX_F32, 1, {2}}, {JX_I32, 0, {0}}}, JX_ERR_DTYPE,
         "select: dtypes differ: f32[2] and i32[] (convert with jx_convert)"},
        {{{JX_BOOL, 1, {2}}, {JX_F32, 1, {3}}, {JX_F32, 1, {3}}}, JX_ERR_SHAPE,
         "select: shapes bool[2], f32[3] and f32[3] do not broadcast"},
        {{{JX_BOOL, 1, {2}}, {JX_F16, 1, {2}}, {JX_F16, 1, {2}}}, JX_ERR_DTYPE,
         "select: f16 is a storage type: convert to f32 first"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        expect_trace_fails(body_select_err, 3, cases[k].av);
        JT_ASSERT_FAIL(cases[k].code, cases[k].msg, __FILE__, err_line);
    }
}

/* ------------------------------------------------------------------ creation */

static void body_iota_axis(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    err_line = __LINE__ + 1;
    out[0] = jx_iota(JX_I32, JX_INTS(2, 3), *(const int *)user);
}
static void body_iota_rank0(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_iota(JX_I32, JX_NOINTS, 0);
}
static void body_iota_bool(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_iota(JX_BOOL, JX_INTS(3), 0);
}
static void body_full_bad(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_full(JX_F32, JX_INTS(2, -1), 0);
}
static void body_const_null(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_const(NULL);
}
static void body_scalar_bad(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_scalar((jx_dtype)99, 1);
}
static void body_like_none(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_zeros_like(JX_NONE);
}

static void test_creation_errors(void) {
    for (int axis = 2; axis >= -3; axis -= 5) {
        jx_fn *f = jx_trace("iota", body_iota_axis, &axis, 0, NULL, 1);
        CU_ASSERT_PTR_NULL(f);
        char want[64];
        snprintf(want, sizeof want, "iota: axis %d out of range for rank 2", axis);
        JT_ASSERT_FAIL(JX_ERR_AXIS, want, __FILE__, err_line);
    }
    expect_trace_fails(body_iota_rank0, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_AXIS, "iota: axis 0 out of range for rank 0", __FILE__, err_line);
    expect_trace_fails(body_iota_bool, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "iota: wants u8, i32, u32, i64, f32 or f64, got bool[3]", __FILE__, err_line);
    expect_trace_fails(body_full_bad, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_SHAPE, "full: invalid shape (2,-1)", __FILE__, err_line);
    expect_trace_fails(body_const_null, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_ARG, "const: array is NULL", __FILE__, err_line);
    expect_trace_fails(body_scalar_bad, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "scalar: invalid dtype 99", __FILE__, err_line);
    expect_trace_fails(body_like_none, 0, NULL);
    JT_ASSERT_FAIL(JX_ERR_TRACE, "zeros_like: invalid value", __FILE__, err_line);
}

/* ------------------------------------------------------------------ sticky errors, invalid values */

static int second_line;
static jx_val after_error;

static void body_two_errors(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    jx_val bad = jx_exp(in[1]); /* i32: fails */
    second_line = __LINE__ + 1;
    after_error = jx_add(in[0], in[0]); /* fine on its own, but the trace has failed */
    out[0] = jx_add(bad, in[0]);
}

static void body_add_none(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx_add(JX_NONE, in[0]);
}

static void test_sticky_and_invalid(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2), JX_AVAL(JX_I32, 2)};
    expect_trace_fails(body_two_errors, 2, av);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "exp: wants f32 or f64, got i32[2]", __FILE__, err_line);
    CU_ASSERT(!jt_err_has(jt_place(__FILE__, second_line)));
    CU_ASSERT_EQUAL(after_error.id, -1);
    expect_trace_fails(body_add_none, 1, av);
    JT_ASSERT_FAIL(JX_ERR_TRACE, "add: invalid value (JX_NONE or the result of a failed op)", __FILE__, err_line);
}

/* ------------------------------------------------------------------ the primitives' own rules */

static void body_prim_add(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx__bind1(JX_HERE, JX_PRIM_ADD, 2, in, 0, NULL);
}
static void body_prim_select(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx__bind1(JX_HERE, JX_PRIM_SELECT, 3, in, 0, NULL);
}
static void body_prim_ipow(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    err_line = __LINE__ + 1;
    out[0] = jx__bind1(JX_HERE, JX_PRIM_INTEGER_POW, 1, in, 0, NULL); /* no y */
}

static void test_primitive_rules(void) {
    /* numpy broadcasting happens in jx_add; the primitive takes equal shapes or rank 0 */
    jx_aval av[3] = {JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    expect_trace_fails(body_prim_add, 2, av);
    JT_ASSERT_FAIL(JX_ERR_SHAPE,
                   "add: shapes differ: f32[2,3] and f32[3] (the primitive broadcasts rank-0 operands only)",
                   __FILE__, err_line);
    jx_aval sv[3] = {JX_AVAL(JX_BOOL, 2), JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    expect_trace_fails(body_prim_select, 3, sv);
    JT_ASSERT_FAIL(JX_ERR_SHAPE, "select: shapes differ: bool[2], f32[3] and f32[]", __FILE__, err_line);
    sv[0] = JX_AVAL(JX_BOOL, 3);
    sv[2] = JX_SCALAR(JX_I32);
    expect_trace_fails(body_prim_select, 3, sv);
    JT_ASSERT_FAIL(JX_ERR_DTYPE, "select: branches differ in dtype: f32[3] and i32[]", __FILE__, err_line);
    expect_trace_fails(body_prim_ipow, 1, av);
    JT_ASSERT_FAIL(JX_ERR_ARG, "integer_pow: wants an integer attribute y", __FILE__, err_line);

    /* a rank-0 operand is fine for the primitive */
    jx_aval ok[2] = {JX_AVAL(JX_F32, 2, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = jx_trace("prim", body_prim_add, NULL, 2, ok, 1);
    CU_ASSERT_PTR_NOT_NULL(f);
    jx_aval o = jx_fn_output_aval(f, 0);
    CU_ASSERT(jx_aval_equal(&o, &ok[0]));
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"unary dtype errors name the op and the line", test_unary_dtype_errors},
        {"binary and compare dtype errors", test_binary_dtype_errors},
        {"shapes that do not broadcast", test_broadcast_shape_errors},
        {"integer_pow and convert attribute errors", test_attribute_errors},
        {"select errors", test_select_errors},
        {"iota, full, const, scalar errors", test_creation_errors},
        {"errors are sticky; invalid operands", test_sticky_and_invalid},
        {"primitive rules: rank-0 broadcast only", test_primitive_rules},
        CU_TEST_INFO_NULL,
    };
    return jt_run("elementwise errors", tests);
}
