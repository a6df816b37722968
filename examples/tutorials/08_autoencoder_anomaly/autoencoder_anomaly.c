/* 08_autoencoder_anomaly: anomaly detection with an autoencoder. A dense autoencoder
 * 784-128-32-128-784 learns to reconstruct the MNIST digits of every class but one (the
 * "normal" data); an image's anomaly score is its reconstruction error, which is larger
 * for the class it never saw. The score is judged by the area under the ROC curve (AUC)
 * of "is the held-out digit" on the test set. The encoder and decoder are jx_nn_dense
 * layers over a parameter tree; one jitted step applies Adam to the binary
 * cross-entropy of the reconstruction; a second jitted function returns each test image's
 * reconstruction and error. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mlp.h"
#include "mnist_feed.h"
#include "tut.h"

enum { CODE = 32, HID = 128, EVAL_BATCH = 1000, SHOW = 8 };
static const char *const layers[4] = {"enc1", "enc2", "dec1", "dec2"};
static const int64_t widths[5] = {MNIST_PIXELS, HID, CODE, HID, MNIST_PIXELS};
static const mlp ae = {4, layers, widths}; /* relu between the layers; the output is logits */

/* in: params, {x}. out[0]: the mean binary cross-entropy of the reconstruction. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x");
    out[0] = jx_tree_val(jx_mean(jx_loss_sigmoid_bce(mlp_forward(&ae, in[0], x), x), JX_NOINTS));
}

/* in: params, {x}. out: {recon (B,784) in [0, 1], score (B): the mean squared error}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x"), recon = jx_sigmoid(mlp_forward(&ae, in[0], x));
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "recon", recon);
    jx_tree_set_val(out[0], "score", jx_mean(jx_square(jx_sub(recon, x)), JX_INTS(1)));
}

/* Area under the ROC curve of score for positives pos[i] != 0 (ties counted half), and the
 * curve itself (fpr, tpr: n + 1 points). */
static int64_t *sort_idx;
static const float *sort_key;
static int by_score_desc(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    return sort_key[i] > sort_key[j] ? -1 : sort_key[i] < sort_key[j] ? 1 : (i > j) - (i < j);
}
static double roc_auc(const float *score, const int *pos, int64_t n, double *fpr, double *tpr) {
    sort_idx = malloc(sizeof *sort_idx * (size_t)n), sort_key = score;
    for (int64_t i = 0; i < n; i++) sort_idx[i] = i;
    qsort(sort_idx, (size_t)n, sizeof *sort_idx, by_score_desc);
    int64_t np = 0, nn, tp = 0, fp = 0;
    for (int64_t i = 0; i < n; i++) np += pos[i] != 0;
    nn = n - np;
    double auc = 0;
    fpr[0] = tpr[0] = 0;
    for (int64_t i = 0, start = 0; i < n; i++) {
        int64_t k = sort_idx[i];
        pos[k] ? tp++ : fp++;
        fpr[i + 1] = (double)fp / (double)nn, tpr[i + 1] = (double)tp / (double)np;
        /* a run of equal scores is one threshold: its trapezoid is added at the run's end */
        if (i + 1 == n || score[sort_idx[i + 1]] != score[k]) {
            auc += (fpr[i + 1] - fpr[start]) * (tpr[i + 1] + tpr[start]) / 2;
            start = i + 1;
        }
    }
    free(sort_idx);
    return auc;
}

/* The picture: rows of normal test images and their reconstructions, then anomalies and theirs. */
static void plot_recon(const trainer_opts *o, const float *x, const float *recon, const float *score,
                       const int *pos, int64_t n) {
    static float pix[4 * SHOW * MNIST_PIXELS];
    static char text[4 * SHOW][24];
    const char *labels[4 * SHOW] = {0}, *rows[4] = {"normal", "recon", "anomaly", "recon"};
    int got[2] = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        int a = pos[i] != 0, c = got[a];
        if (c == SHOW) continue;
        for (int p = 0; p < MNIST_PIXELS; p++) {
            pix[((2 * a) * SHOW + c) * MNIST_PIXELS + p] = x[i * MNIST_PIXELS + p];
            pix[((2 * a + 1) * SHOW + c) * MNIST_PIXELS + p] = recon[i * MNIST_PIXELS + p];
        }
        snprintf(text[(2 * a + 1) * SHOW + c], sizeof text[0], "err %.4f", score[i]);
        labels[(2 * a + 1) * SHOW + c] = text[(2 * a + 1) * SHOW + c];
        got[a]++;
    }
    char path[4096];
    if (got[0] == SHOW && got[1] == SHOW &&
        jx_plot_images(tut_path(path, sizeof path, o, "reconstructions.png"),
                       "Autoencoder reconstructions: normal digits and the held-out digit", 4, SHOW, 28, 28, pix, NULL,
                       labels, rows, 3) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_08_autoencoder_anomaly";
    trainer_opts o = {.epochs = 5, .batch = 128, .lr = 1e-3, .limit = 20000};
    long anomaly = 2;
    trainer_extra ex[] = {{"--anomaly", "D", "the digit held out of training, the anomaly (default 2)", TRAINER_LONG, 0,
                           9, &anomaly}};
    int quick, r = tut_parse(prog, "A dense autoencoder learns the MNIST digits but one; its reconstruction error "
                                   "flags the held-out digit. Prints the ROC AUC on the test set. --limit: training "
                                   "images looked at.", argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 2, o.batch = 64, o.limit = 2000;
    const char *dir;
    jx_idx_split train, test;
    int64_t nall, ntest, ntrain = 0;
    if (tut_mnist_open(prog, &o, quick, EVAL_BATCH, &dir, &train, &test, &nall, &ntest) != 0) return 1;
    int64_t *normal = malloc(sizeof *normal * (size_t)nall); /* the training images of the normal classes */
    const uint8_t *ty = jx_array_data(train.labels), *vy = jx_array_data(test.labels);
    for (int64_t i = 0; i < nall; i++)
        if (ty[i] != anomaly) normal[ntrain++] = i;
    const int64_t B = o.batch, steps = ntrain / B;
    printf("%s: %lld normal training images (all digits but %ld) from %s, %d epochs of %lld steps\n", prog,
           (long long)ntrain, anomaly, dir, o.epochs, (long long)steps);

    jx_tree *params = mlp_init(&ae, o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    tut_feed tf = {&train, normal, B, 0, 0, NULL}; /* the normal images, in order */
    jx_tree *state = jx_optim_init(&opt, params), *tb = jx_tree_dict(), *eb = jx_tree_dict();
    jx_tree_set(tb, "x", jx_tree_aval(JX_AVAL(JX_F32, B, MNIST_PIXELS)));
    jx_tree_set(eb, "x", jx_tree_aval(JX_AVAL(JX_F32, EVAL_BATCH, MNIST_PIXELS)));
    jx_tree *tin[3] = {params, state, tb}, *ein[2] = {params, eb};
    tut_step body = {loss_body, &opt, 1, NULL, NULL}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_fn *ev = jx_tree_trace("score", eval_body, NULL, 2, ein, 1);
    jx_tree_free(tb), jx_tree_free(eb);
    jx_exec *step_x = step && ev ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *ev_x = step_x ? tut_jit(ev, &o, 0) : NULL;
    if (!ev_x) return tut_fail(prog, "building the steps");

    tut_timer t = tut_timer_start();
    tut_loop loop = {"reconstruction loss", o.epochs, steps, tut_feed_batch, &tf, NULL, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    /* score the test set: each image's reconstruction error */
    float *x = malloc(sizeof *x * (size_t)(ntest * MNIST_PIXELS)), *recon = malloc(sizeof *recon * (size_t)(ntest * MNIST_PIXELS));
    float *score = malloc(sizeof *score * (size_t)ntest);
    int *pos = malloc(sizeof *pos * (size_t)ntest);
    for (int64_t first = 0; first < ntest && !status; first += EVAL_BATCH) {
        jx_array *xb = mnist_images(test.images, NULL, first, EVAL_BATCH, JX_INTS(EVAL_BATCH, MNIST_PIXELS));
        jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
        jx_array_copy_to(xb, x + first * MNIST_PIXELS, jx_array_nbytes(xb));
        jx_tree_set_array(b, "x", xb);
        if (jx_tree_fn_run(ev, ev_x, 2, in, 1, &out) != JX_OK) status = tut_fail(prog, "scoring the test set");
        else {
            jx_array *rc = jx_tree_get_array(out, "recon"), *sc = jx_tree_get_array(out, "score");
            jx_array_copy_to(rc, recon + first * MNIST_PIXELS, jx_array_nbytes(rc));
            jx_array_copy_to(sc, score + first, jx_array_nbytes(sc));
        }
        jx_tree_free(b), jx_tree_free(out);
    }
    double auc = 0;
    if (!status) {
        double mean[2] = {0, 0}, *fpr = malloc(sizeof(double) * (size_t)(ntest + 1)), *tpr = malloc(sizeof(double) * (size_t)(ntest + 1));
        int64_t count[2] = {0, 0};
        for (int64_t i = 0; i < ntest; i++) pos[i] = vy[i] == anomaly, mean[pos[i]] += score[i], count[pos[i]]++;
        auc = roc_auc(score, pos, ntest, fpr, tpr);
        printf("mean reconstruction error: normal digits %.5f, digit %ld %.5f\n", mean[0] / (double)count[0], anomaly,
               mean[1] / (double)count[1]);
        printf("ROC AUC of the reconstruction error for digit %ld among %lld test images: %.4f\n", anomaly,
               (long long)ntest, auc);
        tut_metric("roc_auc", auc);
        char path[4096];
        jx_plot_series roc[2] = {{"autoencoder", fpr, tpr, ntest + 1}, {"chance", (double[]){0, 1}, (double[]){0, 1}, 2}};
        if (jx_plot_available()) {
            if (jx_plot_lines(tut_path(path, sizeof path, &o, "roc.png"), "ROC curve: reconstruction error as the score",
                              "false positive rate", "true positive rate", 2, roc, 600, 500) == JX_OK)
                printf("wrote %s\n", path);
            plot_recon(&o, x, recon, score, pos, ntest);
        }
        free(fpr), free(tpr);
    }
    free(x), free(recon), free(score), free(pos), free(normal);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(ev_x), jx_tree_fn_free(step), jx_tree_fn_free(ev);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    /* chance is an AUC of 0.5; the quick run reaches about 0.73 */
    return status ? status : tut_quick_check(quick, "ROC AUC", auc, 0.65, 1);
}
