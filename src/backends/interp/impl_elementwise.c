/* impl_elementwise.c: reference implementations of the elementwise unary, binary and
 * compare primitives and select (see prims.def). Each (primitive, dtype) pair gets its
 * own plain typed loop, generated from one expression per dtype class, so the compiler
 * can vectorise it; a rank-0 operand broadcasts. Convert, integer_pow, iota and
 * constant live in impl_convert.c.
 *
 * Semantics (XLA's where C leaves a choice):
 *  - integer add/sub/mul/neg/abs wrap (computed in the unsigned type: no UB);
 *  - x/0 is -1 for signed and all ones for unsigned ints, x%0 is x, INT_MIN/-1 is
 *    INT_MIN and INT_MIN%-1 is 0; float rem is fmod (sign of x);
 *  - max/min propagate NaN; round is half away from zero; sign(0)=0, sign(NaN)=NaN;
 *  - shifts by the bit width or more (or negative) give 0, arithmetic right shift gives
 *    the sign fill (on unsigned dtypes too: the top bit is the sign, like XLA);
 *  - logistic never overflows: exp is only taken of -|x|. */
#include <float.h>
#include <stdint.h>
#include <tgmath.h>

#include "../../trace/ir.h"
#include "impl_elementwise.h"
#include "../special.h"
#include "../vmath.h"

/* jx__name for doubles, jx__namef for floats (the backends' shared special functions) */
#define SPECIAL(name, a) _Generic((a), float: jx__##name##f, default: jx__##name)(a)

/* A library function's argument as the CPU's subnormal mode sees it (src/backends/fpenv.h):
 * libm may read a subnormal's bits without arithmetic, so under DAZ it is made +-0 here,
 * by arithmetic DAZ acts on; without DAZ (x * 2) * 0.5 is x exactly. The code generator
 * does the same (codegen_ops.c), so both executors give the same bits. */
#define DAZ(a) (fabs(a) < (sizeof(a) == 4 ? FLT_MIN : DBL_MIN) ? ((a) * 2) * (__typeof__(a))0.5 : (a))

/* f32 exp etc. as vmath.h chose them (SLEEF's or libm's: the jit's own), f64 libm's */
#define VM(name, a) _Generic((a), float: jx__vm_##name##f, default: name)(a)

/* ------------------------------------------------------------------ dtype classes */

/* X(DTYPE, elem, wide, sgn, args...): wide is the type arithmetic is done in (unsigned for
 * ints, so it wraps), sgn the signed type of the same width (arithmetic shifts). */
#define FOR_FLOAT(X, ...) X(F32, float, float, float, __VA_ARGS__) X(F64, double, double, double, __VA_ARGS__)
#define FOR_SINT(X, ...) X(I32, int32_t, uint32_t, int32_t, __VA_ARGS__) X(I64, int64_t, uint64_t, int64_t, __VA_ARGS__)
#define FOR_UINT(X, ...) X(U8, uint8_t, uint32_t, int8_t, __VA_ARGS__) X(U32, uint32_t, uint32_t, int32_t, __VA_ARGS__)
#define FOR_BOOL(X, ...) X(BOOL, uint8_t, uint32_t, int8_t, __VA_ARGS__)
#define FOR_INT(X, ...) FOR_SINT(X, __VA_ARGS__) FOR_UINT(X, __VA_ARGS__)
#define FOR_NUM(X, ...) FOR_FLOAT(X, __VA_ARGS__) FOR_INT(X, __VA_ARGS__)
#define FOR_INTB(X, ...) FOR_INT(X, __VA_ARGS__) FOR_BOOL(X, __VA_ARGS__)
#define FOR_ALL(X, ...) FOR_NUM(X, __VA_ARGS__) FOR_BOOL(X, __VA_ARGS__)

/* Inside the kernels the expressions see `a` (and `b`) of type elem, and the types elem,
 * wide and sgn; BITS is elem's width. */
#define BITS (8 * sizeof(elem))

/* ------------------------------------------------------------------ unary */

/* X(class, PRIM, expression of a) */
#define UNARY_OPS(X)                                                                                  \
    X(FLOAT, NEG, -a)                                                                                 \
    X(SINT, NEG, (elem)((wide)0 - (wide)a))                                                           \
    X(FLOAT, EXP, VM(exp, DAZ(a)))                                                                    \
    X(FLOAT, LOG, log(sizeof(a) == 4 ? a : DAZ(a))) /* f32: as XLA, see codegen_ops.c */              \
    X(FLOAT, LOG1P, VM(log1p, DAZ(a)))                                                                \
    X(FLOAT, EXPM1, VM(expm1, DAZ(a)))                                                                \
    X(FLOAT, TANH, VM(tanh, DAZ(a)))                                                                  \
    X(FLOAT, LOGISTIC, a >= 0 ? 1 / (1 + VM(exp, -DAZ(a))) : VM(exp, DAZ(a)) / (1 + VM(exp, DAZ(a)))) \
    X(FLOAT, SIN, VM(sin, DAZ(a)))                                                                    \
    X(FLOAT, COS, VM(cos, DAZ(a)))                                                                    \
    X(FLOAT, SQRT, sqrt(a))                                                                           \
    X(FLOAT, RSQRT, 1 / sqrt(a))                                                                      \
    X(FLOAT, ABS, fabs(a))                                                                            \
    X(SINT, ABS, a < 0 ? (elem)((wide)0 - (wide)a) : a)                                               \
    X(FLOAT, SIGN, a > 0 ? (elem)1 : a < 0 ? (elem)-1 : a) /* keeps 0, -0 and NaN */                  \
    X(SINT, SIGN, (elem)((a > 0) - (a < 0)))                                                          \
    X(FLOAT, FLOOR, floor(a))                                                                         \
    X(FLOAT, CEIL, ceil(a))                                                                           \
    X(FLOAT, ROUND, round(a)) /* C's round: half away from zero */                                    \
    X(FLOAT, ERF, erf(DAZ(a)))                                                                        \
    X(FLOAT, ERFC, erfc(DAZ(a)))                                                                      \
    X(FLOAT, LGAMMA, SPECIAL(lgamma, DAZ(a)))                                                         \
    X(FLOAT, DIGAMMA, SPECIAL(digamma, DAZ(a)))                                                       \
    X(FLOAT, TAN, tan(DAZ(a)))                                                                        \
    X(FLOAT, ASIN, asin(DAZ(a)))                                                                      \
    X(FLOAT, ACOS, acos(DAZ(a)))                                                                      \
    X(FLOAT, ATAN, atan(DAZ(a)))                                                                      \
    X(FLOAT, SINH, sinh(DAZ(a)))                                                                      \
    X(FLOAT, COSH, cosh(DAZ(a)))                                                                      \
    X(FLOAT, ASINH, asinh(DAZ(a)))                                                                    \
    X(FLOAT, ACOSH, acosh(DAZ(a)))                                                                    \
    X(FLOAT, ATANH, atanh(DAZ(a)))                                                                    \
    X(INT, NOT, (elem)~a)                                                                             \
    X(BOOL, NOT, (elem)!a)

typedef void (*unary_kernel)(const void *x, void *y, int64_t n);
static unary_kernel unary_k[JX_PRIM_COUNT][JX_DTYPE_COUNT];

/* x, y: n elements. The typed loop takes restrict parameters (what lets the compiler
 * vectorise it); the kernel in the table is its void* wrapper. */
#define UNARY_KERNEL(D, T, W, S, P, expr)                                              \
    static inline void un_##P##_##D##_loop(const T *restrict x, T *restrict y, int64_t n) { \
        typedef T elem;                                                                \
        typedef W wide;                                                                \
        JX__VLOOP(i, n, elem a = x[i]; y[i] = (elem)(expr));                           \
    }                                                                                  \
    static void un_##P##_##D(const void *x, void *y, int64_t n) { un_##P##_##D##_loop(x, y, n); }
#define UNARY_DEFINE(CLASS, P, expr) FOR_##CLASS(UNARY_KERNEL, P, expr)
/* every kernel declares the typedefs; not every expression uses them */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-local-typedefs"
UNARY_OPS(UNARY_DEFINE)

static jx_status impl_unary(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    unary_kernel k = unary_k[e->prim][in[0]->aval.dtype];
    if (!k) return jx__impl_no_kernel(e, &in[0]->aval);
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    k(in[0]->data, y->data, jx_aval_size(&oav[0]));
    out[0] = y;
    return JX_OK;
}

static jx_status impl_stop_gradient(const jx__eqn *e, jx_array *const *in, const jx_aval *oav,
                                    jx_array **out) {
    out[0] = jx_array_retain(in[0]); /* arrays are immutable once shared */
    return JX_OK;
}

/* f32/f64 -> bool */
static jx_status impl_is_finite(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    jx_dtype t = in[0]->aval.dtype;
    if (t != JX_F32 && t != JX_F64) return jx__impl_no_kernel(e, &in[0]->aval);
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    int64_t n = jx_aval_size(&oav[0]);
    uint8_t *r = y->data;
    if (t == JX_F32)
        for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)isfinite(((const float *)in[0]->data)[i]);
    else
        for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)isfinite(((const double *)in[0]->data)[i]);
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ binary, compare */

/* X(class, PRIM, result type, expression of a and b); the result type is SAME(T) or
 * BOOL8(T): a macro of the element type. */
#define SAME(T) T
#define BOOL8(T) uint8_t
#define BINARY_OPS(X)                                                                           \
    X(NUM, ADD, SAME, (elem)((wide)a + (wide)b))                                                \
    X(NUM, SUB, SAME, (elem)((wide)a - (wide)b))                                                \
    X(NUM, MUL, SAME, (elem)((wide)a * (wide)b))                                                \
    X(FLOAT, DIV, SAME, a / b)                                                                  \
    X(SINT, DIV, SAME, b == 0 ? (elem)-1 : b == -1 ? (elem)((wide)0 - (wide)a) : a / b)         \
    X(UINT, DIV, SAME, b == 0 ? (elem)-1 : a / b)                                               \
    X(FLOAT, REM, SAME, fmod(DAZ(a), DAZ(b)))                                                   \
    X(SINT, REM, SAME, b == 0 ? a : b == -1 ? 0 : a % b)                                        \
    X(UINT, REM, SAME, b == 0 ? a : a % b)                                                      \
    X(FLOAT, POW, SAME, pow(DAZ(a), DAZ(b)))                                                    \
    X(FLOAT, MAX, SAME, a > b || a != a ? a : b)                                                \
    X(INT, MAX, SAME, a > b ? a : b)                                                            \
    X(FLOAT, MIN, SAME, a < b || a != a ? a : b)                                                \
    X(INT, MIN, SAME, a < b ? a : b)                                                            \
    X(FLOAT, ATAN2, SAME, atan2(DAZ(a), DAZ(b)))                                                \
    X(INTB, AND, SAME, a & b)                                                                   \
    X(INTB, OR, SAME, a | b)                                                                    \
    X(INTB, XOR, SAME, a ^ b)                                                                   \
    X(INT, SHIFT_LEFT, SAME, (wide)b >= BITS ? 0 : (elem)((wide)a << (wide)b))                  \
    X(INT, SHIFT_RIGHT_LOGICAL, SAME, (wide)b >= BITS ? 0 : (elem)((wide)a >> (wide)b))         \
    X(INT, SHIFT_RIGHT_ARITHMETIC, SAME, (elem)((sgn)a >> ((wide)b >= BITS ? BITS - 1 : (wide)b))) \
    X(ALL, EQ, BOOL8, a == b)                                                                 \
    X(ALL, NE, BOOL8, a != b)                                                                 \
    X(ALL, LT, BOOL8, a < b)                                                                  \
    X(ALL, LE, BOOL8, a <= b)                                                                 \
    X(ALL, GT, BOOL8, a > b)                                                                  \
    X(ALL, GE, BOOL8, a >= b)

/* How the operands line up: equal shapes, or one of them a rank-0 scalar. */
enum { BOTH_FULL, A_SCALAR, B_SCALAR };
typedef void (*binary_kernel)(const void *a, const void *b, void *y, int64_t n, int mode);
static binary_kernel binary_k[JX_PRIM_COUNT][JX_DTYPE_COUNT];

/* a, b: n elements, or 1 for the scalar side; y: n elements of R(T). One loop per mode
 * keeps each a plain typed loop. */
#define BINARY_KERNEL(D, T, W, S, P, R, expr)                                                  \
    static inline void bin_##P##_##D##_loop(const T *restrict ap, const T *restrict bp,        \
                                            R(T) *restrict y, int64_t n, int mode) {           \
        typedef T elem;                                                                        \
        typedef W wide;                                                                        \
        typedef S sgn;                                                                         \
        if (mode == A_SCALAR) {                                                                \
            const elem a = ap[0];                                                              \
            JX__VLOOP(i, n, elem b = bp[i]; y[i] = (R(T))(expr));                              \
        } else if (mode == B_SCALAR) {                                                         \
            const elem b = bp[0];                                                              \
            JX__VLOOP(i, n, elem a = ap[i]; y[i] = (R(T))(expr));                              \
        } else {                                                                               \
            JX__VLOOP(i, n, elem a = ap[i]; elem b = bp[i]; y[i] = (R(T))(expr));              \
        }                                                                                      \
    }                                                                                          \
    static void bin_##P##_##D(const void *a, const void *b, void *y, int64_t n, int mode) {    \
        bin_##P##_##D##_loop(a, b, y, n, mode);                                                \
    }
#define BINARY_DEFINE(CLASS, P, R, expr) FOR_##CLASS(BINARY_KERNEL, P, R, expr)
BINARY_OPS(BINARY_DEFINE)
#pragma GCC diagnostic pop

static jx_status impl_binary(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *a = &in[0]->aval, *b = &in[1]->aval;
    binary_kernel k = binary_k[e->prim][a->dtype];
    if (!k || b->dtype != a->dtype) return jx__impl_no_kernel(e, a);
    int64_t n = jx_aval_size(&oav[0]);
    int mode = a->rank == 0 && b->rank != 0 ? A_SCALAR : b->rank == 0 && a->rank != 0 ? B_SCALAR : BOTH_FULL;
    if (mode == BOTH_FULL && (jx_aval_size(a) != n || jx_aval_size(b) != n))
        return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "operands %s and %s for %s",
                        jx__avs(a), jx__avs(b), jx__avs(&oav[0]));
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    k(in[0]->data, in[1]->data, y->data, n, mode);
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ select */

/* p: bool; t, f, y: elements of `bits` bits. A step of 0 broadcasts a rank-0 operand.
 * Both branches are loaded before choosing, so the common loop vectorises. */
#define SELECT_KERNEL(bits)                                                                      \
    static inline void select_##bits##_loop(const uint8_t *restrict p, const uint##bits##_t *restrict t, \
                                            const uint##bits##_t *restrict f,                      \
                                            uint##bits##_t *restrict y, int64_t n, int sp, int st, int sf) { \
        if (sp && st && sf)                                                                      \
            JX__VLOOP(i, n, uint##bits##_t u = t[i]; uint##bits##_t v = f[i]; y[i] = p[i] ? u : v); \
        else                                                                                     \
            for (int64_t i = 0; i < n; i++) y[i] = p[i * sp] ? t[i * st] : f[i * sf];            \
    }                                                                                            \
    static void select_##bits(const void *p, const void *t, const void *f, void *y, int64_t n,  \
                              int sp, int st, int sf) {                                          \
        select_##bits##_loop(p, t, f, y, n, sp, st, sf);                                         \
    }
SELECT_KERNEL(8)
SELECT_KERNEL(16)
SELECT_KERNEL(32)
SELECT_KERNEL(64)

static jx_status impl_select(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    int64_t n = jx_aval_size(&oav[0]);
    int sp = in[0]->aval.rank != 0, st = in[1]->aval.rank != 0, sf = in[2]->aval.rank != 0;
    const void *t = in[1]->data, *f = in[2]->data;
    switch (jx_dtype_size(oav[0].dtype)) {
    case 1: select_8(in[0]->data, t, f, y->data, n, sp, st, sf); break;
    case 2: select_16(in[0]->data, t, f, y->data, n, sp, st, sf); break;
    case 4: select_32(in[0]->data, t, f, y->data, n, sp, st, sf); break;
    case 8: select_64(in[0]->data, t, f, y->data, n, sp, st, sf); break;
    default: jx_array_release(y); return jx__impl_no_kernel(e, &oav[0]);
    }
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ registration */

jx_status jx__impl_no_kernel(const jx__eqn *e, const jx_aval *a) {
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "the interpreter has no kernel for %s",
                    jx__avs(a));
}

#define UNARY_SET(D, T, W, S, P, expr) unary_k[JX_PRIM_##P][JX_##D] = un_##P##_##D;
#define UNARY_REGISTER(CLASS, P, expr) FOR_##CLASS(UNARY_SET, P, expr) t[JX_PRIM_##P] = impl_unary;
#define BINARY_SET(D, T, W, S, P, R, expr) binary_k[JX_PRIM_##P][JX_##D] = bin_##P##_##D;
#define BINARY_REGISTER(CLASS, P, R, expr) FOR_##CLASS(BINARY_SET, P, R, expr) t[JX_PRIM_##P] = impl_binary;

void jx__impl_register_elementwise(jx__impl_rule *t) {
    UNARY_OPS(UNARY_REGISTER)
    BINARY_OPS(BINARY_REGISTER)
    t[JX_PRIM_STOP_GRADIENT] = impl_stop_gradient;
    t[JX_PRIM_SELECT] = impl_select;
    jx__impl_register_convert(t);
    t[JX_PRIM_IS_FINITE] = impl_is_finite;
}
