/* vmath_own_avx512.c: vmath_own.inc's expm1, tanh and log1p over 16 lanes, built with -mavx512f
 * (CMakeLists.txt) so that the vectors travel in zmm registers as the code generator's
 * calls pass them; used only where the CPU has AVX-512F (vmath.c). */
#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define JX_VMATH_OWN_VECTOR
#include "vmath_own.h"
#include "vmath_own_vec.h"

typedef float V __attribute__((vector_size(64)));
typedef int32_t VI __attribute__((vector_size(64)));
typedef uint32_t VU __attribute__((vector_size(64)));
#define NAME(f) v16_##f
#define FMA(a, b, c) ((V)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#include "vmath_own.inc"

__m512 jx__own_expm1f16(__m512 x) { return (__m512)v16_expm1((V)x); }
__m512 jx__own_tanhf16(__m512 x) { return (__m512)v16_tanh((V)x); }
__m512 jx__own_log1pf16(__m512 x) { return (__m512)v16_log1p((V)x); }

void jx__own_map16(int fn, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i + 16 <= n; i += 16) {
        V v;
        memcpy(&v, x + i, sizeof v);
        v = fn == 2 ? v16_log1p(v) : fn ? v16_tanh(v) : v16_expm1(v);
        memcpy(y + i, &v, sizeof v);
    }
}
#endif
