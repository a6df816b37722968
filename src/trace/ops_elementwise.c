/* ops_elementwise.c: the public elementwise ops (constants, unary, binary with numpy
 * broadcasting, compare, select, convert, iota). */
#include <stdio.h>
#include <string.h>

#include "ops_util.h"

/* ------------------------------------------------------------------ constants */

jx_val jx_scalar_at(jx_loc loc, jx_dtype dtype, double value) {
    jx__trace *t = jx__ops_trace(loc, "scalar");
    if (!t) return JX_NONE;
    if (t->status != JX_OK) return jx__ops_invalid();
    if ((unsigned)dtype >= JX_DTYPE_COUNT)
        return jx__ops_fail(loc, JX_ERR_DTYPE, "scalar", "invalid dtype %d", (int)dtype);
    int64_t lo = 0, hi = -1; /* the integer dtypes' ranges */
    switch (dtype) {
    case JX_U8: hi = UINT8_MAX; break;
    case JX_U32: hi = UINT32_MAX; break;
    case JX_I32: lo = INT32_MIN, hi = INT32_MAX; break;
    case JX_I64: lo = INT64_MIN, hi = INT64_MAX; break;
    default: break;
    }
    /* truncation toward zero must land in [lo, hi] ((double)hi + 1 is exact for all four;
     * (double)lo - 1 rounds to lo for i64, whose lo itself is allowed); NaN never fits */
    bool fits = (value > (double)lo - 1 || value == (double)lo) && value < (double)hi + 1;
    if (hi > lo && !fits)
        return jx__ops_fail(loc, JX_ERR_ARG, "scalar", "%.17g is out of range for %s [%lld, %lld]", value,
                            jx_dtype_name(dtype), (long long)lo, (long long)hi);
    return jx__lit_val(t, jx__lit_make(dtype, value));
}

jx_val jx_scalar_like_at(jx_loc loc, jx_val like, double value) {
    jx_aval a;
    if (!jx__ops_aval(loc, "scalar_like", like, &a)) return jx__ops_invalid();
    return jx_scalar_at(loc, a.dtype, value);
}

/* The exact value of a rank-0 array as a literal (i64 is not routed through double). */
static jx__atom array_literal(const jx_array *x) {
    jx__atom a;
    memset(&a, 0, sizeof a);
    a.var = -1;
    a.dtype = x->aval.dtype;
    const void *d = x->data;
    switch (x->aval.dtype) {
    case JX_I64: a.lit.i = *(const int64_t *)d; break;
    case JX_I32: a.lit.i = *(const int32_t *)d; break;
    case JX_U32: a.lit.i = *(const uint32_t *)d; break;
    case JX_BOOL:
    case JX_U8: a.lit.i = *(const uint8_t *)d; break;
    default: a.lit.f = jx_array_get(x, 0); break; /* floats: exact through double */
    }
    return a;
}

jx_val jx_const_at(jx_loc loc, jx_array *value) {
    jx__trace *t = jx__ops_trace(loc, "const");
    if (!t) return JX_NONE;
    if (t->status != JX_OK) return jx__ops_invalid();
    if (!value) return jx__ops_fail(loc, JX_ERR_ARG, "const", "array is NULL");
    if (!jx__array_host(value)) { /* a device array is read back once */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", jx_errmsg());
        return jx__ops_fail(loc, jx_errcode(), "const", "%s", msg);
    }
    if (value->aval.rank == 0) return jx__lit_val(t, array_literal(value));
    jx__attr attr = jx__a_array(JX_A_VALUE, value); /* the bind's copy retains it */
    return jx__bind1(loc, JX_PRIM_CONSTANT, 0, NULL, 1, &attr);
}

jx_val jx_full_at(jx_loc loc, jx_dtype dtype, jx_ints shape, double value) {
    if (!jx__ops_trace(loc, "full")) return JX_NONE;
    jx_aval a = jx_aval_make(dtype, shape);
    if (a.rank < 0)
        return jx__ops_fail(loc, JX_ERR_SHAPE, "full", "invalid shape %s (rank at most %d, dims >= 0)",
                            jx__ints_str(shape), JX_MAX_RANK);
    jx_val s = jx_scalar_at(loc, dtype, value);
    return a.rank == 0 ? s : jx_broadcast_in_dim_at(loc, s, shape, JX_NOINTS);
}

static jx_val full_like(jx_loc loc, const char *what, jx_val x, double value) {
    jx_aval a;
    if (!jx__ops_aval(loc, what, x, &a)) return jx__ops_invalid();
    return jx_full_at(loc, a.dtype, (jx_ints){a.shape, a.rank}, value);
}

jx_val jx_zeros_like_at(jx_loc loc, jx_val x) { return full_like(loc, "zeros_like", x, 0); }
jx_val jx_ones_like_at(jx_loc loc, jx_val x) { return full_like(loc, "ones_like", x, 1); }

jx_val jx_iota_at(jx_loc loc, jx_dtype dtype, jx_ints shape, int dimension) {
    int ax = jx__norm_axis(dimension, shape.n);
    jx__attr attrs[3] = {jx__a_dtype(JX_A_DTYPE, dtype), jx__a_ints(JX_A_SHAPE, shape),
                         jx__a_int(JX_A_AXIS, ax >= 0 ? ax : dimension)};
    return jx__bind1(loc, JX_PRIM_IOTA, 0, NULL, 3, attrs);
}

/* ------------------------------------------------------------------ unary */

#define UNARY_OP(name, PRIM) \
    jx_val jx_##name##_at(jx_loc loc, jx_val x) { return jx__bind1(loc, JX_PRIM_##PRIM, 1, &x, 0, NULL); }
UNARY_OP(neg, NEG)
UNARY_OP(exp, EXP)
UNARY_OP(log, LOG)
UNARY_OP(log1p, LOG1P)
UNARY_OP(expm1, EXPM1)
UNARY_OP(tanh, TANH)
UNARY_OP(logistic, LOGISTIC)
UNARY_OP(sin, SIN)
UNARY_OP(cos, COS)
UNARY_OP(sqrt, SQRT)
UNARY_OP(rsqrt, RSQRT)
UNARY_OP(abs, ABS)
UNARY_OP(sign, SIGN)
UNARY_OP(floor, FLOOR)
UNARY_OP(ceil, CEIL)
UNARY_OP(round, ROUND)
UNARY_OP(not, NOT)
UNARY_OP(stop_gradient, STOP_GRADIENT)
UNARY_OP(erf, ERF)
UNARY_OP(erfc, ERFC)
UNARY_OP(lgamma, LGAMMA)
UNARY_OP(digamma, DIGAMMA)
UNARY_OP(tan, TAN)
UNARY_OP(asin, ASIN)
UNARY_OP(acos, ACOS)
UNARY_OP(atan, ATAN)
UNARY_OP(sinh, SINH)
UNARY_OP(cosh, COSH)
UNARY_OP(asinh, ASINH)
UNARY_OP(acosh, ACOSH)
UNARY_OP(atanh, ATANH)
UNARY_OP(is_finite, IS_FINITE)

jx_val jx_integer_pow_at(jx_loc loc, jx_val x, int y) {
    jx__attr a = jx__a_int(JX_A_Y, y);
    return jx__bind1(loc, JX_PRIM_INTEGER_POW, 1, &x, 1, &a);
}

jx_val jx_convert_at(jx_loc loc, jx_val x, jx_dtype dtype) {
    jx__attr a = jx__a_dtype(JX_A_DTYPE, dtype);
    return jx__bind1(loc, JX_PRIM_CONVERT, 1, &x, 1, &a);
}

/* ------------------------------------------------------------------ binary */

/* Binds prim on n operands after numpy broadcasting. Operands of rank 0 are left
 * alone (the primitives broadcast them); dtypes of operands [first, n) must match,
 * and operands before `first` (select's predicate) must be bool. */
static jx_val broadcast_bind(jx_loc loc, jx_prim prim, int n, int first, jx_val *in) {
    const char *what = jx__prims[prim].name;
    jx_aval av[3];
    for (int i = 0; i < n; i++)
        if (jx__ops_failed() || !jx__ops_aval(loc, what, in[i], &av[i]))
            return jx__bind1(loc, prim, n, in, 0, NULL); /* reports the failure */
    for (int i = 0; i < first; i++)
        if (av[i].dtype != JX_BOOL)
            return jx__ops_fail(loc, JX_ERR_DTYPE, what, "predicate must be bool, got %s", jx__avs(&av[i]));
    for (int i = first + 1; i < n; i++)
        if (av[i].dtype != av[first].dtype)
            return jx__ops_fail(loc, JX_ERR_DTYPE, what, "dtypes differ: %s and %s (convert with jx_convert)",
                                jx__avs(&av[first]), jx__avs(&av[i]));
    jx_aval to; /* the broadcast shape of the operands of rank > 0 */
    memset(&to, 0, sizeof to);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        jx_aval sofar = to;
        if (av[i].rank) ok = jx__broadcast_shapes(&sofar, &av[i], &to);
    }
    if (!ok) {
        char buf[256];
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
                                    i == 0 ? "" : i == n - 1 ? " and " : ", ", jx__avs(&av[i]));
        return jx__ops_fail(loc, JX_ERR_SHAPE, what, "shapes %s do not broadcast", buf);
    }
    for (int i = 0; i < n; i++)
        if (av[i].rank) in[i] = jx__broadcast_to_aval(loc, in[i], &to);
    return jx__bind1(loc, prim, n, in, 0, NULL);
}

#define BINARY_OP(name, PRIM)                                         \
    jx_val jx_##name##_at(jx_loc loc, jx_val a, jx_val b) {           \
        jx_val in[2] = {a, b};                                        \
        return broadcast_bind(loc, JX_PRIM_##PRIM, 2, 0, in);         \
    }
BINARY_OP(add, ADD)
BINARY_OP(sub, SUB)
BINARY_OP(mul, MUL)
BINARY_OP(div, DIV)
BINARY_OP(rem, REM)
BINARY_OP(pow, POW)
BINARY_OP(max, MAX)
BINARY_OP(min, MIN)
BINARY_OP(atan2, ATAN2)
BINARY_OP(and, AND)
BINARY_OP(or, OR)
BINARY_OP(xor, XOR)
BINARY_OP(shift_left, SHIFT_LEFT)
BINARY_OP(shift_right_logical, SHIFT_RIGHT_LOGICAL)
BINARY_OP(shift_right_arithmetic, SHIFT_RIGHT_ARITHMETIC)
BINARY_OP(eq, EQ)
BINARY_OP(ne, NE)
BINARY_OP(lt, LT)
BINARY_OP(le, LE)
BINARY_OP(gt, GT)
BINARY_OP(ge, GE)

jx_val jx_select_at(jx_loc loc, jx_val pred, jx_val on_true, jx_val on_false) {
    jx_val in[3] = {pred, on_true, on_false};
    return broadcast_bind(loc, JX_PRIM_SELECT, 3, 1, in);
}
