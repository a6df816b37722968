/* 01_cnn_classification: a small convolutional network classifies 28x28 images (MNIST
 * digits, or Fashion-MNIST: the stand-ins for CIFAR-10, which no package installs).
 *   conv3x3(8) - relu - maxpool2, conv3x3(16) - relu - maxpool2, dense(10), NHWC.
 * The parameters are a tree (jx/tree.h); one traced step takes the loss's gradient as a
 * tree (jx_tree_value_and_grad) and applies Adam (jx_optim_update); jx_jit compiles it
 * once, its parameter and optimizer trees donated so they are updated in place. A second
 * jitted function scores the test set. The initial weights come from common/tut.h's
 * generator, so numpy_ref.py and jax_ref.py start from the same numbers. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mnist_feed.h"
#include "tut.h"

enum { SIDE = 28, C1 = 8, C2 = 16, FLAT = 7 * 7 * C2, EVAL_BATCH = 1000, SHOW = 16 };

/* x (B,28,28,1) -> logits (B,10). */
static jx_val forward(const jx_tree *p, jx_val x) {
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = jx_relu(jx_nn_conv2d(x, jx_tree_get_val(p, "conv1.w"), jx_tree_get_val(p, "conv1.b"), &same));
    h = jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID); /* (B,14,14,8) */
    h = jx_relu(jx_nn_conv2d(h, jx_tree_get_val(p, "conv2.w"), jx_tree_get_val(p, "conv2.b"), &same));
    h = jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID); /* (B,7,7,16) */
    h = jx_reshape(h, JX_INTS(-1, FLAT));
    return jx_nn_dense(h, jx_tree_get_val(p, "dense.w"), jx_tree_get_val(p, "dense.b"));
}

/* in: params, batch {x, y (B) i32}. out[0]: the mean softmax cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits = forward(in[0], jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

/* in: params, {x, y}. out: {logits}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", forward(in[0], jx_tree_get_val(in[1], "x")));
}

/* A weight of the given shape: tut_normal(seed) * sqrt(gain / fan_in), as data.py draws it. */
static jx_array *normal_weight(uint64_t seed, double gain, int64_t fan_in, jx_ints shape) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    if (!a) return NULL;
    float *d = jx_array_data_mut(a);
    tut_normal(seed, jx_array_size(a), d);
    for (int64_t i = 0; i < jx_array_size(a); i++) d[i] *= (float)sqrt(gain / (double)fan_in);
    return a;
}

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "conv1.w", normal_weight(seed + 1, 2, 9, JX_INTS(3, 3, 1, C1))); /* He: relu follows */
    jx_tree_set_array(p, "conv1.b", jx_array_zeros(JX_F32, JX_INTS(C1)));
    jx_tree_set_array(p, "conv2.w", normal_weight(seed + 2, 2, 9 * C1, JX_INTS(3, 3, C1, C2)));
    jx_tree_set_array(p, "conv2.b", jx_array_zeros(JX_F32, JX_INTS(C2)));
    jx_tree_set_array(p, "dense.w", normal_weight(seed + 3, 1, FLAT, JX_INTS(FLAT, MNIST_CLASSES)));
    jx_tree_set_array(p, "dense.b", jx_array_zeros(JX_F32, JX_INTS(MNIST_CLASSES)));
    return p;
}

/* Writes the first SHOW misclassified test images (of ntest, predictions pred) as a grid. */
static void plot_mistakes(const trainer_opts *o, const jx_idx_split *test, const int *pred, int64_t ntest) {
    static float pix[SHOW * MNIST_PIXELS];
    static char text[SHOW][32];
    const char *labels[SHOW];
    const uint8_t *img = jx_array_data(test->images), *y = jx_array_data(test->labels);
    int n = 0;
    for (int64_t i = 0; i < ntest && n < SHOW; i++) {
        if (pred[i] == y[i]) continue;
        for (int p = 0; p < MNIST_PIXELS; p++) pix[n * MNIST_PIXELS + p] = img[i * MNIST_PIXELS + p] / 255.0f;
        snprintf(text[n], sizeof text[n], "%d, said %d", y[i], pred[i]);
        labels[n] = text[n], n++;
    }
    char path[4096];
    if (n == SHOW && jx_plot_images(tut_path(path, sizeof path, o, "mistakes.png"),
                                    "Misclassified test images (true class, prediction)", 2, SHOW / 2, SIDE, SIDE,
                                    pix, NULL, labels, NULL, 4) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_01_cnn_classification";
    trainer_opts o = {.epochs = 2, .batch = 64, .lr = 3e-3, .limit = 10000};
    int quick, r = tut_parse(prog, "A small CNN (two conv3x3 + maxpool layers, a dense head) trained with Adam on "
                                   "MNIST or Fashion-MNIST; prints the test accuracy. --limit: training images.",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 1, o.batch = 32, o.limit = 1000;
    const char *dir;
    jx_idx_split train, test;
    int64_t ntrain, ntest;
    if (tut_mnist_open(prog, &o, quick, EVAL_BATCH, &dir, &train, &test, &ntrain, &ntest) != 0) return 1;
    const int64_t B = o.batch, steps = ntrain / B; /* the last partial batch is dropped, as the references do */
    printf("%s: %lld training images from %s, %d epochs of %lld steps, %lld test images\n", prog, (long long)ntrain,
           dir, o.epochs, (long long)steps, (long long)ntest);

    jx_tree *params = init_params(o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    tut_feed tf = {&train, NULL, B, 1, 1, NULL}, ef = {&test, NULL, EVAL_BATCH, 1, 1, NULL};
    jx_tree *state = jx_optim_init(&opt, params), *tb = tut_feed_batch(0, 0, &tf), *eb = tut_feed_batch(0, 0, &ef);
    jx_tree *tin[3] = {params, state, tb}, *ein[2] = {params, eb};
    tut_step body = {loss_body, &opt, 1, NULL, NULL}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_fn *ev = jx_tree_trace("eval", eval_body, NULL, 2, ein, 1);
    jx_tree_free(tb), jx_tree_free(eb);
    jx_exec *step_x = step && ev ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *ev_x = step_x ? tut_jit(ev, &o, 0) : NULL;
    if (!ev_x) return tut_fail(prog, "building the steps");

    double *curve = malloc(sizeof *curve * (size_t)(o.epochs * steps));
    tut_timer t = tut_timer_start();
    tut_loop loop = {"training loss", o.epochs, steps, tut_feed_batch, &tf, curve, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    int *pred = malloc(sizeof *pred * (size_t)ntest);
    int64_t right = 0;
    const uint8_t *y = jx_array_data(test.labels);
    for (int64_t first = 0; first < ntest && !status; first += EVAL_BATCH) {
        jx_tree *b = tut_feed_batch(first / EVAL_BATCH, 0, &ef), *in[2] = {params, b}, *out = NULL;
        if (!b || jx_tree_fn_run(ev, ev_x, 2, in, 1, &out) != JX_OK)
            status = tut_fail(prog, "scoring the test set");
        for (int64_t i = 0; i < EVAL_BATCH && !status; i++) {
            const float *l = (const float *)jx_array_data(jx_tree_get_array(out, "logits")) + i * MNIST_CLASSES;
            int best = 0;
            for (int c = 1; c < MNIST_CLASSES; c++) best = l[c] > l[best] ? c : best;
            pred[first + i] = best, right += best == y[first + i];
        }
        jx_tree_free(b), jx_tree_free(out);
    }
    double acc = (double)right / (double)ntest;
    if (!status) {
        printf("test accuracy %.2f%% (%lld of %lld)\n", 100 * acc, (long long)right, (long long)ntest);
        tut_metric("test_accuracy", acc);
        char path[4096];
        jx_plot_series ser = {"training loss (per step)", NULL, curve, o.epochs * steps};
        if (jx_plot_available() && jx_plot_lines(tut_path(path, sizeof path, &o, "loss.png"), "CNN: training loss",
                                                 "step", "cross-entropy", 1, &ser, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        if (jx_plot_available()) plot_mistakes(&o, &test, pred, ntest);
    }
    free(pred), free(curve);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(ev_x), jx_tree_fn_free(step), jx_tree_fn_free(ev);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    /* chance is 10%; the quick run (31 steps of 32 images) reaches about 78% */
    return status ? status : tut_quick_check(quick, "test accuracy", acc, 0.5, 1);
}
