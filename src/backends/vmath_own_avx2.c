/* vmath_own_avx2.c: vmath_own.inc's expm1, tanh and log1p over 8 lanes, built with -mavx2 -mfma
 * (CMakeLists.txt) so that the vectors travel in ymm registers as the code generator's
 * calls pass them; used only where the CPU has both (vmath.c). */
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define JX_VMATH_OWN_VECTOR
#include "vmath_own.h"
#include "vmath_own_vec.h"

typedef float V __attribute__((vector_size(32)));
typedef int32_t VI __attribute__((vector_size(32)));
typedef uint32_t VU __attribute__((vector_size(32)));
#define NAME(f) v8_##f
#define FMA(a, b, c) ((V)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#include "vmath_own.inc"

__m256 jx__own_expm1f8(__m256 x) { return (__m256)v8_expm1((V)x); }
__m256 jx__own_tanhf8(__m256 x) { return (__m256)v8_tanh((V)x); }
__m256 jx__own_log1pf8(__m256 x) { return (__m256)v8_log1p((V)x); }

void jx__own_map8(int fn, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i + 8 <= n; i += 8) {
        V v;
        memcpy(&v, x + i, sizeof v);
        v = fn == 2 ? v8_log1p(v) : fn ? v8_tanh(v) : v8_expm1(v);
        memcpy(y + i, &v, sizeof v);
    }
}
#endif
