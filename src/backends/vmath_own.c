/* vmath_own.c: jx's own f32 expm1, tanh and log1p, one body (vmath_own.inc) compiled for three
 * widths: here scalar (with the FMA instruction, so used only where the CPU has it),
 * 8 lanes in vmath_own_avx2.c and 16 in vmath_own_avx512.c, every width giving the same
 * bits. vmath.c offers them in place of SLEEF's, which compute these two in double-float
 * arithmetic and take 3x as long; they are within 1.5 (expm1) and 2.5 (tanh) ulps of the
 * exact result, against SLEEF's 1.0 (bench/vmath.c measures both, over every float).
 * x86-64 only; elsewhere vmath.c keeps libm's. */
#if defined(__x86_64__)
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vmath_own.h"

static inline int32_t s_asi(float x) {
    int32_t i;
    memcpy(&i, &x, 4);
    return i;
}
static inline float s_asf(int32_t i) {
    float x;
    memcpy(&x, &i, 4);
    return x;
}

#define V float
#define VI int32_t
#define VU uint32_t
#define ATTR __attribute__((target("fma")))
#define NAME(f) s_##f
#define SPLAT(c) (c)
#define SPLATI(c) ((int32_t)(c))
#define SPLATU(c) ((uint32_t)(c))
#define FMA(a, b, c) __builtin_fmaf(a, b, c)
#define ASI(x) s_asi(x)
#define ASF(x) s_asf(x)
#define LT(a, b) ((a) < (b))
#define GT(a, b) ((a) > (b))
#define EQ(a, b) ((a) == (b))
#define EQI(a, b) ((a) == (b))
#define CVT(i) ((float)(i))
#define SEL(m, a, b) ((m) ? (a) : (b))
#include "vmath_own.inc"

__attribute__((target("fma"))) float jx__own_expm1f(float x) { return s_expm1(x); }
__attribute__((target("fma"))) float jx__own_tanhf(float x) { return s_tanh(x); }
__attribute__((target("fma"))) float jx__own_log1pf(float x) { return s_log1p(x); }
#endif
