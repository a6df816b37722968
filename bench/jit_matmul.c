/* jit_matmul.c: the CPU backend's OpenBLAS dot_general (jx__cpu_dot) against the
 * reference interpreter on the jit issue's matmuls, 512x512x512 and 128x784x512 f32,
 * with no pool and with the default pool, printed as GFLOP/s and speed-up ratios.
 *   usage: bench_jit_matmul [reps] */
#include <jx.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/backends/cpu/cpu.h"
#include "../src/jit/jit.h"
#include "bench_util.h"

static void matmul(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_matmul(in[0], in[1]);
}

struct mm {
    jx_fn *f;
    const jx__eqn *e; /* the dot_general of f */
    jx_array *in[2], *out;
    jx_aval av[2], oav;
    jx__pool *pool;
};

static void run_interp(void *arg) {
    struct mm *r = arg;
    jx_array *out = NULL;
    if (jx_eval(r->f, 2, r->in, 1, &out) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
    jx_array_release(out);
}

static void run_blas(void *arg) {
    struct mm *r = arg;
    const void *in[2] = {jx_array_data(r->in[0]), jx_array_data(r->in[1])};
    if (jx__cpu_dot(r->pool, r->e, r->av, in, &r->oav, jx_array_data_mut(r->out)) != JX_OK)
        fprintf(stderr, "%s\n", jx_errmsg());
}

/* Times one (m,k) x (k,n) f32 matmul each way; returns 0 on success. */
static int bench(int reps, int64_t m, int64_t k, int64_t n) {
    struct mm r = {0};
    r.av[0] = JX_AVAL(JX_F32, m, k);
    r.av[1] = JX_AVAL(JX_F32, k, n);
    r.oav = JX_AVAL(JX_F32, m, n);
    r.f = jx_trace("matmul", matmul, NULL, 2, r.av, 1);
    if (!r.f || r.f->neqn != 1 || r.f->eqns[0].prim != JX_PRIM_DOT_GENERAL)
        return fprintf(stderr, "matmul did not trace to one dot_general: %s\n", jx_errmsg()), 1;
    r.e = &r.f->eqns[0];
    r.in[0] = jx_array_full(JX_F32, JX_INTS(m, k), 0.5);
    r.in[1] = jx_array_full(JX_F32, JX_INTS(k, n), 0.25);
    r.out = jx_array_zeros(JX_F32, JX_INTS(m, n));
    double flop = 2.0 * (double)m * (double)n * (double)k;
    double ti = bench_best(reps, run_interp, &r);
    r.pool = NULL;
    double t1 = bench_best(reps * 4, run_blas, &r);
    int nt = jx__default_threads();
    r.pool = jx__pool_get(nt);
    double tp = bench_best(reps * 4, run_blas, &r);
    printf("%4lldx%-4lldx%-4lld f32  interp %7.2f GFLOP/s | blas 1 thread %7.2f GFLOP/s (x%.1f) | "
           "blas %d threads %7.2f GFLOP/s (x%.1f)\n",
           (long long)m, (long long)k, (long long)n, flop / ti * 1e-9, flop / t1 * 1e-9, ti / t1, nt,
           flop / tp * 1e-9, ti / tp);
    jx_array_release(r.in[0]);
    jx_array_release(r.in[1]);
    jx_array_release(r.out);
    jx_fn_release(r.f);
    return 0;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1) reps = 1;
    if (bench(reps, 512, 512, 512) || bench(reps, 128, 784, 512)) return 1;
    return 0;
}
