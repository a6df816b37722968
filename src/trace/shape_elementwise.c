/* shape_elementwise.c: shape and dtype rules for the elementwise primitives, select,
 * iota and constant (see prims.def). Binary primitives take equal shapes or a rank-0
 * operand that broadcasts; the public ops do numpy broadcasting before binding. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

/* ------------------------------------------------------------------ dtype classes */

#define M(d) (1u << JX_##d)
#define M_FLOAT (M(F32) | M(F64))
#define M_SIGNED (M_FLOAT | M(I32) | M(I64))
#define M_INT (M(U8) | M(I32) | M(U32) | M(I64))
#define M_NUM (M_FLOAT | M_INT)
#define M_INTB (M_INT | M(BOOL))
#define M_NOHALF (M_NUM | M(BOOL))
#define M_ANY ((1u << JX_DTYPE_COUNT) - 1u)

/* "f32 or f64", "u8, i32, u32 or i64": the dtypes of a mask, for messages. */
static const char *mask_str(unsigned mask, char *buf, size_t n) {
    int total = 0, k = 0;
    for (int d = 0; d < JX_DTYPE_COUNT; d++) total += (mask >> d) & 1u;
    size_t len = 0;
    buf[0] = 0;
    for (int d = 0; d < JX_DTYPE_COUNT && len < n; d++) {
        if (!((mask >> d) & 1u)) continue;
        const char *sep = k == 0 ? "" : k == total - 1 ? " or " : ", ";
        len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, jx_dtype_name((jx_dtype)d));
        k++;
    }
    return buf;
}

/* Checks a's dtype is in mask; f16/bf16 get a hint to convert. */
static jx_status check_dtype(unsigned mask, const jx_aval *a, jx__rule_err *err) {
    if ((unsigned)a->dtype < JX_DTYPE_COUNT && ((mask >> a->dtype) & 1u)) return JX_OK;
    if (a->dtype == JX_F16 || a->dtype == JX_BF16)
        return jx__rule_fail(err, JX_ERR_DTYPE, "%s is a storage type: convert to f32 first",
                             jx_dtype_name(a->dtype));
    char buf[96];
    return jx__rule_fail(err, JX_ERR_DTYPE, "wants %s, got %s", mask_str(mask, buf, sizeof buf),
                         jx__avs(a));
}

static bool same_shape(const jx_aval *a, const jx_aval *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* ------------------------------------------------------------------ unary */

static jx_status unary(unsigned mask, const jx_aval *in, jx_aval *out, int *nout,
                       jx__rule_err *err) {
    if (check_dtype(mask, &in[0], err)) return err->code;
    out[0] = in[0];
    *nout = 1;
    return JX_OK;
}

/* One rule per dtype class: rules do not know their primitive (the bind names it). */
#define UNARY_RULE(name, mask)                                                          \
    static jx_status name(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, \
                          int maxout, jx_aval *out, int *nout, jx__rule_err *err) {     \
        return unary(mask, in, out, nout, err);                                         \
    }
UNARY_RULE(rule_unary_float, M_FLOAT)
UNARY_RULE(rule_unary_signed, M_SIGNED)
UNARY_RULE(rule_unary_intb, M_INTB)
UNARY_RULE(rule_unary_any, M_ANY)

/* float -> bool of the same shape */
static jx_status rule_is_finite(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                                jx_aval *out, int *nout, jx__rule_err *err) {
    if (check_dtype(M_FLOAT, &in[0], err)) return err->code;
    out[0] = in[0];
    out[0].dtype = JX_BOOL;
    *nout = 1;
    return JX_OK;
}

static jx_status rule_integer_pow(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                  int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx__attr *y = jx__attr_get(nattr, attrs, JX_A_Y);
    if (!y || y->kind != JX_AK_INT)
        return jx__rule_fail(err, JX_ERR_ARG, "wants an integer attribute y");
    if (check_dtype(M_SIGNED, &in[0], err)) return err->code;
    if (y->u.i < 0 && !jx_dtype_is_float(in[0].dtype))
        return jx__rule_fail(err, JX_ERR_ARG, "negative exponent %lld needs a float operand, got %s",
                             (long long)y->u.i, jx__avs(&in[0]));
    out[0] = in[0];
    *nout = 1;
    return JX_OK;
}

/* A dtype attribute (kind dtype or int) naming a valid dtype, else -1. */
static int dtype_attr(int nattr, const jx__attr *attrs) {
    const jx__attr *d = jx__attr_get(nattr, attrs, JX_A_DTYPE);
    if (!d || (d->kind != JX_AK_DTYPE && d->kind != JX_AK_INT)) return -1;
    return d->u.i >= 0 && d->u.i < JX_DTYPE_COUNT ? (int)d->u.i : -1;
}

static jx_status rule_convert(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                              int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    int d = dtype_attr(nattr, attrs);
    if (d < 0) return jx__rule_fail(err, JX_ERR_DTYPE, "wants a valid dtype attribute");
    out[0] = in[0];
    out[0].dtype = (jx_dtype)d;
    *nout = 1;
    return JX_OK;
}

/* ------------------------------------------------------------------ binary, compare */

/* Equal dtypes, then equal shapes or one rank-0 operand; out gets the larger shape. */
static jx_status binary(unsigned mask, bool compare, const jx_aval *in, jx_aval *out, int *nout,
                        jx__rule_err *err) {
    const jx_aval *a = &in[0], *b = &in[1];
    if (a->dtype != b->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "dtypes differ: %s and %s (convert with jx_convert)",
                             jx__avs(a), jx__avs(b));
    if (check_dtype(mask, a, err)) return err->code;
    if (a->rank != 0 && b->rank != 0 && !same_shape(a, b))
        return jx__rule_fail(err, JX_ERR_SHAPE,
                             "shapes differ: %s and %s (the primitive broadcasts rank-0 operands only)",
                             jx__avs(a), jx__avs(b));
    out[0] = a->rank != 0 ? *a : *b;
    if (compare) out[0].dtype = JX_BOOL;
    *nout = 1;
    return JX_OK;
}

#define BINARY_RULE(name, mask, compare)                                                \
    static jx_status name(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, \
                          int maxout, jx_aval *out, int *nout, jx__rule_err *err) {     \
        return binary(mask, compare, in, out, nout, err);                               \
    }
BINARY_RULE(rule_binary_num, M_NUM, false)
BINARY_RULE(rule_binary_float, M_FLOAT, false)
BINARY_RULE(rule_binary_intb, M_INTB, false)
BINARY_RULE(rule_binary_int, M_INT, false)
BINARY_RULE(rule_compare, M_NOHALF, true)

static jx_status rule_select(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                             int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *p = &in[0], *t = &in[1], *f = &in[2];
    if (p->dtype != JX_BOOL)
        return jx__rule_fail(err, JX_ERR_DTYPE, "predicate must be bool, got %s", jx__avs(p));
    if (t->dtype != f->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "branches differ in dtype: %s and %s", jx__avs(t),
                             jx__avs(f));
    if (check_dtype(M_NOHALF, t, err)) return err->code;
    const jx_aval *full = p->rank ? p : t->rank ? t : f;
    for (int i = 0; i < 3; i++)
        if (in[i].rank != 0 && !same_shape(&in[i], full))
            return jx__rule_fail(err, JX_ERR_SHAPE,
                                 "shapes differ: %s, %s and %s (the primitive broadcasts rank-0 operands only)",
                                 jx__avs(p), jx__avs(t), jx__avs(f));
    out[0] = *full;
    out[0].dtype = t->dtype;
    *nout = 1;
    return JX_OK;
}

/* ------------------------------------------------------------------ creation */

static jx_status rule_iota(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                           int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    int d = dtype_attr(nattr, attrs);
    if (d < 0) return jx__rule_fail(err, JX_ERR_DTYPE, "wants a valid dtype attribute");
    const jx__attr *sh = jx__attr_get(nattr, attrs, JX_A_SHAPE);
    const jx__attr *ax = jx__attr_get(nattr, attrs, JX_A_AXIS);
    if (!sh || sh->kind != JX_AK_INTS || !ax || ax->kind != JX_AK_INT)
        return jx__rule_fail(err, JX_ERR_ARG, "wants attributes shape (ints) and axis (int)");
    jx_ints shape = {sh->u.ints, sh->n};
    jx_aval a = jx_aval_make((jx_dtype)d, shape);
    if (a.rank < 0)
        return jx__rule_fail(err, JX_ERR_SHAPE, "invalid shape %s (rank at most %d, dims >= 0)",
                             jx__ints_str(shape), JX_MAX_RANK);
    if (check_dtype(M_NUM, &a, err)) return err->code;
    if (ax->u.i < 0 || ax->u.i >= a.rank)
        return jx__rule_fail(err, JX_ERR_AXIS, "axis %lld out of range for rank %d",
                             (long long)ax->u.i, a.rank);
    out[0] = a;
    *nout = 1;
    return JX_OK;
}

static jx_status rule_constant(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                               int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx__attr *v = jx__attr_get(nattr, attrs, JX_A_VALUE);
    if (!v || v->kind != JX_AK_ARRAY || !v->u.arr)
        return jx__rule_fail(err, JX_ERR_ARG, "wants an array attribute value");
    out[0] = v->u.arr->aval;
    *nout = 1;
    return JX_OK;
}

/* ------------------------------------------------------------------ registration */

void jx__shape_register_elementwise(jx__shape_rule *t) {
    static const jx_prim float_unary[] = {
        JX_PRIM_EXP,  JX_PRIM_LOG,  JX_PRIM_LOG1P, JX_PRIM_EXPM1, JX_PRIM_TANH, JX_PRIM_LOGISTIC,
        JX_PRIM_SIN,  JX_PRIM_COS,  JX_PRIM_SQRT,  JX_PRIM_RSQRT, JX_PRIM_FLOOR, JX_PRIM_CEIL,
        JX_PRIM_ROUND, JX_PRIM_ERF, JX_PRIM_ERFC, JX_PRIM_LGAMMA, JX_PRIM_DIGAMMA, JX_PRIM_TAN,
        JX_PRIM_ASIN, JX_PRIM_ACOS, JX_PRIM_ATAN, JX_PRIM_SINH, JX_PRIM_COSH, JX_PRIM_ASINH,
        JX_PRIM_ACOSH, JX_PRIM_ATANH};
    for (size_t i = 0; i < sizeof float_unary / sizeof *float_unary; i++)
        t[float_unary[i]] = rule_unary_float;
    t[JX_PRIM_NEG] = t[JX_PRIM_ABS] = t[JX_PRIM_SIGN] = rule_unary_signed;
    t[JX_PRIM_NOT] = rule_unary_intb;
    t[JX_PRIM_STOP_GRADIENT] = rule_unary_any;
    t[JX_PRIM_INTEGER_POW] = rule_integer_pow;
    t[JX_PRIM_IS_FINITE] = rule_is_finite;
    t[JX_PRIM_CONVERT] = rule_convert;

    t[JX_PRIM_ADD] = t[JX_PRIM_SUB] = t[JX_PRIM_MUL] = rule_binary_num;
    t[JX_PRIM_DIV] = t[JX_PRIM_REM] = t[JX_PRIM_MAX] = t[JX_PRIM_MIN] = rule_binary_num;
    t[JX_PRIM_POW] = t[JX_PRIM_ATAN2] = rule_binary_float;
    t[JX_PRIM_AND] = t[JX_PRIM_OR] = t[JX_PRIM_XOR] = rule_binary_intb;
    t[JX_PRIM_SHIFT_LEFT] = t[JX_PRIM_SHIFT_RIGHT_LOGICAL] = rule_binary_int;
    t[JX_PRIM_SHIFT_RIGHT_ARITHMETIC] = rule_binary_int;
    for (int p = JX_PRIM_EQ; p <= JX_PRIM_GE; p++) t[p] = rule_compare;
    t[JX_PRIM_SELECT] = rule_select;
    t[JX_PRIM_IOTA] = rule_iota;
    t[JX_PRIM_CONSTANT] = rule_constant;
}
