/* interp_speed.c: the reference interpreter's speed, the baseline the jit must beat.
 * Prints a 512x512 f32 matmul (GFLOP/s) and a chain of 8 elementwise ops over 16M f32
 * (GB/s of one read and one write per op), each against memcpy bandwidth in one run.
 *   usage: bench_interp_speed [reps] */
#include <jx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

enum { N = 512, ELEMS = 16 * 1024 * 1024, CHAIN = 8 };

static void matmul(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_matmul(in[0], in[1]);
}

struct run {
    jx_fn *f;
    jx_array *in[2];
};
static void run_fn(void *arg) {
    struct run *r = arg;
    bench_eval(r->f, 2, r->in);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    jx_aval mm[2] = {JX_AVAL(JX_F32, N, N), JX_AVAL(JX_F32, N, N)};
    struct run r = {jx_trace("matmul", matmul, NULL, 2, mm, 1),
                    {jx_array_full(JX_F32, JX_INTS(N, N), 0.5), jx_array_full(JX_F32, JX_INTS(N, N), 0.25)}};
    if (!r.f) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    double t = bench_best(reps, run_fn, &r);
    printf("interp matmul 512x512 f32: %.2f ms, %.2f GFLOP/s\n", t * 1e3, 2.0 * N * N * N / t / 1e9);
    jx_fn_release(r.f);
    jx_array_release(r.in[0]);
    jx_array_release(r.in[1]);

    jx_aval ew[2] = {JX_AVAL(JX_F32, ELEMS), JX_AVAL(JX_F32, ELEMS)};
    struct run c = {jx_trace("chain", bench_chain8, NULL, 2, ew, 1),
                    {jx_array_full(JX_F32, JX_INTS(ELEMS), 1.5), jx_array_full(JX_F32, JX_INTS(ELEMS), 0.5)}};
    if (!c.f) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    double te = bench_best(reps, run_fn, &c);
    double tc = bench_memcpy(reps, (size_t)ELEMS * 4);
    printf("interp chain of %d elementwise ops over 16M f32: %.2f ms = %.2fx one memcpy pass "
           "(a fused kernel would be ~1x)\n", CHAIN, te * 1e3, te / tc);
    jx_fn_release(c.f);
    jx_array_release(c.in[0]);
    jx_array_release(c.in[1]);
    return 0;
}
