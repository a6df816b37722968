/* cnn_step.c: jx's jit on the training step of examples/mnist_cnn.c's model, the workload
 * bench/peers/cnn_step_{jax,torch}.py run in JAX (Flax) and PyTorch:
 *   conv3x3(32, SAME, no bias) - batchnorm - relu - maxpool2,
 *   conv3x3(64, SAME, no bias) - batchnorm - relu - maxpool2, dense(128) - relu - dense(10),
 * NHWC, mean softmax cross-entropy, SGD step 0.1, f32, batch 128. Batch norm in training
 * mode returns its updated running statistics (momentum 0.9) as the example does; the
 * example's dropout is left out (each framework draws its own masks) and its Adam
 * replaced by SGD so that the three programs do the same arithmetic. Prints lines
 * `jx <figure> <value>` with the names of bench_mlp_step (threads, batch, trace_ms,
 * compile_ms, cache_hit_ms, step_ms, step_min_ms, predict_compile_ms, predict_ms).
 *   usage: bench_cnn_step [steps] [batch]   (defaults 100, 128) */
#include <jx.h>
#include <jx/nn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/jit/jit.h"
#include "step_util.h"

enum { SIDE = 28, C1 = 32, C2 = 64, HIDDEN = 128, CLASSES = 10, FLAT = 7 * 7 * C2 };
/* params: conv1.w, bn1.scale, bn1.bias, conv2.w, bn2.scale, bn2.bias, d1.w, d1.b, d2.w, d2.b;
 * stats: bn1.mean, bn1.var, bn2.mean, bn2.var; then x (B,28,28,1) and y (B,10) one-hot. */
enum { NPARAMS = 10, NSTATS = 4, NSTATE = NPARAMS + NSTATS, X = NSTATE, Y = NSTATE + 1 };
static const double LR = 0.1, MOMENTUM = 0.9, EPS = 1e-5;

/* in: params, stats, x -> logits; new_stats (4, may be NULL: evaluation statistics). */
static jx_val logits_of(const jx_val *in, jx_val x, jx_val *new_stats) {
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = x;
    for (int i = 0; i < 2; i++) {
        const jx_val *p = in + 3 * i, *s = in + NPARAMS + 2 * i;
        h = jx_nn_conv2d(h, p[0], JX_NONE, &same);
        if (new_stats)
            h = jx_nn_batch_norm_train(h, p[1], p[2], s[0], s[1], MOMENTUM, EPS, &new_stats[2 * i],
                                       &new_stats[2 * i + 1]);
        else
            h = jx_nn_batch_norm_eval(h, p[1], p[2], s[0], s[1], EPS);
        h = jx_nn_max_pool(jx_relu(h), 2, 2, 2, 2, JX_NN_PAD_VALID);
    }
    h = jx_reshape(h, JX_INTS(jx_dim(h, 0), FLAT));
    h = jx_relu(jx_nn_dense(h, in[6], in[7]));
    return jx_nn_dense(h, in[8], in[9]);
}

/* (params, stats, x, y) -> (loss, new stats...). */
static void loss_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val logp = jx_log_softmax(logits_of(in, in[X], out + 1), -1);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, in[Y]), JX_INTS(1)), JX_NOINTS));
}

/* (params, stats, x, y) -> (params - LR * grads..., new stats..., loss); user: the
 * value_and_grad fn (with the new stats as auxiliary outputs). */
static void step_body(jx_val *out, const jx_val *in, void *user) {
    jx_val r[1 + NSTATS + NPARAMS];
    jx_call(user, NSTATE + 2, in, 1 + NSTATS + NPARAMS, r);
    for (int i = 0; i < NPARAMS; i++)
        out[i] = jx_sub(in[i], jx_mul(r[1 + NSTATS + i], jx_scalar_like(in[i], LR)));
    for (int i = 0; i < NSTATS; i++) out[NPARAMS + i] = r[1 + i];
    out[NSTATE] = r[0];
}

static void predict_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_log_softmax(logits_of(in, in[X], NULL), -1);
}

static void avals(jx_aval *av, int64_t batch) {
    av[0] = JX_AVAL(JX_F32, 3, 3, 1, C1);
    av[1] = av[2] = av[10] = av[11] = JX_AVAL(JX_F32, C1);
    av[3] = JX_AVAL(JX_F32, 3, 3, C1, C2);
    av[4] = av[5] = av[12] = av[13] = JX_AVAL(JX_F32, C2);
    av[6] = JX_AVAL(JX_F32, FLAT, HIDDEN);
    av[7] = JX_AVAL(JX_F32, HIDDEN);
    av[8] = JX_AVAL(JX_F32, HIDDEN, CLASSES);
    av[9] = JX_AVAL(JX_F32, CLASSES);
    av[X] = JX_AVAL(JX_F32, batch, SIDE, SIDE, 1);
    av[Y] = JX_AVAL(JX_F32, batch, CLASSES);
}

/* Weights ~ U(-s, s) with s = 1/sqrt(fan in); scales and variances 1, biases and means 0. */
static int make_inputs(jx_array **in, const jx_aval *av) {
    uint64_t seed = 42;
    static const double fan_in[NPARAMS] = {9, 0, 0, 9 * C1, 0, 0, FLAT, 0, HIDDEN, 0};
    for (int i = 0; i < NSTATE; i++) {
        bool ones = i == 1 || i == 4 || i == 11 || i == 13;
        float s = i < NPARAMS && fan_in[i] > 0 ? (float)(2.0 / sqrt(fan_in[i])) : 0.0f;
        if (!(in[i] = step_filled(av[i], s, 0.5f, &seed))) return -1;
        if (ones) {
            float *d = jx_array_data_mut(in[i]);
            for (int64_t k = 0; k < jx_array_size(in[i]); k++) d[k] = 1.0f;
        }
    }
    if (!(in[X] = step_filled(av[X], 1.0f, 0.0f, &seed))) return -1;
    return (in[Y] = step_onehot(av[X].shape[0], CLASSES, &seed)) ? 0 : -1;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 128;
    if (steps < 1) steps = 1;
    if (batch < 1) batch = 128;
    jx_aval av[NSTATE + 2];
    avals(av, batch);
    jx_array *in[NSTATE + 2] = {0};
    double *t = malloc((size_t)steps * sizeof *t);
    jx_fn *loss = NULL, *vg = NULL, *step = NULL, *fwd = NULL;
    jx_exec *x = NULL, *x2 = NULL, *px = NULL;
    int rc = 1;
    if (!t || make_inputs(in, av) != 0) goto done;

    double t0 = bench_now();
    loss = jx_trace("cnn_loss", loss_body, NULL, NSTATE + 2, av, 1 + NSTATS);
    vg = loss ? jx_value_and_grad(loss, JX_INTS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)) : NULL;
    step = vg ? jx_trace("cnn_step", step_body, vg, NSTATE + 2, av, NSTATE + 1) : NULL;
    double trace_s = bench_now() - t0;
    if (!step) goto done;

    jx_jit_opts opts = {0, JX_INTS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), 0, NULL, JX_SUBNORMALS_DEFAULT};
    jx_jit_cache_clear();
    t0 = bench_now();
    x = jx_jit(step, JX_DEVICE_CPU, &opts);
    double compile_s = bench_now() - t0;
    t0 = bench_now();
    x2 = x ? jx_jit(step, JX_DEVICE_CPU, &opts) : NULL;
    double hit_s = bench_now() - t0;
    if (!x2) goto done;
    printf("jx threads %d\njx batch %lld\n", jx__default_threads(), (long long)batch);
    printf("jx trace_ms %.3f\njx compile_ms %.3f\njx cache_hit_ms %.4f\n", trace_s * 1e3,
           compile_s * 1e3, hit_s * 1e3);
    fflush(stdout);
    if (step_time_runs(x, in, NSTATE + 2, NSTATE + 1, NSTATE, steps, t) != 0) goto done;
    printf("jx step_ms %.4f\njx step_min_ms %.4f\n", t[steps / 2] * 1e3, t[0] * 1e3);
    fflush(stdout);

    fwd = jx_trace("cnn_predict", predict_body, NULL, NSTATE + 1, av, 1);
    jx_jit_opts popts = {0, JX_NOINTS, 0, NULL, JX_SUBNORMALS_DEFAULT};
    t0 = bench_now();
    px = fwd ? jx_jit(fwd, JX_DEVICE_CPU, &popts) : NULL;
    double pcompile_s = bench_now() - t0;
    if (!px || step_time_runs(px, in, NSTATE + 1, 1, 0, steps, t) != 0) goto done;
    printf("jx predict_compile_ms %.3f\njx predict_ms %.4f\n", pcompile_s * 1e3, t[steps / 2] * 1e3);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cnn_step: %s\n", jx_errmsg());
    step_release((jx_fn *[]){fwd, step, vg, loss}, 4, (jx_exec *[]){px, x2, x}, 3, in, NSTATE + 2);
    free(t);
    return rc;
}
