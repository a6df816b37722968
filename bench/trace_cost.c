/* trace_cost.c: what tracing costs per op. Traces a 1000-op function (a chain of
 * add/mul/tanh/sub on f32[16]) many times and prints ns per op, plus the cost of
 * simplify on it.   usage: bench_trace_cost [reps] */
#include <jx.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

enum { OPS = 1000 };

static void chain(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0], y = in[1];
    for (int i = 0; i < OPS / 4; i++) {
        x = jx_add(x, y);
        x = jx_mul(x, y);
        x = jx_tanh(x);
        x = jx_sub(x, y);
    }
    out[0] = x;
}

static jx_fn *traced;
static void trace_once(void *arg) {
    (void)arg;
    jx_aval a[2] = {JX_AVAL(JX_F32, 16), JX_AVAL(JX_F32, 16)};
    jx_fn_release(traced);
    traced = jx_trace("chain", chain, NULL, 2, a, 1);
}

static void simplify_once(void *arg) {
    jx_fn *g = jx_fn_simplify((jx_fn *)arg);
    jx_fn_release(g);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    trace_once(NULL);
    if (!traced) {
        fprintf(stderr, "trace_cost: %s\n", jx_errmsg());
        return 1;
    }
    double t = bench_best(reps, trace_once, NULL);
    printf("trace: %d-op function, %d equations: %.0f ns/op (best of %d)\n", OPS,
           jx_fn_num_eqns(traced), t * 1e9 / OPS, reps);
    double s = bench_best(reps, simplify_once, traced);
    printf("simplify: %.0f ns/equation\n", s * 1e9 / jx_fn_num_eqns(traced));
    jx_fn_release(traced);
    return 0;
}
