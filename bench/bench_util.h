/* bench_util.h: timing helpers and workloads shared by the benchmark programs. */
#ifndef JX_BENCH_UTIL_H
#define JX_BENCH_UTIL_H
#include <jx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (every thread), in seconds: what a compile split over
 * threads costs in all, less swayed than wall time by other work on a shared box. */
static inline double process_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of `reps` timings of fn(arg), in seconds: the least noisy figure on a shared box. */
static inline double bench_best(int reps, void (*fn)(void *), void *arg) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        fn(arg);
        double t = bench_now() - t0;
        if (t < best) best = t;
    }
    return best;
}
/* The chain of 8 elementwise arithmetic ops (add mul sub max add mul min sub, each of the
 * running value and in[1]), the jit's fused-chain benchmark: a jx_body. */
static inline void bench_chain8(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0], y = in[1];
    x = jx_add(x, y), x = jx_mul(x, y), x = jx_sub(x, y), x = jx_max(x, y);
    x = jx_add(x, y), x = jx_mul(x, y), x = jx_min(x, y), x = jx_sub(x, y);
    out[0] = x;
}

/* Evaluates f (one output, dropped) on in[0..nin) with the interpreter; errors to stderr. */
static inline void bench_eval(const jx_fn *f, int nin, jx_array *const *in) {
    jx_array *out = NULL;
    if (jx_eval(f, nin, in, 1, &out) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
    jx_array_release(out);
}

struct bench_copy {
    void *dst, *src;
    size_t n;
};
static inline void bench_run_copy(void *arg) {
    struct bench_copy *c = arg;
    memcpy(c->dst, c->src, c->n);
}

/* Best of `reps` memcpy passes over `bytes`, printed as a bandwidth line; returns the time
 * in seconds, the baseline the benchmarks compare with. */
static inline double bench_memcpy(int reps, size_t bytes) {
    struct bench_copy cp = {malloc(bytes), malloc(bytes), bytes};
    memset(cp.src, 1, bytes);
    memset(cp.dst, 0, bytes);
    double tc = bench_best(reps, bench_run_copy, &cp);
    printf("memcpy %zu MiB: %.2f ms, %.2f GB/s (read + write)\n", bytes >> 20, tc * 1e3,
           2.0 * (double)bytes / tc / 1e9);
    free(cp.src);
    free(cp.dst);
    return tc;
}
#endif
