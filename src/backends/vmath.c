/* vmath.c: the choice of f32 transcendental functions (vmath.h), made when the library is
 * loaded. Where the CPU has AVX2 and FMA: SLEEF's deterministic scalar and 8-lane pair
 * where built with it (and its AVX-512F 16-lane twin where the CPU has that), jx's own
 * for expm1, tanh and log1p (vmath_own.c); libm's scalar functions otherwise. */
#include <math.h>
#include <string.h>

#include "vmath.h"
#include "vmath_own.h"


#define LIBM_ENTRY(n) {#n, n##f, NULL, NULL},
static jx__vmath_fn fns[] = {JX__VMATH_FNS(LIBM_ENTRY)};
enum { NFNS = sizeof fns / sizeof *fns };
static int lanes;
static bool wide;
static const char *impl = "libm";

#ifdef JX_HAVE_SLEEF
/* Declared here rather than through sleef.h, which shows the AVX2 ones only to code built
 * for AVX (this file is not: it runs on every x86-64); only their addresses are taken. */
#define SLEEF_DECL(n) \
    float Sleef_finz_##n##f1_u10purecfma(float); \
    void Sleef_finz_##n##f8_u10avx2(void); \
    void Sleef_finz_##n##f16_u10avx512f(void);
JX__VMATH_FNS(SLEEF_DECL)
#define SLEEF_ENTRY(n) \
    {#n, Sleef_finz_##n##f1_u10purecfma, (void *)Sleef_finz_##n##f8_u10avx2, (void *)Sleef_finz_##n##f16_u10avx512f},
static const jx__vmath_fn sleef_fns[] = {JX__VMATH_FNS(SLEEF_ENTRY)};
#endif

#if defined(__x86_64__)
/* jx's own expm1, tanh and log1p (vmath_own.c): expm1 and tanh as exact as SLEEF's to
 * within half an ulp and three times faster (SLEEF computes them in double-float
 * arithmetic); log1p within 1 ulp like SLEEF's, a little faster, and finite up to
 * FLT_MAX (SLEEF's gives inf above 1.7e38). */
static void use_own(void) {
    for (int i = 0; i < NFNS; i++) {
        if (strcmp(fns[i].name, "expm1") == 0)
            fns[i] = (jx__vmath_fn){"expm1", jx__own_expm1f, (void *)jx__own_expm1f8, (void *)jx__own_expm1f16};
        if (strcmp(fns[i].name, "tanh") == 0)
            fns[i] = (jx__vmath_fn){"tanh", jx__own_tanhf, (void *)jx__own_tanhf8, (void *)jx__own_tanhf16};
        if (strcmp(fns[i].name, "log1p") == 0)
            fns[i] = (jx__vmath_fn){"log1p", jx__own_log1pf, (void *)jx__own_log1pf8, (void *)jx__own_log1pf16};
    }
}
#endif

__attribute__((constructor)) static void vmath_init(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
    lanes = 8;
    wide = __builtin_cpu_supports("avx512f");
#ifdef JX_HAVE_SLEEF
    memcpy(fns, sleef_fns, sizeof fns);
    impl = wide ? "sleef+jx-avx512f" : "sleef+jx-avx2-fma";
#else
    impl = wide ? "libm+jx-avx512f" : "libm+jx-avx2-fma";
#endif
    use_own();
    if (!wide)
        for (int i = 0; i < NFNS; i++) fns[i].vector16 = NULL;
#endif
}

const jx__vmath_fn *jx__vmath_find(const char *name) {
    for (int i = 0; i < NFNS; i++)
        if (strcmp(fns[i].name, name) == 0) return &fns[i];
    return NULL;
}

int jx__vmath_lanes(void) { return lanes; }
bool jx__vmath_wide(void) { return wide; }
const char *jx__vmath_impl(void) { return impl; }

#define SCALAR_DEF(n) \
    float jx__vm_##n##f(float x) { return fns[VM_##n].scalar(x); }
enum {
#define ENUM_ENTRY(n) VM_##n,
    JX__VMATH_FNS(ENUM_ENTRY)
#undef ENUM_ENTRY
};
JX__VMATH_FNS(SCALAR_DEF)
