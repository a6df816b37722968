/* test_vmath_own.c: jx's own f32 expm1, tanh and log1p (src/backends/vmath_own.c). Over every
 * 509th float bit pattern (8.4 million values, every binade of both signs) the scalar,
 * 8-lane and 16-lane variants give the same bits (the kernels' vector bodies and scalar
 * remainders, and the interpreter, rely on it) and stay within 1.5 ulps (log1p: 1) of
 * the double precision function; the edges (zeros, infinities, NaN, subnormals, the overflow and
 * saturation thresholds, -1 for log1p) give exactly what C99's expm1f, tanhf and log1pf
 * give. The width
 * variants are checked where the CPU has them; without FMA the suite is skipped. */
#include <float.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../src/backends/vmath_own.h"
#include "harness.h"

enum { STRIDE = 251, BLOCK = 4096 };

/* the float with bit pattern b */
static float from_bits(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* |got - want| in units of the last place of want rounded to float (at least the
 * smallest subnormal's) */
static double ulps(float got, double want) {
    float w = (float)want;
    int e;
    frexp(fabs(w) > 0 ? fabs(w) : FLT_TRUE_MIN, &e);
    return fabs((double)got - want) / fmax(ldexp(1.0, e - 24), (double)FLT_TRUE_MIN);
}

static bool same_bits(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0; }

#if defined(__x86_64__)
static bool has8, has16;

static const char *const fn_names[] = {"expm1", "tanh", "log1p"};

static float own(int fn, float x) { return fn == 2 ? jx__own_log1pf(x) : fn ? jx__own_tanhf(x) : jx__own_expm1f(x); }

static double exact(int fn, double x) { return fn == 2 ? log1p(x) : fn ? tanh(x) : expm1(x); }

/* Sweeps one function (0 expm1, 1 tanh, 2 log1p): the widths agree, the error stays
 * within bound. */
static void sweep(int fn, double bound) {
    static float x[BLOCK], y1[BLOCK], y8[BLOCK], y16[BLOCK];
    double worst = 0;
    float worst_x = 0;
    long mismatches = 0;
    uint64_t b = 0;
    while (b < (1ull << 32)) {
        int n = 0;
        for (; n < BLOCK && b < (1ull << 32); n++, b += STRIDE) x[n] = from_bits((uint32_t)b);
        for (int i = 0; i < n; i++) y1[i] = own(fn, x[i]);
        int whole = n / 16 * 16; /* the widths compare where both cover the element */
        if (has8) jx__own_map8(fn, x, y8, whole);
        if (has16) jx__own_map16(fn, x, y16, whole);
        for (int i = 0; i < n; i++) {
            if (i < whole && ((has8 && !same_bits(y8[i], y1[i])) || (has16 && !same_bits(y16[i], y1[i])))) {
                if (mismatches++ < 3) fprintf(stderr, "\n  %s(%a): scalar %a, 8 lanes %a, 16 lanes %a",
                                              fn_names[fn], x[i], y1[i], y8[i], y16[i]);
            }
            double want = exact(fn, x[i]);
            if (isnan(want)) { /* NaN in, or log1p below -1 */
                CU_ASSERT(isnan(y1[i]));
                continue;
            }
            if (fabs(want) > FLT_MAX) {
                CU_ASSERT(isinf(y1[i]) && (y1[i] > 0) == (want > 0));
                continue;
            }
            double e = ulps(y1[i], want);
            if (e > worst) worst = e, worst_x = x[i];
        }
    }
    printf("\n  %s: widths%s%s, %ld mismatches; worst %.3f ulp at %a", fn_names[fn], has8 ? " 8" : "",
           has16 ? " 16" : "", mismatches, worst, worst_x);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(worst <= bound);
    CU_ASSERT(worst > 0.5); /* the sweep reached values that are not correctly rounded */
}

static void test_expm1_sweep(void) { sweep(0, 1.5); }
static void test_tanh_sweep(void) { sweep(1, 1.5); }
static void test_log1p_sweep(void) { sweep(2, 1.0); }

/* The edges, against C99's functions (exact there). */
static void test_edges(void) {
    static const float xs[] = {0.0f, -0.0f, INFINITY, -INFINITY, FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MIN, 0x1p-25f,
                                0x1p-26f, 88.72f, 88.73f, 89.5f, 1e30f, -17.5f, -17.4f, -1e30f, 9.0f, 9.1f, 9.2f,
                                -9.2f, 0.5625f, -0.5624f, 1e-20f, -3e-39f, -1.0f, -0.99999994f, -2.0f, 0.41421357f,
                                1.0f, 2e38f, FLT_MAX, 0x1p24f, 0x1p24f + 2};
    int n = (int)(sizeof xs / sizeof *xs);
    for (int i = 0; i < n; i++) {
        float e = own(0, xs[i]), t = own(1, xs[i]), l = own(2, xs[i]);
        float we = expm1f(xs[i]), wt = tanhf(xs[i]), wl = log1pf(xs[i]);
        bool ok_e = same_bits(e, we) || (ulps(e, expm1((double)xs[i])) <= 1.5 && signbit(e) == signbit(we));
        bool ok_t = same_bits(t, wt) || (ulps(t, tanh((double)xs[i])) <= 1.5 && signbit(t) == signbit(wt));
        bool ok_l = same_bits(l, wl) || (ulps(l, log1p((double)xs[i])) <= 1.0 && signbit(l) == signbit(wl));
        if (!ok_e || !ok_t || !ok_l)
            fprintf(stderr, "\n  x = %a: expm1 %a (libm %a), tanh %a (libm %a), log1p %a (libm %a)", xs[i], e, we, t,
                    wt, l, wl);
        CU_ASSERT(ok_e && ok_t && ok_l);
    }
    /* exact values where the function is flat in float */
    CU_ASSERT(jx__own_expm1f(-INFINITY) == -1.0f && jx__own_expm1f(-20.0f) == -1.0f);
    CU_ASSERT(isinf(jx__own_expm1f(88.73f)) && jx__own_expm1f(88.72f) < FLT_MAX);
    CU_ASSERT(jx__own_tanhf(INFINITY) == 1.0f && jx__own_tanhf(-INFINITY) == -1.0f && jx__own_tanhf(9.2f) == 1.0f);
    CU_ASSERT(jx__own_expm1f(FLT_TRUE_MIN) == FLT_TRUE_MIN && jx__own_tanhf(-FLT_TRUE_MIN) == -FLT_TRUE_MIN);
    CU_ASSERT(isnan(jx__own_expm1f(NAN)) && isnan(jx__own_tanhf(-NAN)) && isnan(jx__own_log1pf(NAN)));
    CU_ASSERT(jx__own_log1pf(-1.0f) == -INFINITY && isnan(jx__own_log1pf(-1.5f)) && isnan(jx__own_log1pf(-INFINITY)));
    CU_ASSERT(jx__own_log1pf(INFINITY) == INFINITY && jx__own_log1pf(FLT_MAX) < 89.0f); /* SLEEF's gave inf */
    CU_ASSERT(jx__own_log1pf(-FLT_TRUE_MIN) == -FLT_TRUE_MIN && signbit(jx__own_log1pf(-0.0f)));
}
#endif

int main(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("fma")) {
        printf("vmath_own: skipped: this CPU has no FMA, jx's own expm1, tanh and log1p are not used here\n");
        return 77;
    }
    has8 = __builtin_cpu_supports("avx2");
    has16 = __builtin_cpu_supports("avx512f");
    CU_TestInfo tests[] = {
        {"expm1: every width the same bits, within 1.5 ulp over every 251st float", test_expm1_sweep},
        {"tanh: every width the same bits, within 1.5 ulp over every 251st float", test_tanh_sweep},
        {"log1p: every width the same bits, within 1 ulp over every 251st float", test_log1p_sweep},
        {"expm1, tanh and log1p at the edges", test_edges},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmath_own", tests);
#else
    printf("vmath_own: skipped: jx's own expm1, tanh and log1p are built for x86-64 only\n");
    return 77;
#endif
}
