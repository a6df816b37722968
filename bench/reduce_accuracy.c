/* reduce_accuracy.c: the relative error of sum(x * x) against the exact sum, for
 * lengths 2^14 .. 2^24 of uniform [0,1) values x, in f32 and f64, through the interpreter
 * and the jit; beside them the error of one sequential accumulator (what jx did before
 * the blocked order of src/trace/reduce_util.h). The exact sum is a Kahan sum in long
 * double. The values come from splitmix64 of the element index (reduce_accuracy.py uses
 * the same generator, so JAX's figures line up with these).
 *   usage: bench_reduce_accuracy [max_log2]   (default 24) */
#include <jx.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Uniform [0,1) double of element i: splitmix64(i) with 53 bits kept. */
static double gen(uint64_t i) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static void body_sum(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(in[0], in[0]), JX_NOINTS);
}

/* The one element of a rank-0 result as a double, NaN when it failed. */
static double scalar_of(jx_array *a, jx_dtype t) {
    if (!a) return NAN;
    double v = t == JX_F32 ? *(const float *)jx_array_data(a) : *(const double *)jx_array_data(a);
    jx_array_release(a);
    return v;
}

static double rel(double got, long double exact) { return (double)fabsl(((long double)got - exact) / exact); }

int main(int argc, char **argv) {
    int maxlog = argc > 1 ? atoi(argv[1]) : 24;
    jx_dtype types[2] = {JX_F32, JX_F64};
    printf("%-4s %-8s %-22s %-10s %-10s %-10s\n", "type", "n", "exact", "interp", "jit", "sequential");
    for (int ti = 0; ti < 2; ti++)
        for (int lg = 14; lg <= maxlog; lg += 2) {
            jx_dtype t = types[ti];
            int64_t n = (int64_t)1 << lg;
            void *data = malloc((size_t)n * jx_dtype_size(t));
            long double exact = 0, c = 0;
            float seq32 = 0;
            double seq64 = 0;
            for (int64_t i = 0; i < n; i++) {
                double v = gen((uint64_t)i);
                if (t == JX_F32) { /* the exact sum of the rounded squares */
                    float xf = (float)v, sq = xf * xf;
                    ((float *)data)[i] = xf, v = sq, seq32 += sq;
                } else {
                    ((double *)data)[i] = v, v *= v, seq64 += v;
                }
                long double y = (long double)v - c, s = exact + y; /* Kahan */
                c = (s - exact) - y;
                exact = s;
            }
            jx_array *x = jx_array_new(t, JX_INTS(n), data);
            jx_aval av = jx_aval_make(t, JX_INTS(n));
            jx_fn *f = jx_trace("sum", body_sum, NULL, 1, &av, 1);
            jx_exec *ex = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
            jx_array *oi = NULL, *oj = NULL;
            if (!f || jx_eval(f, 1, &x, 1, &oi) != JX_OK || !ex || jx_exec_run(ex, 1, &x, 1, &oj) != JX_OK)
                fprintf(stderr, "%s\n", jx_errmsg());
            double vi = scalar_of(oi, t), vj = scalar_of(oj, t);
            printf("%-4s 2^%-6d %-22.15Lg %-10.2e %-10.2e %-10.2e%s\n", t == JX_F32 ? "f32" : "f64", lg, exact,
                   rel(vi, exact), rel(vj, exact), rel(t == JX_F32 ? seq32 : seq64, exact),
                   vi == vj ? "" : "  (interp != jit)");
            jx_exec_release(ex);
            jx_fn_release(f);
            jx_array_release(x);
            free(data);
        }
    return 0;
}
