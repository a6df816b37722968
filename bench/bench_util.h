/* bench_util.h: timing helpers shared by the benchmark programs. */
#ifndef JX_BENCH_UTIL_H
#define JX_BENCH_UTIL_H
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
#endif
