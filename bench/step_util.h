/* step_util.h: inputs and the timing loop shared by the training-step benchmarks
 * (mlp_step.c, cnn_step.c): deterministic pseudo-random arrays and the median/least
 * time of a jitted step whose first outputs replace its donated inputs. */
#ifndef JX_BENCH_STEP_UTIL_H
#define JX_BENCH_STEP_UTIL_H
#include <jx.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench_util.h"

enum { STEP_WARMUP = 20, STEP_MAX_ARGS = 32 };

/* A uniform draw in [0, 1) from a 64-bit LCG (the values do not matter for timing). */
static inline float step_uniform(uint64_t *s) {
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (float)(*s >> 40) / 16777216.0f;
}

/* An f32 array of aval av filled with scale * (uniform - shift). NULL on OOM. */
static inline jx_array *step_filled(jx_aval av, float scale, float shift, uint64_t *seed) {
    jx_array *a = jx_array_zeros(JX_F32, (jx_ints){av.shape, av.rank});
    if (!a) return NULL;
    float *d = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) d[i] = scale * (step_uniform(seed) - shift);
    return a;
}

/* A (batch, classes) f32 array of one-hot rows at random classes. NULL on OOM. */
static inline jx_array *step_onehot(int64_t batch, int64_t classes, uint64_t *seed) {
    jx_array *a = jx_array_zeros(JX_F32, JX_INTS(batch, classes));
    if (!a) return NULL;
    float *y = jx_array_data_mut(a);
    for (int64_t b = 0; b < batch; b++)
        y[b * classes + (int64_t)(step_uniform(seed) * (float)classes) % classes] = 1.0f;
    return a;
}

/* Releases a benchmark's functions, executables and inputs (any may be NULL). */
static inline void step_release(jx_fn *const *fns, int nf, jx_exec *const *xs, int nx, jx_array **in, int nin) {
    for (int i = 0; i < nx; i++) jx_exec_release(xs[i]);
    for (int i = 0; i < nf; i++) jx_fn_release(fns[i]);
    for (int i = 0; i < nin; i++) jx_array_release(in[i]);
}

static inline int step_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs x `STEP_WARMUP + n` times on in[0..nin); outputs 0..ndonate replace inputs
 * 0..ndonate (the donated state), the others are dropped. t[0..n) gets the times of the
 * last n runs, sorted; each run reads its last output, so a device step is waited for.
 * 0, or -1 on failure. */
static inline int step_time_runs(jx_exec *x, jx_array **in, int nin, int nout, int ndonate, int n,
                                 double *t) {
    jx_array *out[STEP_MAX_ARGS];
    if (nout > STEP_MAX_ARGS) return -1;
    for (int r = 0; r < STEP_WARMUP + n; r++) {
        double t0 = bench_now();
        if (jx_exec_run(x, nin, in, nout, out) != JX_OK) return -1;
        volatile double last = jx_array_get(out[nout - 1], 0); /* on a device: waits for the step */
        (void)last;
        if (r >= STEP_WARMUP) t[r - STEP_WARMUP] = bench_now() - t0;
        for (int i = 0; i < nout; i++) {
            if (i < ndonate) {
                jx_array_release(in[i]);
                in[i] = out[i];
            } else {
                jx_array_release(out[i]);
            }
        }
    }
    qsort(t, (size_t)n, sizeof *t, step_cmp_double);
    return 0;
}

#endif /* JX_BENCH_STEP_UTIL_H */
