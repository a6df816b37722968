/* 19_denoising_autoencoder: a dense autoencoder 784-256-64-256-784 learns to remove
 * Gaussian noise from MNIST digits. The noise is drawn inside the jitted training step by
 * jx's counter-based PRNG (jx/random.h): the step receives the run's key and the step
 * number, folds one into the other and draws a fresh normal array, so nothing random
 * crosses from the host and the same key gives the same noise as jax.random (bit for bit).
 * The network sees clip(x + 0.5 noise, 0, 1) and is trained with Adam to output the clean
 * image (mean squared error); the score is the PSNR of its output against the clean test
 * image, beside the PSNR of the noisy input. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mlp.h"
#include "mnist_feed.h"
#include "tut.h"

enum { EVAL_BATCH = 1000, SHOW = 8 };
static const double SIGMA = 0.5;
static const char *const layers[4] = {"enc1", "enc2", "dec1", "dec2"};
static const int64_t widths[5] = {MNIST_PIXELS, 256, 64, 256, MNIST_PIXELS};
static const mlp ae = {4, layers, widths};

/* x (B,784) clean: the noisy version the network sees. */
static jx_val corrupt(jx_val x, jx_val key) {
    jx_val noise = jx_random_normal(key, JX_F32, JX_INTS(jx_dim(x, 0), MNIST_PIXELS));
    return jx_clamp(jx_add(x, jx_mul(jx_scalar(JX_F32, SIGMA), noise)), 0, 1);
}

/* in: params, {x, noisy}. out[0]: the mean squared error of the denoised image. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x"), y = jx_sigmoid(mlp_forward(&ae, in[0], jx_tree_get_val(in[1], "noisy")));
    out[0] = jx_tree_val(jx_mean(jx_loss_squared_error(y, x), JX_NOINTS));
}

/* in: params, optimizer state, {x, key u32[2], step i32}. out: params, state, {loss}. The
 * batch's noise comes from fold_in(key, step): a new draw every step. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val key = jx_random_fold_in(jx_tree_get_val(in[2], "key"), jx_tree_get_val(in[2], "step"));
    jx_tree *b = jx_tree_dict();
    jx_val x = jx_tree_get_val(in[2], "x");
    jx_tree_set_val(b, "x", x);
    jx_tree_set_val(b, "noisy", corrupt(x, key));
    tut_step st = {loss_body, user, 1, NULL, NULL};
    jx_tree *sin[3] = {in[0], in[1], b};
    tut_step_body(out, sin, &st);
    jx_tree_free(b);
}

/* in: params, {noisy}. out: {denoised (B,784)}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "denoised", jx_sigmoid(mlp_forward(&ae, in[0], jx_tree_get_val(in[1], "noisy"))));
}

/* The mean over images of 10 log10(1 / mse) between a and the clean b, n images. */
static double mean_psnr(const float *a, const float *b, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double se = 0;
        for (int p = 0; p < MNIST_PIXELS; p++) {
            double d = (double)a[i * MNIST_PIXELS + p] - b[i * MNIST_PIXELS + p];
            se += d * d;
        }
        sum += 10 * log10(MNIST_PIXELS / se);
    }
    return sum / (double)n;
}

int main(int argc, char **argv) {
    const char *prog = "tut_19_denoising_autoencoder";
    trainer_opts o = {.epochs = 5, .batch = 128, .lr = 1e-3, .limit = 20000};
    int quick, r = tut_parse(prog, "A dense denoising autoencoder on MNIST, the noise drawn inside the jitted step by "
                                   "jx's PRNG; prints the PSNR of its output on noisy test images. --limit: training "
                                   "images.", argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 2, o.batch = 64, o.limit = 2000;
    const char *dir;
    jx_idx_split train, test;
    int64_t ntrain, ntest;
    if (tut_mnist_open(prog, &o, quick, EVAL_BATCH, &dir, &train, &test, &ntrain, &ntest) != 0) return 1;
    const int64_t B = o.batch, steps = ntrain / B;
    printf("%s: %lld training images from %s, noise sigma %.2f, %d epochs of %lld steps\n", prog, (long long)ntrain,
           dir, SIGMA, o.epochs, (long long)steps);

    jx_tree *params = mlp_init(&ae, o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params), *tb = jx_tree_dict(), *eb = jx_tree_dict();
    jx_tree_set(tb, "x", jx_tree_aval(JX_AVAL(JX_F32, B, MNIST_PIXELS)));
    jx_tree_set(tb, "key", jx_tree_aval(JX_AVAL(JX_U32, 2)));
    jx_tree_set(tb, "step", jx_tree_aval(JX_SCALAR(JX_I32)));
    jx_tree_set(eb, "noisy", jx_tree_aval(JX_AVAL(JX_F32, EVAL_BATCH, MNIST_PIXELS)));
    jx_tree *tin[3] = {params, state, tb}, *ein[2] = {params, eb};
    jx_tree_fn *step = jx_tree_trace("train_step", step_body, &opt, 3, tin, 3);
    jx_tree_fn *ev = jx_tree_trace("denoise", eval_body, NULL, 2, ein, 1);
    jx_tree_free(tb), jx_tree_free(eb);
    jx_exec *step_x = step && ev ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *ev_x = step_x ? tut_jit(ev, &o, 0) : NULL;
    if (!ev_x) return tut_fail(prog, "building the steps");

    jx_array *key = jx_random_key_new((int64_t)o.seed);
    tut_feed tf = {&train, NULL, B, 0, 0, key}; /* x, the run's key and the step number */
    tut_timer t = tut_timer_start();
    tut_loop loop = {"training loss (MSE)", o.epochs, steps, tut_feed_batch, &tf, NULL, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    /* the test images with fixed noise from common/tut.h's generator (the references add the same) */
    const int64_t np = ntest * MNIST_PIXELS;
    float *clean = malloc(sizeof(float) * (size_t)np), *noisy = malloc(sizeof(float) * (size_t)np);
    float *out_px = malloc(sizeof(float) * (size_t)np);
    jx_array *ct = mnist_images(test.images, NULL, 0, ntest, JX_INTS(ntest, MNIST_PIXELS));
    jx_array_copy_to(ct, clean, sizeof(float) * (size_t)np);
    jx_array_release(ct);
    tut_normal(o.seed + 1000, np, noisy);
    for (int64_t i = 0; i < np; i++) noisy[i] = fminf(fmaxf(clean[i] + (float)SIGMA * noisy[i], 0.f), 1.f);
    for (int64_t first = 0; first < ntest && !status; first += EVAL_BATCH) {
        jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
        jx_tree_set_array(b, "noisy", jx_array_new(JX_F32, JX_INTS(EVAL_BATCH, MNIST_PIXELS), noisy + first * MNIST_PIXELS));
        if (jx_tree_fn_run(ev, ev_x, 2, in, 1, &out) != JX_OK) status = tut_fail(prog, "denoising the test set");
        else {
            jx_array *d = jx_tree_get_array(out, "denoised");
            jx_array_copy_to(d, out_px + first * MNIST_PIXELS, jx_array_nbytes(d));
        }
        jx_tree_free(b), jx_tree_free(out);
    }
    double psnr = 0;
    if (!status) {
        double before = mean_psnr(noisy, clean, ntest);
        psnr = mean_psnr(out_px, clean, ntest);
        printf("test PSNR over %lld images: noisy input %.2f dB, denoised %.2f dB\n", (long long)ntest, before, psnr);
        tut_metric("psnr_db", psnr);
        static float pix[3 * SHOW * MNIST_PIXELS];
        const float *src[3] = {noisy, out_px, clean};
        const char *rows[3] = {"noisy", "denoised", "clean"};
        for (int k = 0; k < 3; k++)
            for (int64_t i = 0; i < SHOW * MNIST_PIXELS; i++) pix[k * SHOW * MNIST_PIXELS + i] = src[k][i];
        char path[4096];
        if (jx_plot_available() && jx_plot_images(tut_path(path, sizeof path, &o, "denoised.png"),
                                                  "Denoising autoencoder on test images (noise sigma 0.5)", 3, SHOW,
                                                  28, 28, pix, NULL, NULL, rows, 3) == JX_OK)
            printf("wrote %s\n", path);
        /* the noisy input scores 9.4 dB (doing nothing); the quick run reaches 12.2 dB */
        status = tut_quick_check(quick, "denoised PSNR (dB)", psnr, 10.5, 1);
    }
    free(clean), free(noisy), free(out_px), jx_array_release(key);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(ev_x), jx_tree_fn_free(step), jx_tree_fn_free(ev);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    return status;
}
