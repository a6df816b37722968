/* test_jit_vmath.c: the f32 transcendental functions of src/backends/vmath.h (SLEEF's
 * vectorised ones where built with it on an AVX2+FMA CPU, else libm's). The jit's vector
 * loop body and scalar remainder give the same bits, so results are bit-identical for 1,
 * 2 and 3 threads (chunk boundaries fall at different elements) and equal to the
 * interpreter's; every value is within 2 ulp of the double-precision function (logistic,
 * 1 / (1 + exp(-x)), 3). */
#include <float.h>

#include "../../src/backends/vmath.h"
#include "jit_util.h"

enum { N = 3 * 16384 + 5 }; /* split over 2 and 3 threads into chunks that are not multiples of 8 */

static const char *const names[] = {"exp", "log1p", "expm1", "tanh", "sin", "cos", "logistic"};
enum { NF = sizeof names / sizeof *names };

static void body(jx_val *out, const jx_val *in, void *u) {
    int k = *(const int *)u;
    jx_val x = in[0];
    out[0] = k == 0 ? jx_exp(x) : k == 1 ? jx_log1p(x) : k == 2 ? jx_expm1(x) : k == 3 ? jx_tanh(x)
           : k == 4 ? jx_sin(x) : k == 5 ? jx_cos(x) : jx_logistic(x);
}

static double ref(int k, double x) {
    switch (k) {
    case 0: return exp(x);
    case 1: return log1p(x);
    case 2: return expm1(x);
    case 3: return tanh(x);
    case 4: return sin(x);
    case 5: return cos(x);
    default: return 1 / (1 + exp(-x));
    }
}

/* Inputs over each function's interesting range, edge values included. */
static double input(int k, int i) {
    static const double edge[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-30, -1e-30, 88.7, -103.0, -1.0};
    if (i < 10) return edge[i];
    double t = (double)i / N;
    return k == 1 ? -0.999 + 30 * t * t : k == 4 || k == 5 ? -100 + 200 * t : -20 + 40 * t;
}

/* a and b hold the same bits at every element, NaNs aside (any NaN matches any NaN: the
 * sign of a NaN made from a NaN is not part of the contract). */
static bool same_values(const jx_array *a, const jx_array *b) {
    if (!a || !b || jx_array_size(a) != jx_array_size(b)) return false;
    const float *x = jx_array_data(a), *y = jx_array_data(b);
    for (int64_t i = 0; i < jx_array_size(a); i++)
        if (!(isnan(x[i]) && isnan(y[i])) && memcmp(&x[i], &y[i], sizeof x[i]) != 0) {
            fprintf(stderr, "\n  element %lld: %a vs %a", (long long)i, x[i], y[i]);
            return false;
        }
    return true;
}

static void test_functions(void) {
    printf("\n  (%s)", jx__vmath_impl());
    for (int k = 0; k < NF; k++) {
        static double xs[N];
        for (int i = 0; i < N; i++) xs[i] = (float)input(k, i);
        jx_array *in = jx_array_new(JX_F64, JX_INTS(N), xs), *x32 = jx_array_astype(in, JX_F32);
        jx_aval av = JX_AVAL(JX_F32, N);
        jx_fn *f = jx_trace(names[k], body, &k, 1, &av, 1);
        CU_ASSERT_FATAL(f && x32);
        jx_array *want = NULL, *got[3] = {0};
        CU_ASSERT_EQUAL(jx_eval(f, 1, &x32, 1, &want), JX_OK);
        for (int t = 0; t < 3; t++) {
            jx_jit_opts o = JX_JIT_DEFAULTS;
            o.nthreads = t + 1;
            jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
            CU_ASSERT_FATAL(x != NULL);
            CU_ASSERT_EQUAL(jx_exec_run(x, 1, &x32, 1, &got[t]), JX_OK);
            jx_exec_release(x);
            bool same = same_values(got[t], want);
            if (!same) fprintf(stderr, "\n  %s on %d threads: not the interpreter's bits\n", names[k], t + 1);
            CU_ASSERT(same);
        }
        double worst = 0;
        for (int i = 0; i < N && want; i++) {
            double g = jx_array_get(want, i), r = ref(k, xs[i]);
            if (isnan(r) || isinf(r)) {
                CU_ASSERT(isnan(r) ? isnan(g) : g == r);
                continue;
            }
            double ulp = fmax(fabs(r), FLT_MIN) * FLT_EPSILON, e = fabs(g - r) / ulp;
            if (e > worst) worst = e;
        }
        printf(" %s %.2f ulp;", names[k], worst);
        CU_ASSERT(worst <= (k == 6 ? 3.0 : 2.0)); /* logistic: exp, then an add and a division */
        for (int t = 0; t < 3; t++) jx_array_release(got[t]);
        jx_array_release(want);
        jx_array_release(in);
        jx_array_release(x32);
        jx_fn_release(f);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"f32 transcendentals: same bits on 1-3 threads and in the interpreter, within 2 ulp", test_functions},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_vmath", tests);
}
