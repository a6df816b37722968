/* vmap_grad.c: what vmap costs and what it buys, on an MLP 784-512-512-10 (relu,
 * log_softmax cross-entropy), f32.
 *  1. equations in vmap(forward) and vmap(grad(loss)) for batch 1, 32 and 128: they must
 *     not grow with the batch (the mapped axis is a dimension, not a loop);
 *  2. per-example gradients for a batch of 128: vmap(grad(loss)) compiled once with jx_jit
 *     against a loop of 128 runs of the jitted grad of one example, with the ratio, the
 *     reference interpreter's time for the vmapped function, and the largest difference
 *     between the two results;
 *  3. the same comparison for the forward pass alone (where vmap turns 128 matrix-vector
 *     products into one matrix product), to separate it from the gradients' outer
 *     products, whose cost (writing 128 x 670k gradients) is the same either way.
 * Prints figures only.
 *   usage: bench_vmap_grad [reps] */
#include <jx.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

enum { IN = 784, H = 512, C = 10, B = 128, NP = 6, NARG = NP + 2 };

static const int64_t param_shape[NP][2] = {{IN, H}, {H, 0}, {H, H}, {H, 0}, {H, C}, {C, 0}};
static jx_ints pshape(int i) { return (jx_ints){param_shape[i], param_shape[i][1] ? 2 : 1}; }

/* in: w1, b1, w2, b2, w3, b3, x (IN,) -> log-probabilities (C,) for one example */
static jx_val logp_of(const jx_val *in) {
    jx_val h = in[6];
    for (int l = 0; l < 3; l++) {
        h = jx_add(jx_matmul(h, in[2 * l]), in[2 * l + 1]);
        if (l < 2) h = jx_relu(h);
    }
    return jx_log_softmax(h, 0);
}

static void forward(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = logp_of(in);
}

/* in: the forward's inputs, then the label y (i32 scalar) -> cross-entropy */
static void loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val hot = jx_one_hot(in[7], C, JX_F32);
    out[0] = jx_neg(jx_reduce_sum(jx_mul(hot, logp_of(in)), JX_NOINTS));
}

static void die(const char *what) {
    fprintf(stderr, "vmap_grad: %s: %s\n", what, jx_errmsg());
    exit(1);
}

/* A f32 array of the given shape, uniform in [-scale, scale) from an LCG. */
static jx_array *random_f32(jx_ints shape, float scale, uint64_t *seed) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    float *v = malloc(sizeof *v * (size_t)n);
    for (int64_t k = 0; k < n; k++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[k] = scale * (2.0f * (float)(*seed >> 40) / (float)(1ULL << 24) - 1.0f);
    }
    jx_array *a = jx_array_new(JX_F32, shape, v);
    free(v);
    return a;
}

static const int64_t axes[NARG] = {JX_NOT_MAPPED, JX_NOT_MAPPED, JX_NOT_MAPPED, JX_NOT_MAPPED,
                                   JX_NOT_MAPPED, JX_NOT_MAPPED, 0, 0};

/* ------------------------------------------------------------------ 1. IR size */

static void ir_sizes(const jx_fn *fwd, const jx_fn *grad) {
    int64_t sizes[3] = {1, 32, B};
    printf("1. equations (nested included) of the vmapped MLP\n");
    printf("   %-8s %12s %16s\n", "batch", "vmap(fwd)", "vmap(grad(loss))");
    printf("   %-8s %12d %16d\n", "unmapped", jx_fn_num_eqns_total(fwd), jx_fn_num_eqns_total(grad));
    for (int k = 0; k < 3; k++) {
        jx_fn *vf = jx_vmap(fwd, (jx_ints){axes, NARG - 1}, JX_NOINTS, sizes[k]);
        jx_fn *vg = jx_vmap(grad, (jx_ints){axes, NARG}, JX_NOINTS, sizes[k]);
        if (!vf || !vg) die("vmap");
        printf("   %-8lld %12d %16d\n", (long long)sizes[k], jx_fn_num_eqns_total(vf),
               jx_fn_num_eqns_total(vg));
        jx_fn_release(vf);
        jx_fn_release(vg);
    }
}

/* ------------------------------------------------------------------ 2. per-example grads */

typedef struct run_ctx {
    jx_exec *exec;
    int nin, nout;        /* of the function run: NARG and NP for the grads, NARG - 1 and 1 for
                           * the forward pass */
    jx_array **in;        /* nin inputs: the batch, or (loop) the parameters and slot 6, 7 */
    jx_array **xs, **ys;  /* loop: the B single examples */
    jx_array **out;       /* nout outputs of the last run (B * nout in the loop, example-major) */
    const jx_fn *fn;      /* for the interpreter */
} run_ctx;

static void release_n(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]), a[i] = NULL;
}

static void run_vmapped(void *arg) {
    run_ctx *c = arg;
    release_n(c->nout, c->out);
    if (jx_exec_run(c->exec, c->nin, c->in, c->nout, c->out) != JX_OK) die("run vmapped");
}

static void run_interp(void *arg) {
    run_ctx *c = arg;
    release_n(c->nout, c->out);
    if (jx_eval(c->fn, c->nin, c->in, c->nout, c->out) != JX_OK) die("interpret vmapped");
}

/* B runs of the one-example function. */
static void run_loop(void *arg) {
    run_ctx *c = arg;
    release_n(B * c->nout, c->out);
    for (int b = 0; b < B; b++) {
        c->in[6] = c->xs[b];
        c->in[7] = c->ys[b];
        if (jx_exec_run(c->exec, c->nin, c->in, c->nout, c->out + b * c->nout) != JX_OK) die("run one");
    }
}

/* Largest |vmapped - loop| over every output of every example. */
static double max_diff(int nout, jx_array **vm, jx_array **loop) {
    double worst = 0;
    for (int p = 0; p < nout; p++) {
        const float *v = jx_array_data(vm[p]);
        int64_t n = jx_array_size(loop[p]);
        for (int b = 0; b < B; b++) {
            const float *l = jx_array_data(loop[b * nout + p]);
            for (int64_t k = 0; k < n; k++) worst = fmax(worst, fabs((double)v[b * n + k] - l[k]));
        }
    }
    return worst;
}

/* The inputs: parameters, a batch x (B, IN) and labels (B,), and the B single examples. */
typedef struct data {
    jx_array *in[NARG], *xs[B], *ys[B];
} data;

static void make_data(data *d) {
    uint64_t seed = 42;
    for (int i = 0; i < NP; i++)
        d->in[i] = random_f32(pshape(i), 1.0f / sqrtf((float)param_shape[i][0]), &seed);
    d->in[6] = random_f32(JX_INTS(B, IN), 1.0f, &seed);
    int32_t labels[B];
    for (int b = 0; b < B; b++) labels[b] = (b * 7) % C;
    d->in[7] = jx_array_new(JX_I32, JX_INTS(B), labels);
    const float *xv = jx_array_data(d->in[6]);
    for (int b = 0; b < B; b++) {
        d->xs[b] = jx_array_new(JX_F32, JX_INTS(IN), xv + (size_t)b * IN);
        d->ys[b] = jx_array_scalar(JX_I32, labels[b]);
    }
}

static void free_data(data *d) {
    release_n(NARG, d->in);
    release_n(B, d->xs);
    release_n(B, d->ys);
}

/* vmap(f) over x (and y) compiled once against a loop of B runs of f compiled; nin is
 * NARG (f takes the label) or NARG - 1. interp: also time the interpreter. */
static void compare(const char *title, const jx_fn *f, int nin, const data *d, int reps, bool interp) {
    int nout = jx_fn_num_outputs(f);
    jx_array *batch[NARG], *one[NARG];
    for (int i = 0; i < NARG; i++) batch[i] = one[i] = d->in[i];
    jx_fn *vf = jx_vmap(f, (jx_ints){axes, nin}, JX_NOINTS, B);
    if (!vf) die("vmap");
    double t0 = bench_now();
    jx_exec *ev = jx_jit(vf, JX_DEVICE_CPU, NULL);
    double tc_v = bench_now() - t0;
    t0 = bench_now();
    jx_exec *e1 = jx_jit(f, JX_DEVICE_CPU, NULL);
    double tc_1 = bench_now() - t0;
    if (!ev || !e1) die("jit");

    jx_array **vout = calloc((size_t)nout, sizeof *vout), **lout = calloc((size_t)(B * nout), sizeof *lout);
    run_ctx cv = {ev, nin, nout, batch, NULL, NULL, vout, vf};
    run_ctx cl = {e1, nin, nout, one, (jx_array **)d->xs, (jx_array **)d->ys, lout, f};
    run_vmapped(&cv); /* warm-up: first-run allocations, thread pool start */
    run_loop(&cl);
    double t_v = bench_best(reps, run_vmapped, &cv), t_l = bench_best(reps, run_loop, &cl);
    double diff = max_diff(nout, vout, lout);
    double t_i = interp ? bench_best(1, run_interp, &cv) : 0;

    printf("%s, batch %d, f32 (best of %d)\n", title, B, reps);
    printf("   compile: vmapped %.1f ms, one example %.1f ms\n", 1e3 * tc_v, 1e3 * tc_1);
    printf("   jit vmapped, one run:               %9.2f ms\n", 1e3 * t_v);
    printf("   jit one example, loop of %d runs:  %9.2f ms\n", B, 1e3 * t_l);
    printf("   loop / vmapped:                     %9.2fx\n", t_l / t_v);
    if (interp) printf("   interpreter vmapped, one run:       %9.2f ms\n", 1e3 * t_i);
    printf("   max |vmapped - loop| over outputs:  %9.3g\n", diff);

    release_n(nout, vout);
    release_n(B * nout, lout);
    free(vout);
    free(lout);
    jx_exec_release(ev);
    jx_exec_release(e1);
    jx_fn_release(vf);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1) reps = 1;
    jx_aval av[NARG];
    for (int i = 0; i < NP; i++) av[i] = jx_aval_make(JX_F32, pshape(i));
    av[6] = JX_AVAL(JX_F32, IN);
    av[7] = JX_SCALAR(JX_I32);
    jx_fn *fwd = jx_trace("mlp", forward, NULL, NARG - 1, av, 1);
    jx_fn *lf = jx_trace("mlp_loss", loss, NULL, NARG, av, 1);
    if (!fwd || !lf) die("trace");
    jx_fn *grad = jx_grad(lf, JX_INTS(0, 1, 2, 3, 4, 5));
    if (!grad) die("grad");
    ir_sizes(fwd, grad);
    data d;
    make_data(&d);
    compare("2. per-example gradients: vmap(grad(loss)) vs a loop of grad(loss)", grad, NARG, &d, reps, true);
    compare("3. forward pass alone: vmap(mlp) vs a loop of mlp", fwd, NARG - 1, &d, reps, false);
    free_data(&d);
    jx_fn_release(grad);
    jx_fn_release(lf);
    jx_fn_release(fwd);
    return 0;
}
