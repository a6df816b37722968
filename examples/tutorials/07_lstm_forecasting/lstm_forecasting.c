/* 07_lstm_forecasting: an LSTM reads the last T values of a time series and predicts the
 * next one. Shows jx's recurrent layer (jx_nn_rnn: the cell runs as one scan in the IR,
 * so grad differentiates through time and jit compiles the loop), parameters as a tree,
 * an Adam step from jx/optim.h traced together with the loss and its gradients into one
 * jitted function, and a separately jitted prediction function for the test set.
 * The series is synthetic (two sines and noise, drawn by common/tut.h's generator so that
 * NumPy and JAX see the same numbers); the baseline is persistence (tomorrow = today).
 * See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/optim.h>
#include <jx/plot.h>
#include <jx/tree.h>

#include "tut.h"

enum { T = 32, H = 32 };

typedef struct problem {
    int64_t n, ntrain; /* series length, windows [0, ntrain) train, the rest test */
    float *s;          /* the series */
} problem;

/* s_t = sin(0.07 t) + 0.5 sin(0.021 t + 1) + 0.1 noise_t, as data.py. */
static problem make_series(int64_t n, uint64_t seed) {
    problem p = {n, (int64_t)((double)(n - T) * 0.8), malloc(sizeof(float) * (size_t)n)};
    tut_normal(seed, n, p.s);
    for (int64_t t = 0; t < n; t++)
        p.s[t] = (float)(sin(0.07 * (double)t) + 0.5 * sin(0.021 * (double)t + 1) + 0.1 * (double)p.s[t]);
    return p;
}

/* Windows w0..w0+b: x (b,T,1) and the next values y (b,1). */
static void windows(const problem *p, int64_t w0, int64_t b, float *x, float *y) {
    for (int64_t i = 0; i < b; i++) {
        memcpy(x + i * T, p->s + w0 + i, sizeof(float) * T);
        y[i] = p->s[w0 + i + T];
    }
}

/* The predictions (B,1) of params {lstm: {wi, wh, b}, head: {w, b}} for windows x
 * (B,T,1). */
static jx_val predict(const jx_tree *params, jx_val x) {
    jx_val pr[3] = {jx_tree_get_val(params, "lstm.wi"), jx_tree_get_val(params, "lstm.wh"),
                    jx_tree_get_val(params, "lstm.b")};
    int64_t b = jx_dim(x, 0);
    jx_val zero = jx_broadcast_to(jx_scalar(JX_F32, 0), JX_INTS(b, H)), carry[2] = {zero, zero}, last[2];
    jx_nn_rnn(JX_NN_CELL_LSTM, pr, x, carry, 0, last);
    return jx_nn_dense(last[1], jx_tree_get_val(params, "head.w"), jx_tree_get_val(params, "head.b"));
}

static jx_tree *batch_tree(const problem *p, int64_t w0, int64_t b, float *x, float *y) {
    windows(p, w0, b, x, y);
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(b, T, 1), x));
    jx_tree_set_array(t, "y", jx_array_new(JX_F32, JX_INTS(b, 1), y));
    return t;
}

typedef struct batches {
    const problem *p;
    int64_t size;
    float *x, *y;
} batches;

static jx_tree *next_batch(int64_t s, int64_t step, void *user) {
    const batches *b = user;
    (void)step;
    return batch_tree(b->p, s * b->size, b->size, b->x, b->y);
}

int main(int argc, char **argv) {
    const char *prog = "tut_07_lstm_forecasting";
    trainer_opts o = {.epochs = 10, .batch = 64, .lr = 3e-3, .seed = 0};
    long length = 4096;
    trainer_extra ex[] = {{"--length", "N", "points in the series (default 4096)", TRAINER_LONG, 256, 1 << 24, &length}};
    int quick, r = tut_parse(prog, "Time-series forecasting with an LSTM (jx_nn_rnn as a scan, Adam, jit). "
                                   "--epochs passes over the training windows.", argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 3, length = 1024;
    problem p = make_series(length, o.seed + 1);
    int64_t ntest = p.n - T - p.ntrain, steps = p.ntrain / o.batch;

    jx_tree *params = jx_tree_dict();
    jx_tree_set_array(params, "lstm.wi", tut_weights(o.seed + 10, 1, 4 * H, 1.0));
    jx_tree_set_array(params, "lstm.wh", tut_weights(o.seed + 11, H, 4 * H, 1.0 / sqrt(H)));
    jx_tree_set_array(params, "lstm.b", jx_array_zeros(JX_F32, JX_INTS(4 * H)));
    jx_tree_set_array(params, "head.w", tut_weights(o.seed + 12, H, 1, 1.0 / sqrt(H)));
    jx_tree_set_array(params, "head.b", jx_array_zeros(JX_F32, JX_INTS(1)));
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);

    float *x = malloc(sizeof(float) * (size_t)((ntest > o.batch ? ntest : o.batch) * T));
    float *y = malloc(sizeof(float) * (size_t)(ntest > o.batch ? ntest : o.batch));
    jx_tree *b0 = batch_tree(&p, 0, o.batch, x, y), *tin[3] = {params, state, b0};
    tut_regression model = {predict};
    tut_step body = {tut_mse_loss, &opt, 1, NULL, &model}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 0);
    if (!exec) return tut_fail(prog, "building the training step");

    batches bs = {&p, o.batch, x, y};
    tut_loop loop = {"train MSE", o.epochs, steps, next_batch, &bs, NULL, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    /* the test windows in one call of a jitted prediction */
    jx_tree *tb = batch_tree(&p, p.ntrain, ntest, x, y), *ein[2] = {params, tb}, *pred = NULL;
    jx_tree_fn *ev = status ? NULL : jx_tree_trace("predict", tut_predict_body, &model, 2, ein, 1);
    jx_exec *eexec = tut_jit(ev, &o, 0);
    if (!status && (!eexec || jx_tree_fn_run(ev, eexec, 2, ein, 1, &pred) != JX_OK))
        status = tut_fail(prog, "predicting the test windows");
    double rmse = NAN, base = 0, sd = 0, mean = 0;
    if (!status) {
        const float *pv = jx_array_data(jx_tree_leaf_array(jx_tree_leaf(pred, 0)));
        double se = 0;
        for (int64_t i = 0; i < ntest; i++) {
            se += (pv[i] - y[i]) * (double)(pv[i] - y[i]);
            base += (x[i * T + T - 1] - y[i]) * (double)(x[i * T + T - 1] - y[i]);
        }
        for (int64_t i = 0; i < ntest; i++) mean += y[i] / (double)ntest;
        for (int64_t i = 0; i < ntest; i++) sd += (y[i] - mean) * (y[i] - mean) / (double)ntest;
        rmse = sqrt(se / (double)ntest), base = sqrt(base / (double)ntest), sd = sqrt(sd);
        printf("test RMSE %.4f (persistence baseline %.4f) over %lld windows\n", rmse, base, (long long)ntest);
        tut_metric("test_rmse", rmse);
        char path[4096];
        int64_t shown = ntest < 300 ? ntest : 300;
        double *ys = malloc(sizeof(double) * (size_t)shown), *ps = malloc(sizeof(double) * (size_t)shown);
        for (int64_t i = 0; i < shown; i++) ys[i] = y[i], ps[i] = pv[i];
        jx_plot_series ser[2] = {{"series", NULL, ys, shown}, {"LSTM forecast", NULL, ps, shown}};
        if (jx_plot_available() && jx_plot_lines(tut_path(path, sizeof path, &o, "forecast.png"),
                                                 "One-step forecasts on the test range", "t", "value", 2, ser, 0,
                                                 0) == JX_OK)
            printf("wrote %s\n", path);
        free(ys), free(ps);
    }
    jx_tree_free(pred), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(ev);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state);
    free(x), free(y), free(p.s);
    if (status) return status;
    /* learning something: well under the error of predicting the mean (the targets' standard
     * deviation, about 0.8); the full run also beats persistence */
    return tut_quick_check(quick, "test RMSE / std of the targets", rmse / sd, 0.5, 0);
}
