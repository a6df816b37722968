/* cnn_step.c: jx's jit on the training step of examples/mnist_cnn.c, the workload
 * bench/peers/cnn_step_{jax,torch}.py run in JAX (Flax) and PyTorch. The network is the
 * trainer's own (examples/common/cnn_seq.c, linked in):
 *   conv3x3(32, SAME, no bias) - batchnorm - relu - maxpool2,
 *   conv3x3(64, SAME, no bias) - batchnorm - relu - maxpool2,
 *   dense(128) - relu - dropout(0.5) - dense(10),
 * NHWC, f32, batch 128, and so is the step: the mean softmax cross-entropy on integer
 * labels, batch norm in training mode returning its running statistics (momentum 0.9),
 * dropout from a key given with the batch, Adam (0.9, 0.999, 1e-8) at 1e-3 with the
 * trainer's cosine decay over 10 epochs of 60,000 images; params, optimizer state and
 * statistics donated. An epoch of MNIST is ceil(60000 / batch) such steps (run.sh prints
 * that estimate beside the trainer's own epoch time). Prints lines `jx <figure> <value>` with the names of bench_mlp_step
 * (threads, batch, trace_ms, compile_ms, cache_hit_ms, step_ms, step_min_ms,
 * predict_compile_ms, predict_ms), and recompile_ms: the median of `recompiles` further
 * compiles of the step, each from a cleared cache (compile_ms is the first of the process,
 * which also sets up the code generator), and recompile_cpu_ms the median of their CPU
 * time over all threads.
 * JX_BENCH_DEVICE=cuda runs it with JX_DEVICE_CUDA, the state and the batch on the device
 * (the step then runs as one CUDA graph where every step of it runs there; JX_DUMP=plan
 * shows which do).
 *   usage: bench_cnn_step [steps] [batch] [recompiles]   (defaults 100, 128, 5) */
#include <jx.h>
#include <jx/nn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../examples/common/cnn_seq.h"
#include "../src/backends/cpu/cpu.h"
#include "../src/jit/jit.h"
#include "step_util.h"

enum { CLASSES = 10, TRAIN_IMAGES = 60000, EPOCHS = 10 };
static const double LR = 1e-3;

static jx_seq *net;

/* in: params, batch_stats, batch {x (B,28,28,1), y (B) i32, key}. out[0]: the loss;
 * out[1]: the new batch_stats. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_tree *ns = jx_tree_dict();
    jx_seq_ctx c = {.stats = in[1], .new_stats = ns, .key = jx_tree_get_val(in[2], "key")};
    jx_val logits = jx_seq_apply(net, in[0], jx_tree_get_val(in[2], "x"), &c);
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[2], "y"), JX_LOSS_NO_IGNORE));
    out[1] = ns;
}

/* in: params, optimizer state, batch_stats, batch. out: the new three, {loss}. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_tree *args[3] = {in[0], in[2], in[3]}, *vals[2], *grads;
    if (jx_tree_value_and_grad(loss_body, NULL, 3, args, 0, 2, vals, &grads) != JX_OK) return;
    jx_optim_update(opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = vals[1];
    out[3] = jx_tree_dict();
    jx_tree_set(out[3], "loss", vals[0]);
    jx_tree_free(grads);
}

/* in: params, batch_stats, {x}. out: {logp} (evaluation: running statistics, no dropout). */
static void predict_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_seq_ctx c = {.stats = in[1]};
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logp", jx_log_softmax(jx_seq_apply(net, in[0], jx_tree_get_val(in[2], "x"), &c), -1));
}

/* The batch: x ~ U(0, 1) (batch,28,28,1), y (batch) i32 at random, and a dropout key. */
static jx_tree *make_batch(int64_t batch) {
    uint64_t seed = 42;
    jx_tree *b = jx_tree_dict();
    jx_array *y = jx_array_zeros(JX_I32, JX_INTS(batch));
    if (y)
        for (int64_t i = 0; i < batch; i++) ((int32_t *)jx_array_data_mut(y))[i] = (int32_t)(step_uniform(&seed) * CLASSES);
    if (jx_tree_set_array(b, "x", step_filled(JX_AVAL(JX_F32, batch, CNN_SIDE, CNN_SIDE, 1), 1.0f, 0.0f, &seed)) != JX_OK ||
        jx_tree_set_array(b, "y", y) != JX_OK || jx_tree_set_array(b, "key", jx_random_key_new(1)) != JX_OK) {
        jx_tree_free(b);
        return NULL;
    }
    return b;
}

/* Runs the step STEP_WARMUP + n times, the state trees replaced by its outputs, or the
 * prediction (nstate 0); t[0..n) gets the last n times, sorted. 0, or -1. */
static int time_runs(const jx_tree_fn *f, jx_exec *x, jx_tree **in, int nin, int nstate, int n, double *t) {
    int nout = jx_tree_fn_num_outputs(f);
    for (int r = 0; r < STEP_WARMUP + n; r++) {
        jx_tree *out[4];
        double t0 = bench_now();
        if (jx_tree_fn_run(f, x, nin, in, nout, out) != JX_OK) return -1;
        volatile double last = jx_array_get(jx_tree_leaf_array(jx_tree_leaf(out[nout - 1], 0)), 0);
        (void)last;
        if (r >= STEP_WARMUP) t[r - STEP_WARMUP] = bench_now() - t0;
        for (int i = 0; i < nout; i++) {
            if (i < nstate) jx_tree_free(in[i]), in[i] = out[i]; /* donated: their contents are gone */
            else jx_tree_free(out[i]);
        }
    }
    qsort(t, (size_t)n, sizeof *t, step_cmp_double);
    return 0;
}

static jx_array *to_device(const char *path, const jx_array *a, void *user) {
    (void)path;
    return jx_array_to((jx_array *)a, *(const jx_device *)user);
}

/* Replaces each of the n trees by its copy on dev. 0, or -1 with the error set. */
static int trees_to(jx_tree **t, int n, jx_device dev) {
    for (int i = 0; i < n; i++) {
        jx_tree *d = jx_tree_map_arrays(t[i], to_device, &dev);
        if (!d) return -1;
        jx_tree_free(t[i]);
        t[i] = d;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *dname = getenv("JX_BENCH_DEVICE");
    jx_device dev = dname && strcmp(dname, "cuda") == 0 ? JX_DEVICE_CUDA : JX_DEVICE_CPU;
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 128;
    int recompiles = argc > 3 ? atoi(argv[3]) : 5;
    if (steps < 1) steps = 1;
    if (batch < 1) batch = 128;
    if (recompiles < 1) recompiles = 1;
    int64_t epoch_steps = (TRAIN_IMAGES + batch - 1) / batch;
    jx_optim opt = jx_optim_adam(jx_schedule_warmup_cosine_decay(LR, LR, 0, EPOCHS * epoch_steps, LR / 100), 0.9, 0.999,
                                 1e-8);
    jx_tree *state[4] = {0}, *b = make_batch(batch); /* params, opt, stats, batch */
    jx_array *key = jx_random_key_new(0);
    double *t = malloc((size_t)(steps > recompiles ? steps : recompiles) * sizeof *t); /* step or compile times */
    jx_tree_fn *step = NULL, *fwd = NULL;
    jx_exec *x = NULL, *x2 = NULL, *px = NULL;
    int64_t *donate = NULL;
    int rc = 1;
    if (!t || !b || !key || !(net = cnn_seq()) || cnn_init(net, key, &state[0], &state[2]) != 0 ||
        !(state[1] = jx_optim_init(&opt, state[0])))
        goto done;
    state[3] = b;

    double t0 = bench_now();
    step = jx_tree_trace("cnn_step", step_body, &opt, 4, state, 4);
    double trace_s = bench_now() - t0;
    if (!step) goto done;
    int nd = jx_tree_fn_input_offset(step, 3);
    if (!(donate = malloc((size_t)nd * sizeof *donate))) goto done;
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts opts = {0, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    jx_jit_cache_clear();
    t0 = bench_now();
    x = jx_jit(jx_tree_fn_fn(step), dev, &opts);
    double compile_s = bench_now() - t0;
    t0 = bench_now();
    x2 = x ? jx_jit(jx_tree_fn_fn(step), dev, &opts) : NULL;
    double hit_s = bench_now() - t0;
    if (!x2) goto done;
    if (dev == JX_DEVICE_CUDA && trees_to(state, 4, dev) != 0) goto done;
    b = state[3];
    printf("jx device %s\njx threads %d\njx batch %lld\n", dev == JX_DEVICE_CUDA ? "cuda" : "cpu",
           jx__default_threads(), (long long)batch);
    printf("jx trace_ms %.3f\njx compile_ms %.3f\njx cache_hit_ms %.4f\n", trace_s * 1e3, compile_s * 1e3, hit_s * 1e3);
    if (time_runs(step, x, state, 4, 3, steps, t) != 0) goto done;
    printf("jx step_ms %.4f\njx step_min_ms %.4f\n", t[steps / 2] * 1e3, t[0] * 1e3);
    fflush(stdout);

    jx_tree *pin[3] = {state[0], state[2], b};
    fwd = jx_tree_trace("cnn_predict", predict_body, NULL, 3, pin, 1);
    jx_jit_opts popts = {0, JX_NOINTS, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    t0 = bench_now();
    px = fwd ? jx_jit(jx_tree_fn_fn(fwd), dev, &popts) : NULL;
    double pcompile_s = bench_now() - t0;
    if (!px || time_runs(fwd, px, pin, 3, 0, steps, t) != 0) goto done;
    printf("jx predict_compile_ms %.3f\njx predict_ms %.4f\n", pcompile_s * 1e3, t[steps / 2] * 1e3);
    jx_exec_release(px), jx_exec_release(x2), jx_exec_release(x); /* their code would be shared */
    px = x2 = x = NULL;
    double *cpu = malloc((size_t)recompiles * sizeof *cpu); /* process CPU time of each */
    if (!cpu) goto done;
    for (int r = 0; r < recompiles; r++) {
        jx_jit_cache_clear();
        double c0 = process_cpu_s();
        t0 = bench_now();
        jx_exec *y = jx_jit(jx_tree_fn_fn(step), dev, &opts);
        t[r] = bench_now() - t0;
        cpu[r] = process_cpu_s() - c0;
        if (!y) {
            free(cpu);
            goto done;
        }
        jx_exec_release(y);
    }
    qsort(t, (size_t)recompiles, sizeof *t, step_cmp_double);
    qsort(cpu, (size_t)recompiles, sizeof *cpu, step_cmp_double);
    printf("jx recompile_ms %.3f\njx recompile_cpu_ms %.3f\n", t[recompiles / 2] * 1e3, cpu[recompiles / 2] * 1e3);
    free(cpu);
    fflush(stdout);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cnn_step: %s\n", jx_errmsg());
    jx_exec_release(px), jx_exec_release(x2), jx_exec_release(x);
    jx_tree_fn_free(fwd), jx_tree_fn_free(step);
    for (int i = 0; i < 3; i++) jx_tree_free(state[i]);
    jx_tree_free(b);
    jx_array_release(key);
    jx_seq_free(net);
    free(donate), free(t);
    return rc;
}
