/* 30_adversarial: adversarial examples and adversarial training. A small MNIST classifier
 * (an MLP 784-128-128-10) is trained as usual, then attacked: FGSM moves every pixel by
 * eps = 0.1 in the direction of the sign of the loss's gradient with respect to the
 * *input* image; PGD takes 10 smaller such steps, each projected back into the eps-ball
 * around the image and into [0, 1]. A second network of the same shape is then trained on
 * PGD examples made on the fly inside its jitted step (Madry et al.'s adversarial
 * training) and attacked the same way. The gradient with respect to the input is
 * jx_tree_value_and_grad with argnum 1 (the image tree) instead of 0 (the parameters);
 * the attack's steps are a C loop, unrolled into the trace. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mlp.h"
#include "mnist_feed.h"
#include "tut.h"

enum { EVAL_BATCH = 1000, TRAIN_PGD_STEPS = 3, TEST_PGD_STEPS = 10, SHOW = 8 };
static const double EPS = 0.1, TRAIN_ALPHA = 0.05, TEST_ALPHA = 0.025;
static const char *const names[3] = {"fc1", "fc2", "fc3"};
static const int64_t widths[4] = {MNIST_PIXELS, 128, 128, MNIST_CLASSES};
static const mlp net = {3, names, widths};

/* in: params, {x}, {y}. out[0]: the mean cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits = mlp_forward(&net, in[0], jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[2], "y"), JX_LOSS_NO_IGNORE));
}

/* steps of x <- clip(x + alpha sign(d loss / d x)) within the eps-ball around x0 and [0, 1]:
 * FGSM is one step of alpha = eps. The examples are constants to whoever uses them. */
static jx_val attack(jx_tree *params, jx_val x0, jx_val y, int steps, double alpha) {
    jx_val x = x0;
    for (int i = 0; i < steps; i++) {
        jx_tree *bx = jx_tree_dict(), *by = jx_tree_dict(), *args[3] = {params, bx, by}, *loss, *grad;
        jx_tree_set_val(bx, "x", x), jx_tree_set_val(by, "y", y);
        if (jx_tree_value_and_grad(loss_body, NULL, 3, args, 1, 1, &loss, &grad) == JX_OK) { /* argnum 1: the input */
            x = jx_add(x, jx_mul(jx_scalar(JX_F32, alpha), jx_sign(jx_tree_get_val(grad, "x"))));
            x = jx_clamp(jx_clip(x, jx_sub(x0, jx_scalar(JX_F32, EPS)), jx_add(x0, jx_scalar(JX_F32, EPS))), 0, 1);
            jx_tree_free(loss), jx_tree_free(grad);
        }
        jx_tree_free(bx), jx_tree_free(by);
    }
    return jx_stop_gradient(x);
}

/* What a training step does: the optimizer, and whether it trains on PGD examples. */
typedef struct step_cfg {
    jx_optim opt;
    int adversarial;
} step_cfg;

/* in: params, optimizer state, {x, y}. out: params, state, {loss}. user: a step_cfg. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const step_cfg *cfg = user;
    jx_val x = jx_tree_get_val(in[2], "x"), y = jx_tree_get_val(in[2], "y");
    if (cfg->adversarial) x = attack(in[0], x, y, TRAIN_PGD_STEPS, TRAIN_ALPHA);
    jx_tree *bx = jx_tree_dict(), *by = jx_tree_dict(), *args[4] = {in[0], in[1], bx, by};
    jx_tree_set_val(bx, "x", x), jx_tree_set_val(by, "y", y);
    tut_step st = {loss_body, &cfg->opt, 2, NULL, NULL}; /* loss(params, {x}, {y}), gradients, Adam */
    tut_step_body(out, args, &st);
    jx_tree_free(bx), jx_tree_free(by);
}

/* in: params, {x, y}. out: the predictions on the clean, FGSM and PGD images (B) i32,
 * and the two attacks' images. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x"), y = jx_tree_get_val(in[1], "y");
    jx_val xs[3] = {x, attack(in[0], x, y, 1, EPS), attack(in[0], x, y, TEST_PGD_STEPS, TEST_ALPHA)};
    static const char *const keys[3] = {"clean", "fgsm", "pgd"};
    out[0] = jx_tree_dict();
    for (int k = 0; k < 3; k++)
        jx_tree_set_val(out[0], keys[k], jx_argmax(mlp_forward(&net, in[0], xs[k]), 1, JX_I32));
    jx_tree_set_val(out[0], "x_fgsm", xs[1]);
    jx_tree_set_val(out[0], "x_pgd", xs[2]);
}

/* A compiled training step (trace + jit, the weights and optimizer state donated). */
static jx_exec *compile_step(jx_tree_fn **fn, const step_cfg *cfg, jx_tree *params, jx_tree *state, int64_t B,
                             const trainer_opts *o) {
    jx_tree *b = jx_tree_dict(), *in[3] = {params, state, b};
    jx_tree_set(b, "x", jx_tree_aval(JX_AVAL(JX_F32, B, MNIST_PIXELS)));
    jx_tree_set(b, "y", jx_tree_aval(JX_AVAL(JX_I32, B)));
    *fn = jx_tree_trace(cfg->adversarial ? "adversarial_step" : "train_step", step_body, (void *)cfg, 3, in, 3);
    jx_tree_free(b);
    if (!*fn) return NULL;
    return tut_jit(*fn, o, 2);
}

/* Accuracy on clean, FGSM and PGD test images into acc[3]; with `pic`, the first SHOW
 * images' rows for the picture (clean, FGSM, PGD, PGD's perturbation) and predictions. */
static int evaluate(jx_tree_fn *fn, jx_exec *x, jx_tree *params, const jx_idx_split *test, int64_t ntest, double acc[3],
                    float *pic, int *pred) {
    static const char *const keys[3] = {"clean", "fgsm", "pgd"};
    const uint8_t *y = jx_array_data(test->labels);
    int64_t right[3] = {0, 0, 0};
    for (int64_t first = 0; first < ntest; first += EVAL_BATCH) {
        jx_array *xb = mnist_images(test->images, NULL, first, EVAL_BATCH, JX_INTS(EVAL_BATCH, MNIST_PIXELS));
        jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
        jx_tree_set_array(b, "x", jx_array_retain(xb));
        jx_tree_set_array(b, "y", mnist_labels(test->labels, NULL, first, EVAL_BATCH, 0));
        int ok = jx_tree_fn_run(fn, x, 2, in, 1, &out) == JX_OK;
        for (int k = 0; ok && k < 3; k++) {
            const int32_t *p = jx_array_data(jx_tree_get_array(out, keys[k]));
            for (int i = 0; i < EVAL_BATCH; i++) right[k] += p[i] == y[first + i];
            for (int i = 0; pred && first == 0 && i < SHOW; i++) pred[k * SHOW + i] = p[i];
        }
        if (ok && pic && first == 0) {
            const float *c = jx_array_data(xb), *f = jx_array_data(jx_tree_get_array(out, "x_fgsm"));
            const float *g = jx_array_data(jx_tree_get_array(out, "x_pgd"));
            for (int i = 0; i < SHOW * MNIST_PIXELS; i++) {
                pic[i] = c[i], pic[SHOW * MNIST_PIXELS + i] = f[i], pic[2 * SHOW * MNIST_PIXELS + i] = g[i];
                pic[3 * SHOW * MNIST_PIXELS + i] = g[i] - c[i];
            }
        }
        jx_array_release(xb), jx_tree_free(b), jx_tree_free(out);
        if (!ok) return -1;
    }
    for (int k = 0; k < 3; k++) acc[k] = (double)right[k] / (double)ntest;
    return 0;
}

/* The standard model's first test images and their attacks, captioned with its answers. */
static void plot_attacks(const trainer_opts *o, const float *pic, const int *pred) {
    static char text[3 * SHOW][16];
    const char *labels[4 * SHOW] = {0}, *rows[4] = {"clean", "FGSM", "PGD", "change"};
    const int sign[4] = {0, 0, 0, 1};
    for (int i = 0; i < 3 * SHOW; i++) snprintf(text[i], sizeof text[i], "says %d", pred[i]), labels[i] = text[i];
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "attacks.png"), "Attacks on the standard model (eps 0.1)", 4,
                       SHOW, 28, 28, pic, sign, labels, rows, 3) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_30_adversarial";
    trainer_opts o = {.epochs = 3, .batch = 128, .lr = 1e-3, .limit = 20000};
    int quick, r = tut_parse(prog, "FGSM and PGD attacks (gradients with respect to the input) on an MNIST MLP, then "
                                   "adversarial training with PGD inside the jitted step; prints clean and attacked "
                                   "accuracy of both. --epochs: of each training; --limit: training images.",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 5, o.batch = 50, o.limit = 1000;
    const char *dir;
    jx_idx_split train_set, test;
    int64_t ntrain, ntest;
    if (tut_mnist_open(prog, &o, quick, EVAL_BATCH, &dir, &train_set, &test, &ntrain, &ntest) != 0) return 1;
    const int64_t B = o.batch, steps = ntrain / B;
    printf("%s: %lld training images from %s, %d epochs of %lld steps per model, eps %.2f\n", prog,
           (long long)ntrain, dir, o.epochs, (long long)steps, EPS);

    step_cfg cfg[2] = {{jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8), 0}, {{0}, 1}};
    cfg[1].opt = cfg[0].opt;
    jx_tree *params[2] = {mlp_init(&net, o.seed), mlp_init(&net, o.seed)}, *state[2];
    state[0] = jx_optim_init(&cfg[0].opt, params[0]), state[1] = jx_optim_init(&cfg[1].opt, params[1]);
    jx_tree_fn *fn[3] = {NULL, NULL, NULL};
    jx_exec *ex[3] = {NULL, NULL, NULL};
    for (int m = 0; m < 2; m++) ex[m] = compile_step(&fn[m], &cfg[m], params[m], state[m], B, &o);
    jx_tree *eb = jx_tree_dict(), *ein[2] = {params[0], eb};
    jx_tree_set(eb, "x", jx_tree_aval(JX_AVAL(JX_F32, EVAL_BATCH, MNIST_PIXELS)));
    jx_tree_set(eb, "y", jx_tree_aval(JX_AVAL(JX_I32, EVAL_BATCH)));
    fn[2] = ex[0] && ex[1] ? jx_tree_trace("attacks", eval_body, NULL, 2, ein, 1) : NULL;
    ex[2] = fn[2] ? tut_jit(fn[2], &o, 0) : NULL;
    jx_tree_free(eb);
    if (!ex[2]) return tut_fail(prog, "building the steps");

    static float pic[4 * SHOW * MNIST_PIXELS];
    int pred[3 * SHOW], status = 0;
    double acc[2][3];
    static const char *const what[2] = {"standard training", "adversarial training (PGD-3)"};
    static const char *const loss_name[2] = {"loss (standard training)", "loss (adversarial training)"};
    tut_feed tf = {&train_set, NULL, B, 0, 1, NULL};
    for (int m = 0; m < 2 && !status; m++) {
        tut_timer t = tut_timer_start();
        tut_loop loop = {loss_name[m], o.epochs, steps, tut_feed_batch, &tf, NULL, NULL};
        status = tut_train(prog, fn[m], ex[m], &params[m], &state[m], &loop);
        tut_timer_stop(&t, what[m]);
        t = tut_timer_start();
        if (!status && evaluate(fn[2], ex[2], params[m], &test, ntest, acc[m], m ? NULL : pic, m ? NULL : pred) != 0)
            status = tut_fail(prog, "attacking the test set");
        tut_timer_stop(&t, "attacks on the test set");
    }
    if (!status) {
        printf("\ntest accuracy on %lld images (eps %.2f)   clean    FGSM    PGD-%d\n", (long long)ntest, EPS,
               TEST_PGD_STEPS);
        for (int m = 0; m < 2; m++)
            printf("  %-31s %6.2f%% %6.2f%% %6.2f%%\n", m ? "adversarially trained model" : "standard model",
                   100 * acc[m][0], 100 * acc[m][1], 100 * acc[m][2]);
        tut_metric("pgd_accuracy_standard", acc[0][2]);
        tut_metric("pgd_accuracy_adv_trained", acc[1][2]);
        if (jx_plot_available()) plot_attacks(&o, pic, pred);
    }
    for (int m = 0; m < 2; m++) jx_tree_free(params[m]), jx_tree_free(state[m]);
    for (int k = 0; k < 3; k++) jx_exec_release(ex[k]), jx_tree_fn_free(fn[k]);
    jx_idx_split_free(&train_set), jx_idx_split_free(&test);
    /* the lesson: adversarial training buys accuracy under attack; the quick run gains about 35 points */
    return status ? status : tut_quick_check(quick, "PGD accuracy gained by adversarial training",
                                             acc[1][2] - acc[0][2], 0.1, 1);
}
