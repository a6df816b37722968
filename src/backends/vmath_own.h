/* vmath_own.h: jx's own f32 expm1, tanh and log1p (vmath_own.c): the scalar functions need FMA,
 * the 8-lane ones AVX2 and FMA, the 16-lane ones AVX-512F; all give the same bits.
 * Outside the two files built for AVX (which define JX_VMATH_OWN_VECTOR) the vector
 * variants are declared without their x86 types: only their addresses are taken there,
 * and tests and benchmarks call them through jx__own_map8/16. x86-64 builds only. */
#ifndef JX_BACKENDS_VMATH_OWN_H
#define JX_BACKENDS_VMATH_OWN_H

#if defined(__x86_64__)
#include <stdint.h>

float jx__own_expm1f(float x);
float jx__own_tanhf(float x);
float jx__own_log1pf(float x);
#ifdef JX_VMATH_OWN_VECTOR
#include <immintrin.h>
__m256 jx__own_expm1f8(__m256 x);
__m256 jx__own_tanhf8(__m256 x);
__m256 jx__own_log1pf8(__m256 x);
__m512 jx__own_expm1f16(__m512 x);
__m512 jx__own_tanhf16(__m512 x);
__m512 jx__own_log1pf16(__m512 x);
#else
void jx__own_expm1f8(void);
void jx__own_tanhf8(void);
void jx__own_log1pf8(void);
void jx__own_expm1f16(void);
void jx__own_tanhf16(void);
void jx__own_log1pf16(void);
#endif
/* y[i] = expm1(x[i]) (fn 0), tanh(x[i]) (fn 1) or log1p(x[i]) (fn 2) for i < n rounded down to a multiple of
 * the lanes, through the 8-lane (needs AVX2 and FMA) or 16-lane (AVX-512F) variant. */
void jx__own_map8(int fn, const float *x, float *y, int64_t n);
void jx__own_map16(int fn, const float *x, float *y, int64_t n);
#endif

#endif
