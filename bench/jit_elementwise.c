/* jit_elementwise.c: the jit's fused elementwise kernel against the interpreter and
 * memory bandwidth. The chain of 8 arithmetic ops over 16M f32 (as bench/interp_speed.c)
 * runs through the interpreter (8 passes over memory), as one generated kernel called
 * directly on one thread, as that kernel on the thread pool, and through jx_jit (when
 * the executor can compile it); each is printed as a ratio to one memcpy pass. Then
 * the column sum (reduce_sum over axis 0, the bias gradient) of f32[128,512] and
 * f32[4096,4096] as one kernel on one thread. Last, through jx_jit on the default pool,
 * each as a ratio to memcpy (the goals of issue 12: the transcendental chain within 1.5x,
 * softmax and layer norm within 2x): the chain exp, tanh, log1p, logistic over 16M f32,
 * softmax over the last axis of f32[4096,4096], layer norm over its rows, and an LSTM
 * cell's gates (five slices of one input, two outputs' worth of transcendentals), and
 * dropout at rate 0.1 over 16M f32 (a threefry Bernoulli mask drawn in the kernel), and an
 * embedding lookup (gather in a kernel: 16384 rows of 1024 f32 from a table of as many,
 * in a scattered order computed in the kernel, scaled). Beside
 * the transcendental chain, its floor: the same four 16-lane calls jx's kernels make
 * (src/backends/vmath.h: SLEEF's exp, jx's own tanh and log1p) and logistic's divide
 * over the same 16M f32 in a C loop on one thread (where the CPU has AVX-512), halved for
 * two threads.
 *   usage: bench_jit_elementwise [reps] */
#include <jx.h>
#include <jx/nn.h>
#include <jx/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backends/vmath.h"
#include "../src/backends/cpu/cpu.h"
#include "../src/jit/jit.h"
#include "bench_util.h"

enum { ELEMS = 16 * 1024 * 1024 };

struct run {
    jx_fn *f;
    jx_exec *x;
    jx_array *in[2];
    const jx__kernel *k;
    jx__pool *pool;
    void *bufs[3];
};

static void run_interp(void *arg) {
    struct run *r = arg;
    bench_eval(r->f, 2, r->in);
}
static void run_kernel(void *arg) {
    struct run *r = arg;
    jx__kernel_run(r->k, r->bufs, 0, jx__kernel_size(r->k));
}
static void chunk(void *ctx, int64_t b, int64_t e) {
    struct run *r = ctx;
    jx__kernel_run(r->k, r->bufs, b, e);
}
static void run_pool(void *arg) {
    struct run *r = arg;
    jx__pool_for(r->pool, jx__kernel_size(r->k), 1 << 16, chunk, r);
}
static void run_exec(void *arg) {
    struct run *r = arg;
    jx_array *out = NULL;
    if (jx_exec_run(r->x, 2, r->in, 1, &out) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
    jx_array_release(out);
}

static void run_exec1(void *arg) {
    struct run *r = arg;
    jx_array *out = NULL;
    if (jx_exec_run(r->x, 1, r->in, 1, &out) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
    jx_array_release(out);
}

static void b_colsum(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum_at(JX_HERE, in[0], JX_INTS(0));
}

/* The column sum of f32[rows, cols] as one generated kernel on one thread. */
static void bench_colsum(int reps, int64_t rows, int64_t cols) {
    jx_aval av = JX_AVAL(JX_F32, rows, cols);
    struct run r = {.f = jx_trace("colsum", b_colsum, NULL, 1, &av, 1),
                    .in = {jx_array_full(JX_F32, JX_INTS(rows, cols), 0.25)}};
    jx__fusion *fu = r.f ? jx__fuse(r.f, true, NULL) : NULL;
    jx__cpu_module *m = jx__cpu_module_new(2);
    r.k = m && fu && fu->ngroups == 1 ? jx__cpu_kernel_add(m, r.f, &fu->groups[0]) : NULL;
    jx_array *out = jx_array_zeros(JX_F32, JX_INTS(cols));
    if (r.k && jx__cpu_module_compile(m) == JX_OK) {
        r.bufs[0] = (void *)jx_array_data(r.in[0]);
        r.bufs[1] = jx_array_data_mut(out);
        double tk = bench_best(reps * 20, run_kernel, &r);
        printf("kernel   column sum f32[%lld,%lld], 1 thread: %8.4f ms, %.2f GB/s\n", (long long)rows,
               (long long)cols, tk * 1e3, (double)(rows * cols * 4) / tk * 1e-9);
    } else {
        fprintf(stderr, "%s\n", jx_errmsg());
    }
    jx_array_release(out);
    jx__cpu_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(r.f);
    jx_array_release(r.in[0]);
}

static void b_transcendental(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_logistic(jx_log1p(jx_tanh(jx_exp(in[0]))));
}
static void b_softmax(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_softmax(in[0], -1);
}
static void b_layer_norm(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_nn_layer_norm(in[0], JX_NONE, JX_NONE, 1e-5);
}

/* An LSTM cell's gates from one f32[B, 5H] (the pre-activations of the gates i, f, g, o
 * and the cell state c side by side): h = o * tanh(f * c + i * g), five slices of one
 * buffer, the kernel whose vectorisation needed its loop declared parallel (docs/jit.md). */
static void b_lstm_gates(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    int64_t b = a.shape[0], h = a.shape[1] / 5;
    jx_val part[5];
    for (int k = 0; k < 5; k++) part[k] = jx_slice(in[0], JX_INTS(0, k * h), JX_INTS(b, (k + 1) * h), JX_INTS(1, 1));
    jx_val c = jx_add(jx_mul(jx_logistic(part[1]), part[4]), jx_mul(jx_logistic(part[0]), jx_tanh(part[2])));
    out[0] = jx_mul(jx_logistic(part[3]), jx_tanh(c));
}

/* Dropout at rate 0.1 as a training step applies it: a Bernoulli mask drawn with threefry
 * (one hash per element, jax.random.bernoulli's counters), the kept values scaled. */
static void b_dropout(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    jx_val keep = jx_random_bernoulli(jx_random_key(0), 0.9, (jx_ints){a.shape, a.rank});
    out[0] = jx_select(keep, jx_div(in[0], jx_scalar_like(in[0], 0.9)), jx_zeros_like(in[0]));
}

/* table (R, C) -> 2 * table[(iota * 7919) % R]: every row once, in a scattered order */
static void b_lookup(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    jx_val i = jx_iota(JX_I32, JX_INTS(a.shape[0]), 0);
    jx_val ids = jx_rem(jx_mul(i, jx_scalar_like(i, 7919)), jx_scalar_like(i, (double)a.shape[0]));
    out[0] = jx_mul(jx_gather(in[0], ids, 0, 0), jx_scalar_like(in[0], 2));
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
/* The chain's arithmetic with jx's 16-lane functions (vmath.h), in place over n floats:
 * what a kernel of the chain cannot go below. (GCC passes the vectors of a
 * target("avx512f") function in zmm registers, as the functions expect; clang 14 passes
 * them in memory there, so a clang build prints no floor.) */
__attribute__((target("avx512f"))) static void sleef_chain(float *x, int64_t n) {
    typedef __m512 (*v16)(__m512);
    v16 ex = (v16)jx__vmath_find("exp")->vector16, th = (v16)jx__vmath_find("tanh")->vector16;
    v16 lp = (v16)jx__vmath_find("log1p")->vector16;
    __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i + 16 <= n; i += 16) {
        __m512 v = lp(th(ex(_mm512_loadu_ps(x + i))));
        __m512 e = ex(_mm512_sub_ps(_mm512_setzero_ps(), v)); /* v > 0 here: exp(-|v|) */
        _mm512_storeu_ps(x + i, _mm512_div_ps(one, _mm512_add_ps(one, e)));
    }
}
struct floor_run {
    float *x;
};
static void run_floor(void *arg) { sleef_chain(((struct floor_run *)arg)->x, ELEMS); }
static void bench_sleef_floor(int reps, double tc) {
    if (!jx__vmath_wide()) {
        printf("floor    (no 16-lane functions here: %s)\n", jx__vmath_impl());
        return;
    }
    struct floor_run r = {malloc(sizeof(float) * ELEMS)};
    if (!r.x) return;
    for (int64_t i = 0; i < ELEMS; i++) r.x[i] = 0.5f;
    double t = bench_best(reps, run_floor, &r);
    printf("floor    the chain's calls, 1 thread: %7.2f ms; over 2 threads %.2f ms = %5.2fx memcpy\n", t * 1e3,
           t * 5e2, t / 2 / tc);
    free(r.x);
}
#else
static void bench_sleef_floor(int reps, double tc) { (void)reps, (void)tc; }
#endif

/* body on one f32 input of shape sh (filled with 0.5) through jx_jit, printed as a
 * ratio to tc, the memcpy time of the same bytes. */
static void bench_jitted(int reps, const char *what, jx_body body, jx_ints sh, double tc) {
    jx_aval av = jx_aval_make(JX_F32, sh);
    struct run r = {.f = jx_trace(what, body, NULL, 1, &av, 1), .in = {jx_array_full(JX_F32, sh, 0.5)}};
    r.x = r.f ? jx_jit(r.f, JX_DEVICE_CPU, NULL) : NULL;
    if (r.x) {
        double tx = bench_best(reps, run_exec1, &r);
        printf("jx_jit   %-36s %8.2f ms = %5.2fx memcpy\n", what, tx * 1e3, tx / tc);
    } else {
        printf("jx_jit   %s not available: %s\n", what, jx_errmsg());
    }
    jx_exec_release(r.x);
    jx_fn_release(r.f);
    jx_array_release(r.in[0]);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    jx_aval ew[2] = {JX_AVAL(JX_F32, ELEMS), JX_AVAL(JX_F32, ELEMS)};
    struct run r = {.f = jx_trace("chain", bench_chain8, NULL, 2, ew, 1),
                    .in = {jx_array_full(JX_F32, JX_INTS(ELEMS), 1.5), jx_array_full(JX_F32, JX_INTS(ELEMS), 0.5)}};
    if (!r.f) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    double tc = bench_memcpy(reps, (size_t)ELEMS * 4);

    double ti = bench_best(reps, run_interp, &r);
    printf("interp   chain of 8 over 16M f32: %8.2f ms = %5.2fx memcpy\n", ti * 1e3, ti / tc);

    jx__fusion *fu = jx__fuse(r.f, true, NULL);
    jx__cpu_module *m = jx__cpu_module_new(2);
    jx__kernel *k = m && fu && fu->ngroups == 1 ? jx__cpu_kernel_add(m, r.f, &fu->groups[0]) : NULL;
    if (!k || jx__cpu_module_compile(m) != JX_OK) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    jx_array *out = jx_array_zeros(JX_F32, JX_INTS(ELEMS));
    r.k = k;
    r.bufs[0] = (void *)jx_array_data(r.in[0]);
    r.bufs[1] = (void *)jx_array_data(r.in[1]);
    r.bufs[2] = jx_array_data_mut(out);
    double tk = bench_best(reps, run_kernel, &r);
    printf("kernel   1 thread:                %8.2f ms = %5.2fx memcpy, %.1fx faster than interp\n", tk * 1e3,
           tk / tc, ti / tk);
    r.pool = jx__pool_get(jx__default_threads());
    double tp = bench_best(reps, run_pool, &r);
    printf("kernel   %2d threads:              %8.2f ms = %5.2fx memcpy, %.1fx faster than interp\n",
           jx__pool_size(r.pool), tp * 1e3, tp / tc, ti / tp);

    r.x = jx_jit(r.f, JX_DEVICE_CPU, NULL);
    if (r.x) {
        double tx = bench_best(reps, run_exec, &r);
        printf("jx_jit   executable:              %8.2f ms = %5.2fx memcpy, %.1fx faster than interp\n", tx * 1e3,
               tx / tc, ti / tx);
    } else {
        printf("jx_jit   not available: %s\n", jx_errmsg());
    }
    bench_colsum(reps, 128, 512);
    bench_colsum(reps, 4096, 4096);
    printf("(jx_jit below: %d threads; memcpy of 64 MiB as above)\n", jx__default_threads());
    bench_jitted(reps, "exp tanh log1p logistic, 16M f32", b_transcendental, JX_INTS(ELEMS), tc);
    bench_sleef_floor(reps, tc);
    bench_jitted(reps, "softmax f32[4096,4096]", b_softmax, JX_INTS(4096, 4096), tc);
    bench_jitted(reps, "layer norm f32[4096,4096]", b_layer_norm, JX_INTS(4096, 4096), tc);
    bench_jitted(reps, "LSTM gates f32[4096,5x640] -> [4096,640]", b_lstm_gates, JX_INTS(4096, 5 * 640), tc);
    bench_jitted(reps, "dropout 0.1 (threefry mask), 16M f32", b_dropout, JX_INTS(ELEMS), tc);
    bench_jitted(reps, "embedding lookup f32[16384,1024] rows", b_lookup, JX_INTS(16384, 1024), tc);
    jx_exec_release(r.x);
    jx_array_release(out);
    jx__cpu_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(r.f);
    jx_array_release(r.in[0]);
    jx_array_release(r.in[1]);
    return 0;
}
