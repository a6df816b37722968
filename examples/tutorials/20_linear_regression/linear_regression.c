/* 20_linear_regression: least squares fitted by gradient descent, the "hello world" of
 * jx's core: a loss written as an ordinary C function over traced values, jx_value_and_grad
 * to differentiate it, jx_call to use the result inside a bigger traced function (one
 * training step), and jx_jit to compile that step into one native function.
 * The data is synthetic (common/tut.h's generator, so NumPy and JAX see the same numbers):
 * y = X w* + b* + noise over N points of D features. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tut.h"

enum { D = 32 };

/* in: w f32[D], b f32[], x f32[n,D], y f32[n]. out[0]: the mean squared error. */
static void mse(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val pred = jx_add(jx_matmul(in[2], in[0]), in[1]);
    out[0] = jx_mean(jx_square(jx_sub(pred, in[3])), JX_NOINTS);
}

/* One step of gradient descent: in: w, b, x, y, lr f32[]; out: w, b, loss. user: the
 * value_and_grad of mse. */
static void step(jx_val *out, const jx_val *in, void *user) {
    jx_val vg[3]; /* loss, dw, db */
    jx_call((const jx_fn *)user, 4, in, 3, vg);
    out[0] = jx_sub(in[0], jx_mul(in[4], vg[1]));
    out[1] = jx_sub(in[1], jx_mul(in[4], vg[2]));
    out[2] = vg[0];
}

/* N points: x normal, y = x w* + b* + 0.1 noise (w* normal, b* = 0.5), as numpy_ref.py. */
static void make_data(int64_t n, uint64_t seed, float *x, float *y, const float *wstar) {
    float *noise = malloc(sizeof *noise * (size_t)n);
    tut_normal(seed, n * D, x);
    tut_normal(seed + 1, n, noise);
    for (int64_t i = 0; i < n; i++) {
        double s = 0.5;
        for (int j = 0; j < D; j++) s += (double)x[i * D + j] * wstar[j];
        y[i] = (float)(s + 0.1 * noise[i]);
    }
    free(noise);
}

int main(int argc, char **argv) {
    const char *prog = "tut_20_linear_regression";
    trainer_opts o = {.epochs = 500, .batch = 65536, .lr = 0.05, .seed = 0};
    int quick, r = tut_parse(prog, "Linear regression by gradient descent (jx_value_and_grad, jx_call, jx_jit), "
                                   "against the normal equations (jx_solve). --epochs: steps of full-batch descent; "
                                   "--batch: training points.", argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 40, o.batch = 1024;
    const int64_t n = o.batch, nt = 2048;
    float *wstar = malloc(sizeof(float) * D), *x = malloc(sizeof(float) * (size_t)(n * D)), *y = malloc(sizeof(float) * (size_t)n);
    float *xt = malloc(sizeof(float) * (size_t)(nt * D)), *yt = malloc(sizeof(float) * (size_t)nt);
    tut_normal(o.seed + 100, D, wstar);
    make_data(n, o.seed + 200, x, y, wstar);
    make_data(nt, o.seed + 300, xt, yt, wstar);

    jx_aval av[5] = {JX_AVAL(JX_F32, D), JX_SCALAR(JX_F32), JX_AVAL(JX_F32, n, D), JX_AVAL(JX_F32, n),
                     JX_SCALAR(JX_F32)};
    jx_fn *loss = jx_trace("mse", mse, NULL, 4, av, 1);
    jx_fn *vg = loss ? jx_value_and_grad(loss, JX_INTS(0, 1)) : NULL;
    jx_fn *sf = vg ? jx_trace("step", step, vg, 5, av, 3) : NULL;
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o.threads;
    jx_exec *ex = sf ? jx_jit(sf, o.device, &jo) : NULL;
    if (!ex) return tut_fail(prog, "building the step");

    jx_array *in[5] = {jx_array_zeros(JX_F32, JX_INTS(D)), jx_array_scalar(JX_F32, 0),
                       jx_array_new(JX_F32, JX_INTS(n, D), x), jx_array_new(JX_F32, JX_INTS(n), y),
                       jx_array_scalar(JX_F32, o.lr)};
    double *curve = malloc(sizeof(double) * (size_t)o.epochs);
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int e = 0; e < o.epochs && !status; e++) {
        jx_array *out[3];
        if (jx_exec_run(ex, 5, in, 3, out) != JX_OK) { status = tut_fail(prog, "a step"); break; }
        jx_array_release(in[0]), jx_array_release(in[1]);
        in[0] = out[0], in[1] = out[1];
        curve[e] = jx_array_get(out[2], 0);
        jx_array_release(out[2]);
    }
    tut_timer_stop(&t, "gradient descent");
    if (status) return status;

    /* test error of the descent's w, b and of the exact least-squares solution */
    const float *w = jx_array_data(in[0]);
    double b = jx_array_get(in[1], 0), sse = 0, sst = 0, mean = 0;
    for (int64_t i = 0; i < nt; i++) mean += yt[i] / (double)nt;
    for (int64_t i = 0; i < nt; i++) {
        double p = b;
        for (int j = 0; j < D; j++) p += (double)xt[i * D + j] * w[j];
        sse += (p - yt[i]) * (p - yt[i]), sst += (yt[i] - mean) * (yt[i] - mean);
    }
    double test_mse = sse / (double)nt, r2 = 1 - sse / sst;
    printf("after %d steps: train loss %.5f, test MSE %.5f, test R2 %.4f\n", o.epochs, curve[o.epochs - 1], test_mse, r2);
    tut_metric("test_mse", test_mse);

    tut_plot_curve(&o, "loss.png", "Linear regression: training loss", "step", "mean squared error", "training MSE",
                   curve, o.epochs);
    for (int i = 0; i < 5; i++) jx_array_release(in[i]);
    jx_exec_release(ex), jx_fn_release(sf), jx_fn_release(vg), jx_fn_release(loss);
    free(curve), free(wstar), free(x), free(y), free(xt), free(yt);
    /* noise variance is 0.01: a fitted model's test MSE approaches it; predicting the mean
     * scores about D + 0.01 (var of x w*) */
    return tut_quick_check(quick, "test R2", r2, 0.9, 1);
}
