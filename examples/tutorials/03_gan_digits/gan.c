/* 03_gan_digits: a generative adversarial network (Goodfellow et al. 2014) that draws
 * handwritten digits. The generator 32-128-784 turns a code z ~ N(0, I) into pixel
 * intensities (sigmoid); the discriminator 784-128-1 scores an image's logit of being
 * real. Each step draws its codes inside the jitted step with jx's keyed PRNG
 * (fold_in(key, step): JAX's bits), takes two gradients -- the discriminator's loss with
 * respect to its parameters, the generator's (non-saturating) loss with respect to its
 * own -- and applies both with one Adam update (b1 = 0.5) of the tree {gen, dis}. The
 * score is a classifier score of 1,000 samples (see score.c); the picture, a grid of
 * samples. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mlp.h"
#include "mnist_feed.h"
#include "score.h"
#include "tut.h"

enum { LATENT = 32, HID = 128, GRID = 8 };
static const char *const gen_names[2] = {"gen1", "gen2"}, *const dis_names[2] = {"dis1", "dis2"};
static const int64_t gen_widths[3] = {LATENT, HID, MNIST_PIXELS}, dis_widths[3] = {MNIST_PIXELS, HID, 1};
static const mlp gen = {2, gen_names, gen_widths}, dis = {2, dis_names, dis_widths};

/* The generator's images (B,784) in [0, 1] from codes z (B,LATENT). */
static jx_val generate(const jx_tree *g, jx_val z) { return jx_sigmoid(mlp_forward(&gen, g, z)); }

/* Mean binary cross-entropy of logits against the constant label (1 real, 0 generated). */
static jx_val bce(jx_val logits, int label) {
    return jx_mean(jx_loss_sigmoid_bce(logits, label ? jx_ones_like(logits) : jx_zeros_like(logits)), JX_NOINTS);
}

/* in: dis, gen, {x}, {z}. out[0]: the discriminator's loss, real images 1, generated 0. */
static void d_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val fake = generate(in[1], jx_tree_leaf_val(in[3]));
    out[0] = jx_tree_val(jx_add(bce(mlp_forward(&dis, in[0], jx_tree_leaf_val(in[2])), 1),
                                bce(mlp_forward(&dis, in[0], fake), 0)));
}

/* in: gen, dis, {z}. out[0]: the generator's loss, its images called real (non-saturating). */
static void g_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_val(bce(mlp_forward(&dis, in[1], generate(in[0], jx_tree_leaf_val(in[2]))), 1));
}

/* in: params {gen, dis}, optimizer state, {x, key u32[2], step i32}. out: params, state,
 * {loss: the discriminator's, g_loss}. Both gradients are taken at the same parameters. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val x = jx_tree_get_val(in[2], "x");
    jx_val key = jx_random_fold_in(jx_tree_get_val(in[2], "key"), jx_tree_get_val(in[2], "step"));
    jx_tree *g = jx_tree_get(in[0], "gen"), *d = jx_tree_get(in[0], "dis");
    jx_tree *xt = jx_tree_val(x), *zt = jx_tree_val(jx_random_normal(key, JX_F32, JX_INTS(jx_dim(x, 0), LATENT)));
    jx_tree *din[4] = {d, g, xt, zt}, *gin[3] = {g, d, zt}, *dl = NULL, *gl = NULL, *dg = NULL, *gg = NULL;
    if (jx_tree_value_and_grad(d_loss, NULL, 4, din, 0, 1, &dl, &dg) == JX_OK &&
        jx_tree_value_and_grad(g_loss, NULL, 3, gin, 0, 1, &gl, &gg) == JX_OK) {
        jx_tree *grads = jx_tree_dict();
        jx_tree_set(grads, "gen", gg), gg = NULL;
        jx_tree_set(grads, "dis", dg), dg = NULL;
        jx_optim_update(user, grads, in[1], in[0], &out[0], &out[1]);
        jx_tree_free(grads);
        out[2] = jx_tree_dict();
        jx_tree_set(out[2], "loss", dl), dl = NULL;
        jx_tree_set(out[2], "g_loss", gl), gl = NULL;
    }
    jx_tree_free(xt), jx_tree_free(zt), jx_tree_free(dl), jx_tree_free(gl), jx_tree_free(dg), jx_tree_free(gg);
}

/* in: params, {z (n,LATENT)}. out: {img (n,784)}. */
static void generate_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "img", generate(jx_tree_get(in[0], "gen"), jx_tree_get_val(in[1], "z")));
}

/* The SCORE_N scored samples, from codes drawn by common/tut.h's generator (as data.py):
 * a new array (SCORE_N,784), or NULL. */
static jx_array *samples(const trainer_opts *o, jx_tree_fn *gf, jx_exec *gx, jx_tree *params) {
    static float z[SCORE_N * LATENT];
    tut_normal(o->seed + 2000, SCORE_N * LATENT, z);
    jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
    jx_tree_set_array(b, "z", jx_array_new(JX_F32, JX_INTS(SCORE_N, LATENT), z));
    jx_array *img = NULL;
    if (jx_tree_fn_run(gf, gx, 2, in, 1, &out) == JX_OK) img = jx_array_retain(jx_tree_get_array(out, "img"));
    jx_tree_free(b), jx_tree_free(out);
    return img;
}

/* samples.png: the first GRID x GRID samples. */
static void plot_samples(const trainer_opts *o, const float *img) {
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "samples.png"), "GAN: digits generated from z ~ N(0, I)", GRID,
                       GRID, 28, 28, img, NULL, NULL, NULL, 3) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_03_gan_digits";
    trainer_opts o = {.epochs = 10, .batch = 64, .lr = 1e-3, .limit = 8000};
    int quick, r = tut_parse(prog, "A GAN generating MNIST digits (two gradients in one jitted step, codes drawn with "
                                   "jx's keyed PRNG, one Adam update); prints a classifier score of 1,000 samples and "
                                   "writes a grid of them. --limit: training images.", argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 12, o.batch = 32, o.limit = 2000;
    const char *dir;
    jx_idx_split train, test;
    int64_t ntrain, ntest;
    if (tut_mnist_open(prog, &o, quick, SCORE_N, &dir, &train, &test, &ntrain, &ntest) != 0) return 1;
    const int64_t B = o.batch, steps = ntrain / B;
    if (steps < 1 || ntest < SCORE_N) {
        fprintf(stderr, "%s: need --batch %d <= the %lld training images and %d test images\n", prog, o.batch,
                (long long)ntrain, SCORE_N);
        jx_idx_split_free(&train), jx_idx_split_free(&test);
        return 2;
    }
    printf("%s: %lld training images from %s, a %d-dimensional code, %d epochs of %lld steps\n", prog,
           (long long)ntrain, dir, LATENT, o.epochs, (long long)steps);

    jx_tree *params = jx_tree_dict();
    jx_tree_set(params, "gen", mlp_init(&gen, o.seed));
    jx_tree_set(params, "dis", mlp_init(&dis, o.seed + 100));
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.5, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    jx_array *key = jx_random_key_new((int64_t)o.seed);
    tut_feed tf = {&train, NULL, B, 0, 0, key}; /* x, the run's key and the step number */
    jx_tree *tb = tut_feed_batch(0, 0, &tf), *gb = jx_tree_dict(); /* the inputs' shapes, for tracing */
    jx_tree_set(gb, "z", jx_tree_aval(JX_AVAL(JX_F32, SCORE_N, LATENT)));
    jx_tree *tin[3] = {params, state, tb}, *gin[2] = {params, gb};
    jx_tree_fn *step = jx_tree_trace("train_step", step_body, &opt, 3, tin, 3);
    jx_tree_fn *gf = jx_tree_trace("generate", generate_body, NULL, 2, gin, 1);
    jx_tree_free(tb), jx_tree_free(gb);
    jx_exec *step_x = step && gf ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *gx = step_x ? tut_jit(gf, &o, 0) : NULL;
    if (!gx) {
        jx_array_release(key), jx_tree_free(params), jx_tree_free(state), jx_exec_release(step_x);
        jx_tree_fn_free(step), jx_tree_fn_free(gf), jx_idx_split_free(&train), jx_idx_split_free(&test);
        return tut_fail(prog, "building the steps");
    }

    double *curve = malloc(sizeof(double) * (size_t)(o.epochs * steps));
    tut_timer t = tut_timer_start();
    tut_loop loop = {"discriminator loss", o.epochs, steps, tut_feed_batch, &tf, curve, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    jx_array *img = status ? NULL : samples(&o, gf, gx, params);
    if (!status && !img) status = tut_fail(prog, "generating samples");
    if (!status) {
        double real, s = score_samples(&test, ntest, jx_array_data(img), &real);
        printf("classifier score of %d samples %.3f (real test digits %.3f; one class only 1, ten even classes 10)\n",
               SCORE_N, s, real);
        tut_metric("classifier_score", s);
        if (jx_plot_available()) {
            plot_samples(&o, jx_array_data(img));
            tut_plot_curve(&o, "loss.png", "GAN: the discriminator's loss", "step", "loss", "discriminator", curve,
                           o.epochs * steps);
        }
        /* an untrained or collapsed generator (every sample alike) scores 1.0; the quick
         * run reaches about 2.4 on MNIST and 2.2 on Fashion-MNIST (the fallback without
         * ../shared) */
        status = tut_quick_check(quick, "classifier score", s, 1.1, 1);
    }
    free(curve), jx_array_release(img), jx_array_release(key), jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(gx), jx_tree_fn_free(step), jx_tree_fn_free(gf);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    return status;
}
