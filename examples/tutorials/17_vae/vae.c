/* 17_vae: a variational autoencoder on MNIST. The encoder 784-256-(16+16) gives each image
 * a Gaussian over a 16-dimensional code (mean and log-variance); a code is sampled by the
 * reparameterisation z = mu + exp(logvar / 2) eps, with eps drawn inside the jitted step by
 * jx's keyed PRNG (fold_in(key, step): JAX's bits); the decoder 16-256-784 turns it back
 * into pixel probabilities. Training maximises the evidence lower bound (ELBO): the
 * reconstruction's log-likelihood (binary cross-entropy summed over pixels) minus the KL
 * divergence of the code's Gaussian from the N(0, I) prior, in closed form. The score is
 * the test set's negative ELBO in nats per image (lower is better); the picture, digits
 * decoded from codes drawn from the prior. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mlp.h"
#include "mnist_feed.h"
#include "tut.h"

enum { LATENT = 16, HID = 256, EVAL_BATCH = 1000, GRID = 8 };
static const char *const enc_names[2] = {"enc1", "enc2"}, *const dec_names[2] = {"dec1", "dec2"};
static const int64_t enc_widths[3] = {MNIST_PIXELS, HID, 2 * LATENT}, dec_widths[3] = {LATENT, HID, MNIST_PIXELS};
static const mlp enc = {2, enc_names, enc_widths}, dec = {2, dec_names, dec_widths};

/* x (B,784), eps (B,16) -> {loss: the mean negative ELBO, and per image: nelbo, recon, kl (B)}. */
static jx_tree *neg_elbo(const jx_tree *p, jx_val x, jx_val eps) {
    jx_val stats[2]; /* mu, logvar */
    jx_split(mlp_forward(&enc, jx_tree_get(p, "enc"), x), JX_INTS(LATENT, LATENT), 1, stats);
    jx_val z = jx_add(stats[0], jx_mul(jx_exp(jx_mul(jx_scalar(JX_F32, 0.5), stats[1])), eps));
    jx_val logits = mlp_forward(&dec, jx_tree_get(p, "dec"), z);
    jx_val recon = jx_sum(jx_loss_sigmoid_bce(logits, x), JX_INTS(1));
    /* KL(N(mu, sigma^2) || N(0, 1)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) */
    jx_val inner = jx_sub(jx_sub(jx_add(jx_scalar(JX_F32, 1), stats[1]), jx_square(stats[0])), jx_exp(stats[1]));
    jx_val kl = jx_mul(jx_scalar(JX_F32, -0.5), jx_sum(inner, JX_INTS(1)));
    jx_val nelbo = jx_add(recon, kl);
    jx_tree *t = jx_tree_dict();
    jx_tree_set_val(t, "loss", jx_mean(nelbo, JX_NOINTS));
    jx_tree_set_val(t, "nelbo", nelbo);
    jx_tree_set_val(t, "recon", recon);
    jx_tree_set_val(t, "kl", kl);
    return t;
}

/* in: params, {x, eps}. out[0]: the mean negative ELBO. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_tree *t = neg_elbo(in[0], jx_tree_get_val(in[1], "x"), jx_tree_get_val(in[1], "eps"));
    out[0] = jx_tree_val(jx_tree_get_val(t, "loss"));
    jx_tree_free(t);
}

/* in: params, optimizer state, {x, key u32[2], step i32}. out: params, state, {loss}. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val x = jx_tree_get_val(in[2], "x");
    jx_val key = jx_random_fold_in(jx_tree_get_val(in[2], "key"), jx_tree_get_val(in[2], "step"));
    jx_tree *b = jx_tree_dict();
    jx_tree_set_val(b, "x", x);
    jx_tree_set_val(b, "eps", jx_random_normal(key, JX_F32, JX_INTS(jx_dim(x, 0), LATENT)));
    tut_step st = {loss_body, user, 1, NULL, NULL};
    jx_tree *sin[3] = {in[0], in[1], b};
    tut_step_body(out, sin, &st);
    jx_tree_free(b);
}

/* in: params, {x, eps}. out: {loss, nelbo, recon, kl}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = neg_elbo(in[0], jx_tree_get_val(in[1], "x"), jx_tree_get_val(in[1], "eps"));
}

/* in: params, {z (n,16)}. out: {img (n,784) in [0, 1]}. */
static void decode_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "img", jx_sigmoid(mlp_forward(&dec, jx_tree_get(in[0], "dec"), jx_tree_get_val(in[1], "z"))));
}

/* A tree {NAME: aval} of one leaf per name, for tracing. */
static jx_tree *avals(int n, const char *const *names, const jx_aval *av) {
    jx_tree *t = jx_tree_dict();
    for (int i = 0; i < n; i++) jx_tree_set(t, names[i], jx_tree_aval(av[i]));
    return t;
}

/* The test set's mean negative ELBO and its two terms (fixed eps from common/tut.h, as the
 * references draw them). 0 or -1. */
static int evaluate(jx_tree_fn *ev, jx_exec *ev_x, jx_tree *params, const jx_idx_split *test, int64_t ntest,
                    uint64_t seed, double sums[3]) {
    static float eps[EVAL_BATCH * LATENT];
    static const char *const keys[3] = {"nelbo", "recon", "kl"};
    sums[0] = sums[1] = sums[2] = 0;
    for (int64_t first = 0; first < ntest; first += EVAL_BATCH) {
        tut_normal(seed + 1000 + (uint64_t)first, EVAL_BATCH * LATENT, eps);
        jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
        jx_tree_set_array(b, "x", mnist_images(test->images, NULL, first, EVAL_BATCH, JX_INTS(EVAL_BATCH, MNIST_PIXELS)));
        jx_tree_set_array(b, "eps", jx_array_new(JX_F32, JX_INTS(EVAL_BATCH, LATENT), eps));
        int ok = jx_tree_fn_run(ev, ev_x, 2, in, 1, &out) == JX_OK;
        for (int k = 0; ok && k < 3; k++) {
            const float *v = jx_array_data(jx_tree_get_array(out, keys[k]));
            for (int i = 0; i < EVAL_BATCH; i++) sums[k] += v[i] / (double)ntest;
        }
        jx_tree_free(b), jx_tree_free(out);
        if (!ok) return -1;
    }
    return 0;
}

/* Decodes GRID x GRID codes drawn from the prior into samples.png. */
static void plot_samples(const trainer_opts *o, jx_tree_fn *dx, jx_exec *dx_x, jx_tree *params) {
    static float z[GRID * GRID * LATENT];
    tut_normal(o->seed + 2000, GRID * GRID * LATENT, z);
    jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
    jx_tree_set_array(b, "z", jx_array_new(JX_F32, JX_INTS(GRID * GRID, LATENT), z));
    char path[4096];
    if (jx_tree_fn_run(dx, dx_x, 2, in, 1, &out) == JX_OK &&
        jx_plot_images(tut_path(path, sizeof path, o, "samples.png"), "VAE: digits decoded from z ~ N(0, I)", GRID,
                       GRID, 28, 28, jx_array_data(jx_tree_get_array(out, "img")), NULL, NULL, NULL, 3) == JX_OK)
        printf("wrote %s\n", path);
    jx_tree_free(b), jx_tree_free(out);
}

int main(int argc, char **argv) {
    const char *prog = "tut_17_vae";
    trainer_opts o = {.epochs = 5, .batch = 128, .lr = 1e-3, .limit = 20000};
    int quick, r = tut_parse(prog, "A variational autoencoder on MNIST (reparameterisation with jx's keyed PRNG inside "
                                   "the jitted step); prints the test negative ELBO and writes samples from the prior. "
                                   "--limit: training images.", argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 2, o.batch = 64, o.limit = 2000;
    const char *dir;
    jx_idx_split train, test;
    int64_t ntrain, ntest;
    if (tut_mnist_open(prog, &o, quick, EVAL_BATCH, &dir, &train, &test, &ntrain, &ntest) != 0) return 1;
    const int64_t B = o.batch, steps = ntrain / B;
    printf("%s: %lld training images from %s, a %d-dimensional code, %d epochs of %lld steps\n", prog,
           (long long)ntrain, dir, LATENT, o.epochs, (long long)steps);

    jx_tree *params = jx_tree_dict();
    jx_tree_set(params, "enc", mlp_init(&enc, o.seed));
    jx_tree_set(params, "dec", mlp_init(&dec, o.seed + 100));
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    jx_tree *tb = avals(3, (const char *[]){"x", "key", "step"},
                        (jx_aval[]){JX_AVAL(JX_F32, B, MNIST_PIXELS), JX_AVAL(JX_U32, 2), JX_SCALAR(JX_I32)});
    jx_tree *eb = avals(2, (const char *[]){"x", "eps"},
                        (jx_aval[]){JX_AVAL(JX_F32, EVAL_BATCH, MNIST_PIXELS), JX_AVAL(JX_F32, EVAL_BATCH, LATENT)});
    jx_tree *db = avals(1, (const char *[]){"z"}, (jx_aval[]){JX_AVAL(JX_F32, GRID * GRID, LATENT)});
    jx_tree *tin[3] = {params, state, tb}, *ein[2] = {params, eb}, *din[2] = {params, db};
    jx_tree_fn *step = jx_tree_trace("train_step", step_body, &opt, 3, tin, 3);
    jx_tree_fn *ev = jx_tree_trace("neg_elbo", eval_body, NULL, 2, ein, 1);
    jx_tree_fn *dx = jx_tree_trace("decode", decode_body, NULL, 2, din, 1);
    jx_tree_free(tb), jx_tree_free(eb), jx_tree_free(db);
    jx_exec *step_x = step && ev && dx ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *ev_x = step_x ? tut_jit(ev, &o, 0) : NULL;
    jx_exec *dx_x = ev_x ? tut_jit(dx, &o, 0) : NULL;
    if (!dx_x) return tut_fail(prog, "building the steps");

    jx_array *key = jx_random_key_new((int64_t)o.seed);
    tut_feed tf = {&train, NULL, B, 0, 0, key}; /* x, the run's key and the step number */
    tut_timer t = tut_timer_start();
    tut_loop loop = {"negative ELBO (nats)", o.epochs, steps, tut_feed_batch, &tf, NULL, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    double m[3] = {0, 0, 0};
    if (!status && evaluate(ev, ev_x, params, &test, ntest, o.seed, m) != 0) status = tut_fail(prog, "the test set");
    if (!status) {
        printf("test negative ELBO %.2f nats per image (reconstruction %.2f + KL %.2f), %lld images\n", m[0], m[1],
               m[2], (long long)ntest);
        tut_metric("test_neg_elbo", m[0]);
        if (jx_plot_available()) plot_samples(&o, dx, dx_x, params);
        /* an untrained decoder scores about 784 ln 2 = 543 nats; the quick run reaches about
         * 200 on MNIST and 315 on Fashion-MNIST (the fallback without ../shared) */
        status = tut_quick_check(quick, "test negative ELBO", m[0], 400, 0);
    }
    jx_array_release(key), jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(ev_x), jx_exec_release(dx_x);
    jx_tree_fn_free(step), jx_tree_fn_free(ev), jx_tree_fn_free(dx);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    return status;
}
