/* mlp_step.c: jx's jit on the MNIST MLP training step of examples/mnist_mlp.c (784-512-512-10,
 * relu, log_softmax cross-entropy, SGD step 0.1, f32), the workload bench/peers/ runs in JAX
 * and PyTorch. Prints machine-readable lines `jx <figure> <value>`:
 *   threads, batch      the worker count (JX_NUM_THREADS, else every core) and batch size
 *   trace_ms            tracing the loss, jx_value_and_grad and tracing the step
 *   compile_ms          the first jx_jit of the step after jx_jit_cache_clear
 *   cache_hit_ms        a second jx_jit of the same step (answered from the cache)
 *   step_ms, step_min_ms  median and least time of one step (loss, grads, update; the
 *                       parameters donated) over `steps` steps after a warm-up
 *   predict_compile_ms, predict_ms  the same for the forward pass alone (log-probabilities)
 *   step_eqns, nn_step_eqns, nn_step_ms  the overhead of the nn layer: the equations
 *                       (nested included) of the positional step above and of the same
 *                       step written as examples/mnist_mlp.c writes it (parameters a tree,
 *                       jx_tree_value_and_grad, jx_optim_update with Optax's sgd), and the
 *                       median time of the latter
 *   usage: bench_mlp_step [steps] [batch]   (defaults 200, 128)
 *   JX_BENCH_DEVICE=cuda runs it with JX_DEVICE_CUDA: parameters and batch moved to the
 *   GPU once (jx_array_to), each step's outputs staying there; step_ms then includes
 *   reading the loss back (the step's end), and also printed are
 *   step_pipelined_ms   the mean of `steps` steps queued without reading anything back
 *   step_host_ms        the median step with host arrays in and out (copies each step)
 *   step_fed_ms         the mean step of a trainer's loop: parameters resident, each step's
 *                       batch uploaded (jx_array_to) while the step before runs, the loss
 *                       read every step (examples/common/device_batches.c) */
#include <jx.h>
#include <jx/nn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backends/cpu/cpu.h"
#include "../src/jit/jit.h"
#include "step_util.h"

enum { PIXELS = 784, HIDDEN = 512, CLASSES = 10, NPARAMS = 6 };
static const int64_t sizes[4] = {PIXELS, HIDDEN, HIDDEN, CLASSES};
static const double LR = 0.1;

/* ------------------------------------------------------------------ the model (as the example) */

/* p: w1, b1, w2, b2, w3, b3; x (B,784) -> log-probabilities (B,10). */
static jx_val predict(const jx_val *p, jx_val x) {
    jx_val h = x;
    for (int l = 0; l < 2; l++) h = jx_relu(jx_add(jx_matmul(h, p[2 * l]), p[2 * l + 1]));
    return jx_log_softmax(jx_add(jx_matmul(h, p[4]), p[5]), -1);
}

static void predict_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = predict(in, in[NPARAMS]);
}

/* (params..., x, y one-hot) -> mean cross-entropy. */
static void loss_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val logp = predict(in, in[NPARAMS]);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, in[NPARAMS + 1]), JX_INTS(1)), JX_NOINTS));
}

/* (params..., x, y) -> (params - LR * grads..., loss); user: the value_and_grad fn. */
static void step_body(jx_val *out, const jx_val *in, void *user) {
    jx_val r[1 + NPARAMS];
    jx_call(user, NPARAMS + 2, in, 1 + NPARAMS, r);
    for (int i = 0; i < NPARAMS; i++)
        out[i] = jx_sub(in[i], jx_mul(r[1 + i], jx_scalar_like(in[i], LR)));
    out[NPARAMS] = r[0];
}

/* The avals of the parameters, then x (batch,784) and, with labels, y (batch,10). */
static void avals(jx_aval *av, int64_t batch) {
    for (int l = 0; l < 3; l++) {
        av[2 * l] = JX_AVAL(JX_F32, sizes[l], sizes[l + 1]);
        av[2 * l + 1] = JX_AVAL(JX_F32, sizes[l + 1]);
    }
    av[NPARAMS] = JX_AVAL(JX_F32, batch, PIXELS);
    av[NPARAMS + 1] = JX_AVAL(JX_F32, batch, CLASSES);
}

/* ------------------------------------------------------------------ the same step on nn's trees */

static const char *const dense_names[3] = {"dense1", "dense2", "dense3"};

/* in[0]: params {dense1, dense2, dense3}.{w, b}; in[1]: {x, y}. out[0]: the mean cross-entropy. */
static void tree_loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val p[NPARAMS];
    for (int i = 0; i < NPARAMS; i++) p[i] = jx_tree_get_val(jx_tree_get(in[0], dense_names[i / 2]), i % 2 ? "b" : "w");
    jx_val logp = predict(p, jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_neg(jx_mean(jx_sum(jx_mul(logp, jx_tree_get_val(in[1], "y")), JX_INTS(1)), JX_NOINTS)));
}

/* in: params, optimizer state, batch. out: new params, new state, loss (mnist_mlp's step). */
static void tree_step_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *args[2] = {in[0], in[2]}, *loss[1], *grads;
    if (jx_tree_value_and_grad(tree_loss_body, NULL, 2, args, 0, 1, loss, &grads) != JX_OK) return;
    jx_optim_update(user, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = loss[0];
    jx_tree_free(grads);
}

/* Traces the step over trees on tin[] (parameters, x, y: taken over), jits it with the
 * parameters and optimizer state donated, prints its equation count and median step
 * time. 0, or -1 with the error set. */
static int time_tree_step(jx_array **tin, jx_device dev, int steps, double *t) {
    jx_optim opt = jx_optim_sgd(jx_schedule_constant(LR), 0, 0);
    jx_tree *tr[3] = {jx_tree_dict(), NULL, jx_tree_dict()};
    jx_array *flat[STEP_MAX_ARGS] = {0};
    jx_tree_fn *fn = NULL;
    jx_exec *x = NULL;
    int rc = -1, nd = 0;
    char path[32];
    for (int i = 0; i < NPARAMS; i++) {
        snprintf(path, sizeof path, "%s.%s", dense_names[i / 2], i % 2 ? "b" : "w");
        if (jx_tree_set_array(tr[0], path, jx_array_retain(tin[i])) != JX_OK) goto done;
    }
    if (jx_tree_set_array(tr[2], "x", jx_array_retain(tin[NPARAMS])) != JX_OK ||
        jx_tree_set_array(tr[2], "y", jx_array_retain(tin[NPARAMS + 1])) != JX_OK || !(tr[1] = jx_optim_init(&opt, tr[0])) ||
        !(fn = jx_tree_trace("nn_train_step", tree_step_body, &opt, 3, tr, 3)))
        goto done;
    nd = jx_tree_fn_input_offset(fn, 2); /* params and state leaves, in flatten order */
    int ns = jx_tree_num_leaves(tr[1]);
    if (nd != NPARAMS + ns || nd + 2 > STEP_MAX_ARGS) goto done;
    for (int i = 0; i < NPARAMS; i++) flat[i] = tin[i], tin[i] = NULL;
    jx_tree_flatten_arrays(tr[1], flat + NPARAMS, ns);
    for (int i = NPARAMS; i < nd; i++) jx_array_retain(flat[i]);
    flat[nd] = tin[NPARAMS], flat[nd + 1] = tin[NPARAMS + 1], tin[NPARAMS] = tin[NPARAMS + 1] = NULL;
    for (int i = 0; i < 3; i++) jx_tree_free(tr[i]), tr[i] = NULL; /* the state's only references: flat[] */
    int64_t donate[STEP_MAX_ARGS];
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts opts = {0, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    if (!(x = jx_jit(jx_tree_fn_fn(fn), dev, &opts)) || step_time_runs(x, flat, nd + 2, nd + 1, nd, steps, t) != 0)
        goto done;
    printf("jx nn_step_eqns %d\njx nn_step_ms %.4f\n", jx_fn_num_eqns_total(jx_tree_fn_fn(fn)), t[steps / 2] * 1e3);
    rc = 0;
done:
    for (int i = 0; i < 3; i++) jx_tree_free(tr[i]);
    for (int i = 0; i < nd + 2; i++) jx_array_release(flat[i]);
    jx_exec_release(x);
    jx_tree_fn_free(fn);
    return rc;
}

/* ------------------------------------------------------------------ data and timing */

/* in[0..NPARAMS+1]: parameters ~ U(-0.01, 0.01), pixels in [0, 1), one-hot labels. */
static int make_inputs(jx_array **in, const jx_aval *av) {
    uint64_t seed = 42;
    for (int i = 0; i < NPARAMS; i++)
        if (!(in[i] = step_filled(av[i], 0.02f, 0.5f, &seed))) return -1;
    if (!(in[NPARAMS] = step_filled(av[NPARAMS], 1.0f, 0.0f, &seed))) return -1;
    if (!(in[NPARAMS + 1] = step_onehot(av[NPARAMS].shape[0], CLASSES, &seed))) return -1;
    return 0;
}

/* Runs x on in[] (the first NPARAMS replaced by the outputs when `donating`). */
static int time_runs(jx_exec *x, jx_array **in, int nout, bool donating, int n, double *t) {
    return step_time_runs(x, in, NPARAMS + (donating ? 2 : 1), nout, donating ? NPARAMS : 0, n, t);
}

/* Mean ms of n donating steps queued back to back, reading only the last loss. */
static double time_pipelined(jx_exec *x, jx_array **in, int n) {
    jx_array *out[NPARAMS + 1];
    double t0 = bench_now(), last = 0;
    for (int r = 0; r < n; r++) {
        if (jx_exec_run(x, NPARAMS + 2, in, NPARAMS + 1, out) != JX_OK) return -1;
        for (int i = 0; i < NPARAMS; i++) jx_array_release(in[i]), in[i] = out[i];
        if (r == n - 1) last = jx_array_get(out[NPARAMS], 0);
        jx_array_release(out[NPARAMS]);
    }
    return last == last ? (bench_now() - t0) * 1e3 / n : -1;
}

/* Mean ms of n donating steps fed as a trainer feeds them: the batch (host copies in
 * host[0..2)) uploaded again for every step, after the step before was queued and before
 * its loss is read. */
static double time_fed(jx_exec *x, jx_array **in, jx_array *const *host, int n) {
    jx_array *saved[2] = {in[NPARAMS], in[NPARAMS + 1]}, *out[NPARAMS + 1];
    double t0 = bench_now(), sum = 0;
    bool ok = true;
    jx_array *b[2] = {jx_array_to(host[0], JX_DEVICE_CUDA), jx_array_to(host[1], JX_DEVICE_CUDA)};
    for (int r = 0; r < n && ok; r++) {
        in[NPARAMS] = b[0], in[NPARAMS + 1] = b[1];
        ok = b[0] && b[1] && jx_exec_run(x, NPARAMS + 2, in, NPARAMS + 1, out) == JX_OK;
        jx_array_release(b[0]), jx_array_release(b[1]);
        b[0] = b[1] = NULL;
        if (!ok) break;
        for (int i = 0; i < NPARAMS; i++) jx_array_release(in[i]), in[i] = out[i];
        if (r < n - 1) /* the next batch goes up while this step runs */
            b[0] = jx_array_to(host[0], JX_DEVICE_CUDA), b[1] = jx_array_to(host[1], JX_DEVICE_CUDA);
        sum += jx_array_get(out[NPARAMS], 0); /* waits for the step */
        jx_array_release(out[NPARAMS]);
    }
    double ms = (bench_now() - t0) * 1e3 / n;
    jx_array_release(b[0]), jx_array_release(b[1]);
    in[NPARAMS] = saved[0], in[NPARAMS + 1] = saved[1];
    return ok && sum == sum ? ms : -1;
}

/* Replaces in[i] by its copy on dev. 0, or -1 with the error set. */
static int move_to(jx_array **in, int n, jx_device dev) {
    for (int i = 0; i < n; i++) {
        jx_array *d = jx_array_to(in[i], dev);
        if (!d) return -1;
        jx_array_release(in[i]);
        in[i] = d;
    }
    return 0;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 200;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 128;
    if (steps < 1) steps = 1;
    const char *dname = getenv("JX_BENCH_DEVICE");
    jx_device dev = dname && strcmp(dname, "cuda") == 0 ? JX_DEVICE_CUDA : JX_DEVICE_CPU;
    printf("jx device %s\n", dev == JX_DEVICE_CUDA ? "cuda" : "cpu");
    if (batch < 1) batch = 128;
    jx_aval av[NPARAMS + 2];
    avals(av, batch);
    jx_array *in[NPARAMS + 2] = {0}, *host_batch[2] = {0};
    double *t = malloc((size_t)steps * sizeof *t);
    jx_fn *loss = NULL, *vg = NULL, *step = NULL, *fwd = NULL;
    jx_exec *x = NULL, *x2 = NULL, *px = NULL;
    int rc = 1;
    if (!t || make_inputs(in, av) != 0) goto done;

    double t0 = bench_now();
    loss = jx_trace("loss", loss_body, NULL, NPARAMS + 2, av, 1);
    vg = loss ? jx_value_and_grad(loss, JX_INTS(0, 1, 2, 3, 4, 5)) : NULL;
    step = vg ? jx_trace("train_step", step_body, vg, NPARAMS + 2, av, NPARAMS + 1) : NULL;
    double trace_s = bench_now() - t0;
    if (!step) goto done;

    jx_jit_opts opts = {0, JX_INTS(0, 1, 2, 3, 4, 5), 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    jx_jit_cache_clear();
    jx_jit_stats s0 = jx_jit_stats_get();
    t0 = bench_now();
    x = jx_jit(step, dev, &opts);
    double compile_s = bench_now() - t0;
    jx_jit_stats s1 = jx_jit_stats_get();
    t0 = bench_now();
    x2 = x ? jx_jit(step, dev, &opts) : NULL;
    double hit_s = bench_now() - t0;
    jx_jit_stats s2 = jx_jit_stats_get();
    if (!x2) goto done;
    if (s2.hits != s1.hits + 1) fprintf(stderr, "mlp_step: the second jx_jit was not a hit\n");

    printf("jx threads %d\njx batch %lld\n", jx__default_threads(), (long long)batch);
    printf("jx trace_ms %.3f\njx compile_ms %.3f\njx cache_hit_ms %.4f\njx kernels %lld\n",
           trace_s * 1e3, compile_s * 1e3, hit_s * 1e3, (long long)(s1.kernels - s0.kernels));
    fflush(stdout);
    if (dev == JX_DEVICE_CUDA) {
        if (time_runs(x, in, NPARAMS + 1, true, steps, t) != 0) goto done;
        printf("jx step_host_ms %.4f\n", t[steps / 2] * 1e3);
        host_batch[0] = jx_array_retain(in[NPARAMS]), host_batch[1] = jx_array_retain(in[NPARAMS + 1]);
        if (move_to(in, NPARAMS + 2, dev) != 0) goto done;
    }
    if (time_runs(x, in, NPARAMS + 1, true, steps, t) != 0) goto done;
    printf("jx step_ms %.4f\njx step_min_ms %.4f\n", t[steps / 2] * 1e3, t[0] * 1e3);
    if (dev == JX_DEVICE_CUDA) printf("jx step_pipelined_ms %.4f\n", time_pipelined(x, in, steps));
    if (dev == JX_DEVICE_CUDA) printf("jx step_fed_ms %.4f\n", time_fed(x, in, host_batch, steps));
    fflush(stdout);

    fwd = jx_trace("predict", predict_body, NULL, NPARAMS + 1, av, 1);
    jx_jit_opts popts = {0, JX_NOINTS, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    t0 = bench_now();
    px = fwd ? jx_jit(fwd, dev, &popts) : NULL;
    double pcompile_s = bench_now() - t0;
    if (!px || time_runs(px, in, 1, false, steps, t) != 0) goto done;
    printf("jx predict_compile_ms %.3f\njx predict_ms %.4f\n", pcompile_s * 1e3,
           t[steps / 2] * 1e3);
    printf("jx step_eqns %d\n", jx_fn_num_eqns_total(step));
    fflush(stdout);
    if (dev != JX_DEVICE_CUDA) { /* the nn layer's step on fresh copies of the same inputs (host) */
        jx_array *tin[NPARAMS + 2] = {0};
        if (make_inputs(tin, av) != 0 || time_tree_step(tin, dev, steps, t) != 0) {
            step_release(NULL, 0, NULL, 0, tin, NPARAMS + 2);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "mlp_step: %s\n", jx_errmsg());
    step_release((jx_fn *[]){fwd, step, vg, loss}, 4, (jx_exec *[]){px, x2, x}, 3, in, NPARAMS + 2);
    jx_array_release(host_batch[0]), jx_array_release(host_batch[1]);
    free(t);
    return rc;
}
