/* call_overhead.c: what one call of a compiled function costs when the arrays are tiny,
 * so that the figure is the overhead alone: jx_exec_run of x * y + exp(x) over f32[4,3]
 * (one fused kernel) against a jax.jit call of the same function, run by
 * bench/peers/call_overhead_jax.py when python3 imports jax. Also the cache hit: jx_jit of
 * a function already compiled, the very jx_fn and an equal one traced again. Prints
 *   jx  call_us_median <v> call_us_min <v>
 *   jx  cache_hit_us_median <v> cache_hit_retraced_us_median <v>
 *   jax call_us_median <v> call_us_min <v>        (or a line saying why there is none)
 *   ratio jax/jx call_median <v>
 *   usage: bench_call_overhead [calls] [python]   (defaults 20000, python3) */
#include <jx.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

enum { MAXCALLS = 1000000 };

static void tiny_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_exp(in[0]));
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return t[n / 2];
}

/* Runs the peer script and copies its `jax ...` lines; the call median in *med (0 if none). */
static void run_jax(const char *python, int calls, double *med) {
    char dir[4096], cmd[8192];
    snprintf(dir, sizeof dir, "%s", __FILE__); /* the peer scripts sit beside this source */
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, "bench");
    snprintf(cmd, sizeof cmd, "cd '%s/peers' && '%s' call_overhead_jax.py %d 2>&1", dir, python, calls);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("jax none (cannot run %s)\n", python);
        return;
    }
    char line[512];
    bool any = false;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "jax ", 4) != 0) continue;
        fputs(line, stdout);
        any = true;
        sscanf(line, "jax call_us_median %lf", med);
    }
    if (pclose(p) != 0 || !any) printf("jax none (%s cannot run bench/peers/call_overhead_jax.py: no jax?)\n", python);
}

int main(int argc, char **argv) {
    int calls = argc > 1 ? atoi(argv[1]) : 20000;
    const char *python = argc > 2 ? argv[2] : "python3";
    if (calls < 100 || calls > MAXCALLS) return fprintf(stderr, "usage: %s [calls 100-%d] [python]\n", argv[0], MAXCALLS), 2;
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 4, 3)};
    jx_fn *f = jx_trace("tiny", tiny_body, NULL, 2, av, 1), *f2 = jx_trace("tiny", tiny_body, NULL, 2, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
    float xv[12], yv[12];
    for (int i = 0; i < 12; i++) xv[i] = -1.0f + (float)i / 5.5f, yv[i] = (float)i / 5.5f;
    jx_array *in[2] = {jx_array_new(JX_F32, JX_INTS(4, 3), xv), jx_array_new(JX_F32, JX_INTS(4, 3), yv)};
    double *t = malloc(sizeof *t * (size_t)calls), *h = malloc(sizeof *h * (size_t)calls);
    int rc = !x || !in[0] || !in[1] || !t || !h || !f2;
    if (rc) fprintf(stderr, "setup: %s\n", jx_errmsg());
    for (int r = -100; !rc && r < calls; r++) { /* 100 unmeasured calls first */
        jx_array *out = NULL;
        double t0 = bench_now();
        jx_status st = jx_exec_run(x, 2, in, 1, &out);
        double dt = bench_now() - t0;
        jx_array_release(out);
        if (st != JX_OK) rc = fprintf(stderr, "run: %s\n", jx_errmsg());
        if (r >= 0) t[r] = dt * 1e6;
    }
    if (!rc) {
        double med = median(t, calls), low = t[0];
        printf("jx call_us_median %.3f\njx call_us_min %.3f\n", med, low);
        double hit[2];
        for (int k = 0; k < 2; k++) {
            int n = calls / 10;
            for (int r = 0; r < n; r++) {
                double t0 = bench_now();
                jx_exec *y = jx_jit(k ? f2 : f, JX_DEVICE_CPU, NULL);
                h[r] = (bench_now() - t0) * 1e6;
                jx_exec_release(y);
            }
            hit[k] = median(h, n);
        }
        printf("jx cache_hit_us_median %.3f\njx cache_hit_retraced_us_median %.3f\n", hit[0], hit[1]);
        fflush(stdout);
        double jmed = 0;
        run_jax(python, calls, &jmed);
        if (jmed > 0) printf("ratio jax/jx call_median %.1f\n", jmed / med);
    }
    free(t);
    free(h);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_fn_release(f2);
    return rc;
}
