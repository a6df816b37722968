/* vmath.h: the f32 transcendental functions both executors use, and their vector
 * variants for the code generator. On a CPU with AVX2 and FMA, expm1, tanh and log1p are
 * jx's own (vmath_own.c, within 1.5 ulps) and, with SLEEF (JX_HAVE_SLEEF), the others SLEEF's
 * deterministic ("finz", 1.0-ulp) functions: the scalar Sleef_finz_<f>f1_u10purecfma and
 * the 8-lane Sleef_finz_<f>f8_u10avx2 give the same bits for every element (as does the
 * 16-lane Sleef_finz_<f>f16_u10avx512f, offered beside it on CPUs with AVX-512F), and so
 * do jx's own at each width, so a kernel's vector body and scalar remainder agree and
 * results stay bit-identical across thread counts and between the interpreter and the
 * jit. Otherwise they are libm's expf etc. and no vector variant is offered. Chosen
 * once, when the library is loaded. */
#ifndef JX_BACKENDS_VMATH_H
#define JX_BACKENDS_VMATH_H

#include <stdbool.h>

/* X(name): the functions covered, as libm names them without the f. */
/* (log stays libm's logf: at subnormal inputs under DAZ it gives XLA's value, SLEEF's not.) */
#define JX__VMATH_FNS(X) X(exp) X(log1p) X(expm1) X(tanh) X(sin) X(cos)

typedef struct jx__vmath_fn {
    const char *name;  /* "exp" */
    float (*scalar)(float);
    void *vector;      /* the vector variant (vector of `lanes` floats in and out), or NULL */
    void *vector16;    /* the 16-lane variant (AVX-512F), or NULL */
} jx__vmath_fn;

/* The function `name` ("exp", ...); NULL when it is not one of JX__VMATH_FNS. */
const jx__vmath_fn *jx__vmath_find(const char *name);
/* The vector variants' width in lanes (8), or 0 when there are none. */
int jx__vmath_lanes(void);
/* Whether the 16-lane variants (vector16) are there too. */
bool jx__vmath_wide(void);
/* What the choice was, for benchmarks: "sleef+jx-avx512f", "sleef+jx-avx2-fma" (SLEEF's
 * and jx's own vector functions), "libm+jx-avx512f", "libm+jx-avx2-fma" (no SLEEF: jx's
 * own, the others libm's scalar ones) or "libm". */
const char *jx__vmath_impl(void);

/* The scalar functions, for the interpreter (impl_elementwise.c). */
#define JX__VMATH_DECL(n) float jx__vm_##n##f(float x);
JX__VMATH_FNS(JX__VMATH_DECL)
#undef JX__VMATH_DECL

#endif
