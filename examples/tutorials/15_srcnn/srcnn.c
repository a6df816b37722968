/* 15_srcnn: super-resolution with SRCNN (Dong et al. 2014). MNIST digits are shrunk to
 * 14x14 and blown back up to 28x28 with bilinear interpolation (jx_nn_resize, as
 * jax.image.resize); three convolutions -- 9x9 feature extraction, 1x1 non-linear mapping,
 * 5x5 reconstruction -- learn to restore the original. The parameters are a tree, the
 * Adam step (common/tut.h's tut_step_body) is one jitted function, and the score is the
 * PSNR on test digits against the bilinear image's own. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/layers.h>
#include <jx/plot.h>

#include "../../common/mnist_data.h"
#include "tut.h"

enum { S = 28, LOW = 14, C1 = 16, C2 = 8, K1 = 9, K3 = 5, SHOWN = 8 };

/* A (kh,kw,c,o) HWIO kernel of tut_weights(seed) * scale, as data.py's conv_w. */
static jx_array *conv_w(uint64_t seed, int64_t kh, int64_t kw, int64_t c, int64_t o, double scale) {
    jx_array *w = tut_weights(seed, kh * kw * c, o, scale);
    jx_array *r = jx_array_new(JX_F32, JX_INTS(kh, kw, c, o), jx_array_data(w));
    jx_array_release(w);
    return r;
}

/* He-scaled kernels; the last layer starts small, so training starts from the bilinear
 * image (the network learns the residual, see README.md). */
static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "c1.w", conv_w(seed, K1, K1, 1, C1, sqrt(2.0 / (K1 * K1))));
    jx_tree_set_array(p, "c1.b", jx_array_zeros(JX_F32, JX_INTS(C1)));
    jx_tree_set_array(p, "c2.w", conv_w(seed + 1, 1, 1, C1, C2, sqrt(2.0 / C1)));
    jx_tree_set_array(p, "c2.b", jx_array_zeros(JX_F32, JX_INTS(C2)));
    jx_tree_set_array(p, "c3.w", conv_w(seed + 2, K3, K3, C2, 1, 0.1 * sqrt(1.0 / (K3 * K3 * C2))));
    jx_tree_set_array(p, "c3.b", jx_array_zeros(JX_F32, JX_INTS(1)));
    return p;
}

/* The restored images (N,28,28,1) of the bilinear ones x: x + conv3(relu(conv2(relu(conv1(x))))). */
static jx_val predict(const jx_tree *p, jx_val x) {
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = jx_relu(jx_nn_conv2d(x, jx_tree_get_val(p, "c1.w"), jx_tree_get_val(p, "c1.b"), &same));
    h = jx_relu(jx_nn_conv2d(h, jx_tree_get_val(p, "c2.w"), jx_tree_get_val(p, "c2.b"), &same));
    return jx_add(x, jx_nn_conv2d(h, jx_tree_get_val(p, "c3.w"), jx_tree_get_val(p, "c3.b"), &same));
}

/* The low-resolution stand-in: 28 -> 14 (antialiased bilinear) -> 28 (bilinear). */
static void lowres_fn(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_nn_resize(jx_nn_resize(in[0], LOW, LOW, JX_NN_RESIZE_BILINEAR), S, S, JX_NN_RESIZE_BILINEAR);
}

static jx_array *lowres(jx_array *x, const trainer_opts *o) {
    jx_aval av = jx_array_aval(x);
    jx_fn *f = jx_trace("lowres", lowres_fn, NULL, 1, &av, 1);
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o->threads;
    jx_exec *ex = f ? jx_jit(f, o->device, &jo) : NULL;
    jx_array *out = NULL;
    if (ex && jx_exec_run(ex, 1, &x, 1, &out) != JX_OK) out = NULL;
    jx_exec_release(ex), jx_fn_release(f);
    return out;
}

/* Images [i0, i0 + n) of x and y as a batch tree {x, y}. */
static jx_tree *batch_tree(const jx_array *x, const jx_array *y, int64_t i0, int64_t n) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(n, S, S, 1), (const float *)jx_array_data(x) + i0 * S * S));
    jx_tree_set_array(t, "y", jx_array_new(JX_F32, JX_INTS(n, S, S, 1), (const float *)jx_array_data(y) + i0 * S * S));
    return t;
}

typedef struct batches {
    const jx_array *x, *y;
    int64_t size;
    double *curve; /* each epoch's mean training MSE */
} batches;

static jx_tree *next_batch(int64_t s, int64_t step, void *user) {
    const batches *b = user;
    (void)step;
    return batch_tree(b->x, b->y, s * b->size, b->size);
}

static void epoch_line(int e, double mse, void *user) {
    ((batches *)user)->curve[e] = mse;
    printf("epoch %d: train MSE %.5f (PSNR %.2f dB)\n", e + 1, mse, -10 * log10(mse));
}

/* PSNR in dB of a against b (n values in [0, 1]): 10 log10(1 / MSE). */
static double psnr(const float *a, const float *b, int64_t n) {
    double se = 0;
    for (int64_t i = 0; i < n; i++) se += (a[i] - (double)b[i]) * (a[i] - (double)b[i]);
    return 10 * log10((double)n / se);
}

/* Writes samples.png: rows bilinear / SRCNN / original of the first SHOWN test digits. */
static void plot(const trainer_opts *o, const float *low, const float *sr, const float *orig) {
    float *pix = malloc(sizeof(float) * 3 * SHOWN * S * S);
    const float *rows[3] = {low, sr, orig};
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < SHOWN * S * S; i++) pix[r * SHOWN * S * S + i] = rows[r][i] < 0 ? 0 : rows[r][i] > 1 ? 1 : rows[r][i];
    const char *names[3] = {"bilinear", "SRCNN", "original"};
    char path[4096];
    if (jx_plot_available() && jx_plot_images(tut_path(path, sizeof path, o, "samples.png"),
                                              "14x14 -> 28x28: bilinear, SRCNN, original", 3, SHOWN, S, S, pix,
                                              NULL, NULL, names, 3) == JX_OK)
        printf("wrote %s\n", path);
    free(pix);
}

int main(int argc, char **argv) {
    const char *prog = "tut_15_srcnn";
    trainer_opts o = {.data = tut_mnist_dir(), .epochs = 5, .batch = 32, .lr = 3e-3, .seed = 0, .limit = 2000};
    int quick, r = tut_parse(prog, "Super-resolution of MNIST digits with SRCNN (conv2d, resize, tree Adam step, "
                                   "jit). --limit: training images (default 2000); --epochs: passes over them.",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 2, o.limit = 256;
    jx_idx_split tr, te;
    if (mnist_load(prog, o.data, &tr, &te) < 0) return 1;
    int64_t n = jx_array_shape(tr.images)[0], nt = quick ? 64 : 500;
    if (o.limit > 0 && o.limit < n) n = o.limit;
    int64_t steps = n / o.batch;
    if (steps < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training images\n", prog, o.batch, (long long)n);
        jx_idx_split_free(&tr), jx_idx_split_free(&te);
        return 2;
    }
    jx_array *y = mnist_images(tr.images, NULL, 0, n, JX_INTS(n, S, S, 1));
    jx_array *yt = mnist_images(te.images, NULL, 0, nt, JX_INTS(nt, S, S, 1));
    jx_idx_split_free(&tr), jx_idx_split_free(&te);
    jx_array *x = lowres(y, &o), *xt = x ? lowres(yt, &o) : NULL;
    if (!xt) {
        jx_array_release(x), jx_array_release(y), jx_array_release(yt);
        return tut_fail(prog, "downsampling");
    }
    double base = psnr(jx_array_data(xt), jx_array_data(yt), nt * S * S);

    jx_tree *params = init_params(o.seed + 10);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    jx_tree *b0 = batch_tree(x, y, 0, o.batch), *tin[3] = {params, state, b0};
    tut_regression model = {predict};
    tut_step body = {tut_mse_loss, &opt, 1, NULL, &model}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 0);
    int status = exec ? 0 : tut_fail(prog, "building the training step");
    double *curve = calloc((size_t)o.epochs, sizeof(double));
    batches bs = {x, y, o.batch, curve};
    tut_loop loop = {"train MSE", o.epochs, steps, next_batch, &bs, NULL, epoch_line};
    tut_timer t = tut_timer_start();
    if (!status) status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    /* the test digits in one call of a jitted prediction */
    jx_tree *tb = batch_tree(xt, yt, 0, nt), *ein[2] = {params, tb}, *pred = NULL;
    jx_tree_fn *ev = status ? NULL : jx_tree_trace("predict", tut_predict_body, &model, 2, ein, 1);
    jx_exec *eexec = tut_jit(ev, &o, 0);
    if (!status && (!eexec || jx_tree_fn_run(ev, eexec, 2, ein, 1, &pred) != JX_OK))
        status = tut_fail(prog, "restoring the test digits");
    double gain = 0;
    if (!status) {
        const float *pv = jx_array_data(jx_tree_leaf_array(jx_tree_leaf(pred, 0)));
        double p = psnr(pv, jx_array_data(yt), nt * S * S);
        gain = p - base;
        printf("test PSNR %.2f dB (bilinear baseline %.2f dB, +%.2f dB) over %lld digits\n", p, base, gain,
               (long long)nt);
        tut_metric("test_psnr", p);
        plot(&o, jx_array_data(xt), pv, jx_array_data(yt));
        tut_plot_curve(&o, "loss.png", "SRCNN training", "epoch", "train MSE", "train MSE", curve, o.epochs);
    }
    jx_tree_free(pred), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(ev);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state);
    jx_array_release(x), jx_array_release(y), jx_array_release(xt), jx_array_release(yt), free(curve);
    if (status) return status;
    /* learning something: above the bilinear image by 0.3 dB (quick runs gain about 2.2 dB
     * on MNIST, 0.7 dB on Fashion-MNIST, the fallback without ../shared; full runs more) */
    return tut_quick_check(quick, "PSNR gain over bilinear (dB)", gain, 0.3, 1);
}
