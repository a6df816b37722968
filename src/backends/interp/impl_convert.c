/* impl_convert.c: reference implementations of convert_element_type, integer_pow, iota
 * and constant (see prims.def).
 *
 * Conversions: float to int truncates toward zero and saturates, NaN gives 0; int to int
 * wraps (two's complement); anything to bool is != 0 (NaN is true); f16/bf16 go through
 * f32 with jx_f32_to_f16 etc. (so f64 -> f16 rounds twice). */
#include <math.h>
#include <stdint.h>

#include "../../trace/ir.h"
#include "impl_elementwise.h"

/* ------------------------------------------------------------------ convert */

/* Saturating float -> int: v arrives as a double (exact for f32 and for f16/bf16). The
 * bounds are compared as doubles so the final cast is always in range. */
#define SATURATE(T, LO, HI)                                             \
    static inline T sat_##T(double v) {                                 \
        return v != v ? 0 : v <= (double)LO ? LO : v >= (double)HI ? HI : (T)v; \
    }
SATURATE(uint8_t, 0, UINT8_MAX)
SATURATE(int32_t, INT32_MIN, INT32_MAX)
SATURATE(uint32_t, 0, UINT32_MAX)
SATURATE(int64_t, INT64_MIN, INT64_MAX)

/* Source kinds: B bool, I int, H f16, BH bf16, F f32/f64. LOAD_k reads an element as a
 * value C can convert; TO_INT_k stores it in an int type. */
#define LOAD_B(v) (v)
#define LOAD_I(v) (v)
#define LOAD_H(v) jx_f16_to_f32(v)
#define LOAD_BH(v) jx_bf16_to_f32(v)
#define LOAD_F(v) (v)
#define TO_INT_B(T, v) ((T)(v))
#define TO_INT_I(T, v) ((T)(v)) /* wraps: GCC and clang define it as modulo 2^n */
#define TO_INT_H(T, v) sat_##T(v)
#define TO_INT_BH(T, v) sat_##T(v)
#define TO_INT_F(T, v) sat_##T(v)

/* x: n elements of dtype D; y: n elements of D2. The typed loop takes restrict
 * parameters so the compiler may vectorise it. */
#define CONVERT_PAIR(D, T, D2, T2, store)                                                    \
    static inline void convert_##D##_to_##D2(const T *restrict x, T2 *restrict y, int64_t n) { \
        JX__VLOOP(i, n, y[i] = (store));                                                     \
    }
#define CONVERT_CASE(D, D2)                        \
    case JX_##D2: convert_##D##_to_##D2(x, y, n); \
        break;

typedef void (*convert_kernel)(const void *x, void *y, jx_dtype to, int64_t n);

/* Every target of one source dtype, and the kernel that picks one per call. */
#define CONVERT_FROM(D, T, K)                                                              \
    CONVERT_PAIR(D, T, BOOL, uint8_t, (uint8_t)(LOAD_##K(x[i]) != 0))                      \
    CONVERT_PAIR(D, T, U8, uint8_t, TO_INT_##K(uint8_t, LOAD_##K(x[i])))                   \
    CONVERT_PAIR(D, T, I32, int32_t, TO_INT_##K(int32_t, LOAD_##K(x[i])))                  \
    CONVERT_PAIR(D, T, U32, uint32_t, TO_INT_##K(uint32_t, LOAD_##K(x[i])))                \
    CONVERT_PAIR(D, T, I64, int64_t, TO_INT_##K(int64_t, LOAD_##K(x[i])))                  \
    CONVERT_PAIR(D, T, F16, uint16_t, jx_f32_to_f16((float)LOAD_##K(x[i])))                \
    CONVERT_PAIR(D, T, BF16, uint16_t, jx_f32_to_bf16((float)LOAD_##K(x[i])))              \
    CONVERT_PAIR(D, T, F32, float, (float)LOAD_##K(x[i]))                                  \
    CONVERT_PAIR(D, T, F64, double, (double)LOAD_##K(x[i]))                                \
    static void convert_from_##D(const void *x, void *y, jx_dtype to, int64_t n) {         \
        switch (to) {                                                                      \
            CONVERT_CASE(D, BOOL)                                                          \
            CONVERT_CASE(D, U8)                                                            \
            CONVERT_CASE(D, I32)                                                           \
            CONVERT_CASE(D, U32)                                                           \
            CONVERT_CASE(D, I64)                                                           \
            CONVERT_CASE(D, F16)                                                           \
            CONVERT_CASE(D, BF16)                                                          \
            CONVERT_CASE(D, F32)                                                           \
            CONVERT_CASE(D, F64)                                                           \
        default: break;                                                                    \
        }                                                                                  \
    }
#define CONVERT_SOURCES(X) \
    X(BOOL, uint8_t, B)    \
    X(U8, uint8_t, I)      \
    X(I32, int32_t, I)     \
    X(U32, uint32_t, I)    \
    X(I64, int64_t, I)     \
    X(F16, uint16_t, H)    \
    X(BF16, uint16_t, BH)  \
    X(F32, float, F)       \
    X(F64, double, F)
CONVERT_SOURCES(CONVERT_FROM)

static const convert_kernel convert_k[JX_DTYPE_COUNT] = {
#define CONVERT_ENTRY(D, T, K) [JX_##D] = convert_from_##D,
    CONVERT_SOURCES(CONVERT_ENTRY)
#undef CONVERT_ENTRY
};

static jx_status impl_convert(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    jx_dtype from = in[0]->aval.dtype, to = oav[0].dtype;
    if (from == to) { /* arrays are immutable once shared */
        out[0] = jx_array_retain(in[0]);
        return JX_OK;
    }
    if ((unsigned)from >= JX_DTYPE_COUNT || (unsigned)to >= JX_DTYPE_COUNT) return jx__impl_no_kernel(e, &oav[0]);
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    convert_k[from](in[0]->data, y->data, to, jx_aval_size(&oav[0]));
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ integer_pow */

/* x**p by repeated squaring in type W (unsigned for ints, so it wraps); floats with a
 * negative p take the reciprocal (FINISH). x, y: n elements. */
#define IPOW_KERNEL(D, T, W, FINISH)                                                  \
    static void ipow_##D(const void *xv, void *yv, int64_t n, int64_t p) {            \
        const T *restrict x = xv;                                                     \
        T *restrict y = yv;                                                           \
        uint64_t m = p < 0 ? (uint64_t)0 - (uint64_t)p : (uint64_t)p;                 \
        for (int64_t i = 0; i < n; i++) {                                             \
            W base = (W)x[i], acc = 1;                                                \
            for (uint64_t k = m; k; k >>= 1) {                                        \
                if (k & 1) acc *= base;                                               \
                base *= base;                                                         \
            }                                                                         \
            y[i] = (T)(FINISH);                                                       \
        }                                                                             \
    }
IPOW_KERNEL(F32, float, float, p < 0 ? 1 / acc : acc)
IPOW_KERNEL(F64, double, double, p < 0 ? 1 / acc : acc)
IPOW_KERNEL(I32, int32_t, uint32_t, acc)
IPOW_KERNEL(I64, int64_t, uint64_t, acc)

static jx_status impl_integer_pow(const jx__eqn *e, jx_array *const *in, const jx_aval *oav,
                                  jx_array **out) {
    void (*k)(const void *, void *, int64_t, int64_t) = NULL;
    switch (in[0]->aval.dtype) {
    case JX_F32: k = ipow_F32; break;
    case JX_F64: k = ipow_F64; break;
    case JX_I32: k = ipow_I32; break;
    case JX_I64: k = ipow_I64; break;
    default: return jx__impl_no_kernel(e, &in[0]->aval);
    }
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    k(in[0]->data, y->data, jx_aval_size(&oav[0]), jx__attr_int(e->nattr, e->attrs, JX_A_Y, 1));
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ iota, constant */

/* y: (outer, dim, inner) row-major; element (o, k, j) is k. */
#define IOTA_FILL(D, T)                                                         \
    case JX_##D: {                                                              \
        T *y = data;                                                            \
        for (int64_t o = 0, at = 0; o < outer; o++)                             \
            for (int64_t k = 0; k < dim; k++)                                   \
                for (int64_t j = 0; j < inner; j++) y[at++] = (T)k;             \
        return true;                                                            \
    }

static bool iota_fill(void *data, jx_dtype dtype, int64_t outer, int64_t dim, int64_t inner) {
    switch (dtype) {
        IOTA_FILL(U8, uint8_t)
        IOTA_FILL(I32, int32_t)
        IOTA_FILL(U32, uint32_t)
        IOTA_FILL(I64, int64_t)
        IOTA_FILL(F32, float)
        IOTA_FILL(F64, double)
    default: return false;
    }
}

static jx_status impl_iota(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *a = &oav[0];
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, -1);
    if (axis < 0 || axis >= a->rank) return jx__impl_no_kernel(e, a);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= a->shape[i];
    for (int i = (int)axis + 1; i < a->rank; i++) inner *= a->shape[i];
    jx_array *y = jx__array_alloc_uninit(a);
    if (!y) return jx_errcode();
    if (!iota_fill(y->data, a->dtype, outer, a->shape[axis], inner)) {
        jx_array_release(y);
        return jx__impl_no_kernel(e, a);
    }
    out[0] = y;
    return JX_OK;
}

static jx_status impl_constant(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx__attr *v = jx__attr_get(e->nattr, e->attrs, JX_A_VALUE);
    if (!v || v->kind != JX_AK_ARRAY || !v->u.arr) return jx__impl_no_kernel(e, &oav[0]);
    out[0] = jx_array_retain(v->u.arr); /* the equation holds it; nobody writes to it */
    return JX_OK;
}

void jx__impl_register_convert(jx__impl_rule *t) {
    t[JX_PRIM_CONVERT] = impl_convert;
    t[JX_PRIM_INTEGER_POW] = impl_integer_pow;
    t[JX_PRIM_IOTA] = impl_iota;
    t[JX_PRIM_CONSTANT] = impl_constant;
}
