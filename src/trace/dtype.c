/* dtype.c: dtypes, avals, and f16/bf16 storage conversions. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

static const char *const dtype_names[] = {
#define JX__X(N, n, b) #n,
    JX_DTYPE_LIST(JX__X)
#undef JX__X
};
static const size_t dtype_sizes[] = {
#define JX__X(N, n, b) b,
    JX_DTYPE_LIST(JX__X)
#undef JX__X
};

const char *jx_dtype_name(jx_dtype t) { return (unsigned)t < JX_DTYPE_COUNT ? dtype_names[t] : "?"; }
size_t jx_dtype_size(jx_dtype t) { return (unsigned)t < JX_DTYPE_COUNT ? dtype_sizes[t] : 0; }
int jx_dtype_is_float(jx_dtype t) { return t == JX_F16 || t == JX_BF16 || t == JX_F32 || t == JX_F64; }
int jx_dtype_is_int(jx_dtype t) { return t == JX_U8 || t == JX_I32 || t == JX_U32 || t == JX_I64; }
int jx_dtype_is_signed(jx_dtype t) { return t == JX_I32 || t == JX_I64 || jx_dtype_is_float(t); }

jx_aval jx_aval_make(jx_dtype dtype, jx_ints shape) {
    jx_aval a;
    memset(&a, 0, sizeof a);
    a.dtype = dtype;
    a.rank = shape.n;
    if (shape.n < 0 || shape.n > JX_MAX_RANK || (shape.n > 0 && !shape.v)) {
        a.rank = -1;
        return a;
    }
    for (int i = 0; i < shape.n; i++) {
        if (shape.v[i] < 0) {
            a.rank = -1;
            return a;
        }
        a.shape[i] = shape.v[i];
    }
    return a;
}

int64_t jx_aval_size(const jx_aval *a) {
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= a->shape[i];
    return n;
}

int jx_aval_equal(const jx_aval *a, const jx_aval *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

char *jx_aval_str(const jx_aval *a, char *buf, size_t n) {
    if (!buf || n == 0) return buf;
    size_t k = (size_t)snprintf(buf, n, "%s[", jx_dtype_name(a->dtype));
    if (a->rank < 0 || a->rank > JX_MAX_RANK) {
        snprintf(buf, n, "<invalid>");
        return buf;
    }
    for (int i = 0; i < a->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)a->shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

int jx__norm_axis(int64_t axis, int rank) {
    if (axis < -rank || axis >= rank) return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

/* IEEE half: 1 sign, 5 exponent, 10 mantissa. Round to nearest even. */
uint16_t jx_f32_to_f16(float x) {
    uint32_t f;
    memcpy(&f, &x, 4);
    uint32_t sign = (f >> 16) & 0x8000u;
    uint32_t absf = f & 0x7fffffffu;
    if (absf >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absf > 0x7f800000u ? 0x200u | ((absf >> 13) & 0x3ffu) : 0));
    if (absf >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow to inf */
    if (absf < 0x38800000u) {                                   /* subnormal or zero */
        float v;
        memcpy(&v, &absf, 4);
        /* scale so the half subnormal unit (2^-24) becomes 1, then round to even */
        float s = v * 16777216.0f;
        uint32_t m = (uint32_t)nearbyintf(s);
        return (uint16_t)(sign | m);
    }
    uint32_t mant = absf & 0x7fffffu;
    uint32_t exp = (absf >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

float jx_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    float out;
    if (exp == 0) {
        out = ldexpf((float)mant, -24);
        uint32_t b;
        memcpy(&b, &out, 4);
        b |= sign;
        memcpy(&out, &b, 4);
        return out;
    }
    uint32_t f;
    if (exp == 31)
        f = sign | 0x7f800000u | (mant << 13);
    else
        f = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    memcpy(&out, &f, 4);
    return out;
}

uint16_t jx_f32_to_bf16(float x) {
    uint32_t f;
    memcpy(&f, &x, 4);
    if ((f & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((f >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (f >> 16) & 1u;
    f += 0x7fffu + lsb;
    return (uint16_t)(f >> 16);
}

float jx_bf16_to_f32(uint16_t h) {
    uint32_t f = (uint32_t)h << 16;
    float out;
    memcpy(&out, &f, 4);
    return out;
}
