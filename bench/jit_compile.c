/* jit_compile.c: how long jx_jit takes to compile, the figure that decides how fast test
 * suites and interactive use start. Each case is traced once, then compiled `reps` times
 * with the cache cleared before each jx_jit; the median of jx_jit_stats' compile time per
 * compile is printed, with the first (cold: it also sets up the code generator), the
 * median CPU time of the compiling thread (steadier than wall time on a busy machine; a
 * module split over threads counts only the calling thread's part: JX_NUM_THREADS=1 for all)
 * the cache-hit time (a second jx_jit without clearing) and the time of a compile whose
 * kernels come from the on-disk cache (a fresh temp directory filled by a first compile),
 * as machine-readable lines
 *   jx <case> first_ms <v> compile_ms <v> cpu_ms <v> cache_hit_us <v> disk_hit_ms <v>
 * The compile figures are taken with the disk cache off (opts.cache_dir = "").
 * Cases: tiny (add(mul(x, y), exp(x)) over f32[4,3]: one fused kernel), mlp_forward (the
 * 784-512-512-10 MLP's log-probabilities, batch 128) and mlp_step (its value_and_grad and
 * SGD update with donated parameters: examples/mnist_mlp.c's training step) and cnn_step
 * (the small CNN of bench_grad_cost at batch 128: conv 3x3 to 4 channels + bias + tanh,
 * 2x2 max pool, dense 144-10; its value_and_grad and SGD update, parameters donated).
 *   usage: bench_jit_compile [reps] [opt_level]   (defaults 20, 0 = the default) */
#include <jx.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

enum { PIXELS = 784, HIDDEN = 512, CLASSES = 10, NPARAMS = 6, BATCH = 128, MAXREPS = 1000 };
static const int64_t sizes[4] = {PIXELS, HIDDEN, HIDDEN, CLASSES};

static void tiny_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_exp(in[0]));
}

/* p: w1, b1, w2, b2, w3, b3; x (B,784) -> log-probabilities (B,10). */
static jx_val predict(const jx_val *p, jx_val x) {
    jx_val h = x;
    for (int l = 0; l < 2; l++) h = jx_relu(jx_add(jx_matmul(h, p[2 * l]), p[2 * l + 1]));
    return jx_log_softmax(jx_add(jx_matmul(h, p[4]), p[5]), -1);
}

static void forward_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = predict(in, in[NPARAMS]);
}

static void loss_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val logp = predict(in, in[NPARAMS]);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, in[NPARAMS + 1]), JX_INTS(1)), JX_NOINTS));
}

/* (params..., x, y) -> (params - 0.1 * grads..., loss); u: the value_and_grad function. */
static void step_body(jx_val *out, const jx_val *in, void *u) {
    jx_val r[1 + NPARAMS];
    jx_call((const jx_fn *)u, NPARAMS + 2, in, 1 + NPARAMS, r);
    for (int i = 0; i < NPARAMS; i++) out[i] = jx_sub(in[i], jx_mul(r[1 + i], jx_scalar_like(in[i], 0.1)));
    out[NPARAMS] = r[0];
}

/* CNN: x (128,1,12,12), onehot (128,10), w (4,1,3,3), b (4), wd (144,10), bd (10) -> loss */
static void cnn_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val z = jx_add(jx_conv(in[0], in[2], &o), jx_reshape(in[3], JX_INTS(1, 4, 1, 1)));
    jx_val p = jx_reduce_window(jx_tanh(z), JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS,
                                JX_NOINTS);
    jx_val logits = jx_add(jx_matmul(jx_reshape(p, JX_INTS(BATCH, 144)), in[4]), in[5]);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(jx_log_softmax(logits, -1), in[1]), JX_INTS(1)), JX_NOINTS));
}

/* (x, y, w, b, wd, bd) -> (w, b, wd, bd updated, loss); u: the value_and_grad function */
static void cnn_step_body(jx_val *out, const jx_val *in, void *u) {
    jx_val r[5];
    jx_call((const jx_fn *)u, 6, in, 5, r);
    for (int i = 0; i < 4; i++) out[i] = jx_sub(in[2 + i], jx_mul(r[1 + i], jx_scalar_like(in[2 + i], 0.1)));
    out[4] = r[0];
}

static void mlp_avals(jx_aval *av) {
    for (int l = 0; l < 3; l++) {
        av[2 * l] = JX_AVAL(JX_F32, sizes[l], sizes[l + 1]);
        av[2 * l + 1] = JX_AVAL(JX_F32, sizes[l + 1]);
    }
    av[NPARAMS] = JX_AVAL(JX_F32, BATCH, PIXELS);
    av[NPARAMS + 1] = JX_AVAL(JX_F32, BATCH, CLASSES);
}

static double thread_cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median wall time of reps compiles of f whose kernels come from the disk cache in a new
 * temp directory (filled by one compile first); -1 on failure. */
static double disk_hit_ms(const jx_fn *f, const jx_jit_opts *o, int reps) {
    static double t[MAXREPS];
    char dir[] = "/tmp/jx-bench-cache-XXXXXX", cmd[64];
    if (!mkdtemp(dir)) return -1;
    jx_jit_opts d = *o;
    d.cache_dir = dir;
    bool ok = true;
    for (int r = -1; r < reps && ok; r++) {
        jx_jit_cache_clear();
        jx_jit_stats s0 = jx_jit_stats_get();
        double t0 = bench_now();
        jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &d);
        if (r >= 0) t[r] = (bench_now() - t0) * 1e3;
        ok = x && (r < 0 || jx_jit_stats_get().disk_hits > s0.disk_hits);
        jx_exec_release(x);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (!ok) return -1;
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

/* Compiles f reps times from a cleared cache and prints the figures; 1 on failure. */
static int measure(const char *name, const jx_fn *f, const jx_jit_opts *o, int reps) {
    static double t[MAXREPS], cpu[MAXREPS];
    double first = 0, hit_us = 0;
    for (int r = 0; r <= reps; r++) {
        jx_jit_cache_clear();
        double before = jx_jit_stats_get().compile_ms, cpu0 = thread_cpu_ms();
        jx_exec *x = jx_jit(f, JX_DEVICE_CPU, o);
        double cpu_ms = thread_cpu_ms() - cpu0;
        if (!x) return fprintf(stderr, "%s: %s\n", name, jx_errmsg()), 1;
        double ms = jx_jit_stats_get().compile_ms - before;
        if (r == 0) {
            first = ms;
        } else {
            t[r - 1] = ms;
            cpu[r - 1] = cpu_ms;
        }
        if (r == reps) {
            double t0 = bench_now();
            jx_exec *y = jx_jit(f, JX_DEVICE_CPU, o);
            hit_us = (bench_now() - t0) * 1e6;
            jx_exec_release(y);
        }
        jx_exec_release(x);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    qsort(cpu, (size_t)reps, sizeof cpu[0], cmp_double);
    double disk = disk_hit_ms(f, o, reps);
    printf("jx %-12s first_ms %8.2f compile_ms %8.2f cpu_ms %8.2f cache_hit_us %8.1f disk_hit_ms %8.2f\n", name, first,
           t[reps / 2], cpu[reps / 2], hit_us, disk);
    return 0; /* disk_hit_ms -1: no disk hit (JX_DUMP=llvm or asm: compiled anew) */
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1 || reps > MAXREPS) return fprintf(stderr, "usage: %s [reps 1-%d] [opt_level]\n", argv[0], MAXREPS), 2;
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.opt_level = argc > 2 ? atoi(argv[2]) : 0;
    o.cache_dir = ""; /* compile times: no disk cache */
    jx_aval av[NPARAMS + 2];
    jx_aval tav[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 4, 3)};
    mlp_avals(av);
    jx_fn *tiny = jx_trace("tiny", tiny_body, NULL, 2, tav, 1);
    jx_fn *fwd = jx_trace("mlp_forward", forward_body, NULL, NPARAMS + 1, av, 1);
    jx_fn *loss = jx_trace("loss", loss_body, NULL, NPARAMS + 2, av, 1);
    jx_fn *vg = loss ? jx_value_and_grad(loss, JX_INTS(0, 1, 2, 3, 4, 5)) : NULL;
    jx_fn *step = vg ? jx_trace("mlp_step", step_body, vg, NPARAMS + 2, av, NPARAMS + 1) : NULL;
    int bad = !tiny || !fwd || !step;
    if (bad) fprintf(stderr, "tracing: %s\n", jx_errmsg());
    jx_aval cav[6] = {JX_AVAL(JX_F32, BATCH, 1, 12, 12), JX_AVAL(JX_F32, BATCH, 10), JX_AVAL(JX_F32, 4, 1, 3, 3),
                      JX_AVAL(JX_F32, 4), JX_AVAL(JX_F32, 144, 10), JX_AVAL(JX_F32, 10)};
    jx_fn *closs = jx_trace("cnn_loss", cnn_loss, NULL, 6, cav, 1);
    jx_fn *cvg = closs ? jx_value_and_grad(closs, JX_INTS(2, 3, 4, 5)) : NULL;
    jx_fn *cstep = cvg ? jx_trace("cnn_step", cnn_step_body, cvg, 6, cav, 5) : NULL;
    if (!bad && !cstep) bad = 1, fprintf(stderr, "tracing the CNN: %s\n", jx_errmsg());
    jx_jit_opts so = o, co = o;
    so.donate = JX_INTS(0, 1, 2, 3, 4, 5);
    co.donate = JX_INTS(2, 3, 4, 5);
    if (!bad) bad = measure("tiny", tiny, &o, reps) || measure("mlp_forward", fwd, &o, reps) ||
                    measure("mlp_step", step, &so, reps) || measure("cnn_step", cstep, &co, reps);
    jx_jit_cache_clear();
    jx_fn_release(cstep);
    jx_fn_release(cvg);
    jx_fn_release(closs);
    jx_fn_release(step);
    jx_fn_release(vg);
    jx_fn_release(loss);
    jx_fn_release(fwd);
    jx_fn_release(tiny);
    return bad;
}
