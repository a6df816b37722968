/* pmap_call.c: what one call of a pmapped function costs when the arrays are tiny, so
 * that the figure is pmap's own overhead (handing each CPU device its slice, running the
 * devices' threads, stacking the outputs): the jitted pmap of x * y + exp(x) over
 * f32[N,4,3] on N CPU devices, the same with a psum over the devices (one barrier
 * more), beside the plain jitted call of the body on one f32[4,3] slice. Prints
 *   plain   call_us_median <v> call_us_min <v>
 *   pmap    call_us_median <v> call_us_min <v>   (N devices)
 *   pmap+psum call_us_median <v> call_us_min <v>
 *   ratio pmap/plain call_median <v>
 *   usage: bench_pmap_call [calls] [devices]   (defaults 20000, 2) */
#include <jx.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

enum { MAXCALLS = 1000000 };

static void tiny_body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_exp(in[0]));
    if (u) out[0] = jx_psum(out[0], "d");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times `calls` runs of x on in (100 unmeasured first); prints the median and minimum in
 * microseconds under `label` and returns the median, or -1 on an error. */
static double time_calls(const char *label, jx_exec *x, jx_array **in, int calls, double *t) {
    for (int r = -100; r < calls; r++) {
        jx_array *out = NULL;
        double t0 = bench_now();
        jx_status st = jx_exec_run(x, 2, in, 1, &out);
        double dt = bench_now() - t0;
        jx_array_release(out);
        if (st != JX_OK) return fprintf(stderr, "%s: %s\n", label, jx_errmsg()), -1;
        if (r >= 0) t[r] = dt * 1e6;
    }
    qsort(t, (size_t)calls, sizeof *t, cmp_double);
    printf("%-9s call_us_median %.2f call_us_min %.2f\n", label, t[calls / 2], t[0]);
    return t[calls / 2];
}

int main(int argc, char **argv) {
    int calls = argc > 1 ? atoi(argv[1]) : 20000, n = argc > 2 ? atoi(argv[2]) : 2;
    if (calls < 100 || calls > MAXCALLS || n < 1 || n > 64)
        return fprintf(stderr, "usage: %s [calls 100-%d] [devices 1-64]\n", argv[0], MAXCALLS), 2;
    if (jx_set_cpu_device_count(n) != JX_OK) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 4, 3)};
    int psum = 1;
    jx_fn *f = jx_trace("tiny", tiny_body, NULL, 2, av, 1), *fs = jx_trace("tiny_psum", tiny_body, &psum, 2, av, 1);
    jx_fn *p = f ? jx_pmap(f, JX_NOINTS, JX_NOINTS, "d") : NULL;
    jx_fn *ps = fs ? jx_pmap(fs, JX_NOINTS, JX_NOINTS, "d") : NULL;
    jx_exec *xf = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL, *xp = p ? jx_jit(p, JX_DEVICE_CPU, NULL) : NULL;
    jx_exec *xs = ps ? jx_jit(ps, JX_DEVICE_CPU, NULL) : NULL;
    float v[64 * 12];
    for (int i = 0; i < 64 * 12; i++) v[i] = -1.0f + (float)(i % 12) / 5.5f;
    jx_array *one[2] = {jx_array_new(JX_F32, JX_INTS(4, 3), v), jx_array_new(JX_F32, JX_INTS(4, 3), v)};
    jx_array *all[2] = {jx_array_new(JX_F32, JX_INTS(n, 4, 3), v), jx_array_new(JX_F32, JX_INTS(n, 4, 3), v)};
    double *t = malloc(sizeof *t * (size_t)calls);
    if (!xf || !xp || !xs || !one[0] || !one[1] || !all[0] || !all[1] || !t)
        return fprintf(stderr, "setup: %s\n", jx_errmsg()), 1;
    printf("tiny f32[4,3] body, %d calls, %d CPU devices\n", calls, n);
    double plain = time_calls("plain", xf, one, calls, t);
    double pm = time_calls("pmap", xp, all, calls, t);
    double pms = time_calls("pmap+psum", xs, all, calls, t);
    int rc = plain < 0 || pm < 0 || pms < 0;
    if (!rc) printf("ratio pmap/plain call_median %.2f\n", pm / plain);
    for (int i = 0; i < 2; i++) jx_array_release(one[i]), jx_array_release(all[i]);
    jx_exec_release(xf), jx_exec_release(xp), jx_exec_release(xs);
    jx_fn_release(p), jx_fn_release(ps), jx_fn_release(f), jx_fn_release(fs);
    free(t);
    return rc;
}
