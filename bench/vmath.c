/* vmath.c: jx's own f32 expm1, tanh and log1p (src/backends/vmath_own.c) against SLEEF's
 * deterministic 1.0-ulp ones, which jx used before: time over 16M floats in memory on one
 * thread (16 lanes, 8 lanes, scalar; SLEEF's 16-lane function beside them where built
 * with it and compiled by GCC), and the largest error in ulps of each over every k-th
 * float bit pattern against the double-precision function (SLEEF's scalar function gives
 * its vector functions' bits).
 * The inputs lie in [-0.9, 4], where all three are defined.
 *   usage: bench_vmath [reps] [k]   (defaults 7 and 17: 253M values, a few seconds) */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backends/vmath.h"
#include "../src/backends/vmath_own.h"
#include "bench_util.h"

enum { ELEMS = 16 * 1024 * 1024 };

#if defined(__x86_64__)
#ifdef JX_HAVE_SLEEF
float Sleef_finz_expm1f1_u10purecfma(float);
float Sleef_finz_tanhf1_u10purecfma(float);
float Sleef_finz_log1pf1_u10purecfma(float);
static float sleef1(int fn, float x) {
    return fn == 2 ? Sleef_finz_log1pf1_u10purecfma(x) : fn ? Sleef_finz_tanhf1_u10purecfma(x)
                                                            : Sleef_finz_expm1f1_u10purecfma(x);
}
#endif

static const char *const fn_names[] = {"expm1", "tanh", "log1p"};

static float own1(int fn, float x) { return fn == 2 ? jx__own_log1pf(x) : fn ? jx__own_tanhf(x) : jx__own_expm1f(x); }
static double exact(int fn, double x) { return fn == 2 ? log1p(x) : fn ? tanh(x) : expm1(x); }

struct run {
    int fn, lanes;
    float *x, *y;
};

static void run_own(void *arg) {
    struct run *r = arg;
    if (r->lanes == 16) jx__own_map16(r->fn, r->x, r->y, ELEMS);
    else if (r->lanes == 8) jx__own_map8(r->fn, r->x, r->y, ELEMS);
    else
        for (int64_t i = 0; i < ELEMS; i++) r->y[i] = own1(r->fn, r->x[i]);
}

#if defined(JX_HAVE_SLEEF) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
__m512 Sleef_finz_expm1f16_u10avx512f(__m512);
__m512 Sleef_finz_tanhf16_u10avx512f(__m512);
__m512 Sleef_finz_log1pf16_u10avx512f(__m512);
/* GCC passes the vectors of a target("avx512f") function in zmm registers, as SLEEF
 * expects; clang 14 would pass them in memory, so this loop is GCC's only. */
__attribute__((target("avx512f"))) static void run_sleef(void *arg) {
    struct run *r = arg;
    for (int64_t i = 0; i + 16 <= ELEMS; i += 16) {
        __m512 v = _mm512_loadu_ps(r->x + i);
        _mm512_storeu_ps(r->y + i, r->fn == 2 ? Sleef_finz_log1pf16_u10avx512f(v)
                                   : r->fn  ? Sleef_finz_tanhf16_u10avx512f(v)
                                            : Sleef_finz_expm1f16_u10avx512f(v));
    }
}
#define HAVE_SLEEF16 1
#endif

/* |got - want| in ulps of want rounded to float */
static double ulps(float got, double want) {
    int e;
    frexp(fabs((float)want) > 0 ? fabs((float)want) : FLT_TRUE_MIN, &e);
    return fabs((double)got - want) / fmax(ldexp(1.0, e - 24), (double)FLT_TRUE_MIN);
}

/* The largest error of each over every k-th float where the result is finite; a
 * function that gives inf or NaN there is counted apart. */
static void accuracy(int fn, uint32_t k) {
    double worst_own = 0, worst_sleef = 0;
    long wrong_own = 0, wrong_sleef = 0;
    for (uint64_t b = 0; b < (1ull << 32); b += k) {
        uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, sizeof x);
        double want = exact(fn, x);
        if (isnan(want) || fabs(want) > FLT_MAX) continue;
        float got = own1(fn, x);
        if (isfinite(got)) worst_own = fmax(worst_own, ulps(got, want));
        else wrong_own++;
#ifdef JX_HAVE_SLEEF
        got = sleef1(fn, x);
        if (isfinite(got)) worst_sleef = fmax(worst_sleef, ulps(got, want));
        else wrong_sleef++;
#endif
    }
    printf("  largest error over every %u-th float: jx %.3f ulp (%ld not finite)", k, worst_own, wrong_own);
#ifdef JX_HAVE_SLEEF
    printf(", SLEEF %.3f ulp (%ld not finite)", worst_sleef, wrong_sleef);
#endif
    printf("\n");
    (void)wrong_sleef;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    uint32_t k = argc > 2 ? (uint32_t)atoi(argv[2]) : 17;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("fma") || !__builtin_cpu_supports("avx2") || reps < 1 || k < 1) {
        printf("bench_vmath: needs a CPU with AVX2 and FMA (and reps, k >= 1)\n");
        return 0;
    }
    bool wide = __builtin_cpu_supports("avx512f");
    struct run r = {.x = malloc(sizeof(float) * ELEMS), .y = malloc(sizeof(float) * ELEMS)};
    if (!r.x || !r.y) return 1;
    for (int64_t i = 0; i < ELEMS; i++) r.x[i] = -0.9f + 4.9f * (float)(i % 4099) / 4099, r.y[i] = 0;
    printf("f32 over 16M floats in [-0.9, 4], 1 thread, best of %d (kernels use: %s)\n", reps, jx__vmath_impl());
    for (int fn = 0; fn < 3; fn++) {
        double t[3] = {0};
        static const int lanes[] = {16, 8, 1};
        for (int w = wide ? 0 : 1; w < 3; w++) {
            r.fn = fn, r.lanes = lanes[w];
            t[w] = bench_best(reps, run_own, &r);
        }
        printf("%-6s jx: 16 lanes %6.2f ms, 8 lanes %6.2f ms, scalar %6.2f ms", fn_names[fn], t[0] * 1e3,
               t[1] * 1e3, t[2] * 1e3);
#ifdef HAVE_SLEEF16
        if (wide) {
            double ts = bench_best(reps, run_sleef, &r);
            printf("; SLEEF 16 lanes %6.2f ms (%.2fx jx's)", ts * 1e3, ts / t[0]);
        }
#endif
        printf("\n");
        accuracy(fn, k);
    }
    free(r.x);
    free(r.y);
    return 0;
}
#else
int main(void) {
    printf("bench_vmath: jx's own functions are x86-64 only\n");
    return 0;
}
#endif
