/* 18_transfer_learning: a small CNN is pre-trained on MNIST digits 0-4, then adapted to
 * digits 5-9 from a few hundred labelled images, three ways: its convolutional features
 * frozen and only a new head trained, everything fine-tuned, and the same network
 * trained from scratch on the small set. Which leaves train is chosen by tree path:
 * jx_tree_select(params, "head.**") is the trainable tree, jx_tree_select(params,
 * "features.**") rides along in the batch, outside the gradient. See README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "convnet.h"
#include "fit.h"
#include "tut.h"

enum { SIDE = 28, PIX = SIDE * SIDE, C1 = 8, C2 = 16, FLAT = 7 * 7 * C2, K = 5, EVAL = 500, PRE_BATCH = 64 };

/* Images with labels in [lo, lo + K) among the first n of a split, labels shifted to 0..K-1. */
typedef struct subset {
    float *x;
    int32_t *y;
    int64_t n;
} subset;

static int make_subset(const jx_idx_split *s, int64_t n, int lo, int64_t max, subset *out) {
    const uint8_t *img = jx_array_data(s->images), *lab = jx_array_data(s->labels);
    int64_t total = jx_array_shape(s->labels)[0];
    if (n > total) n = total;
    out->x = malloc(sizeof(float) * (size_t)(n * PIX)), out->y = malloc(sizeof(int32_t) * (size_t)n), out->n = 0;
    if (!out->x || !out->y) return -1;
    for (int64_t i = 0; i < n && out->n < max; i++) {
        if (lab[i] < lo || lab[i] >= lo + K) continue;
        for (int p = 0; p < PIX; p++) out->x[out->n * PIX + p] = img[i * PIX + p] / 255.0f;
        out->y[out->n++] = lab[i] - lo;
    }
    return 0;
}

static void free_subset(subset *s) { free(s->x), free(s->y); }

/* A new head (dense 784 -> 5, LeCun-normal) in p, replacing the old one. */
static void new_head(jx_tree *p, uint64_t seed) {
    jx_tree_set_array(p, "head.w", tut_weights(seed, FLAT, K, 1 / 28.0)); /* 1 / sqrt(784) */
    jx_tree_set_array(p, "head.b", jx_array_zeros(JX_F32, JX_INTS(K)));
}

/* The network: features (two conv3x3 + relu + maxpool2) then head (dense 784 -> 5). */
static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    tut_conv_init(p, "features.conv1", seed, 3, 1, C1);
    tut_conv_init(p, "features.conv2", seed + 1, 3, C1, C2);
    new_head(p, seed + 2);
    return p;
}

/* The subtree holding `path`: the trainable tree t, or the batch's frozen one. */
static const jx_tree *owner(const jx_tree *t, const jx_tree *batch, const char *path) {
    return jx_tree_count_matching(t, path) ? t : jx_tree_get(batch, "frozen");
}

/* x (B,28,28,1) -> logits (B,5), the parameters found in t or in batch's frozen tree. */
static jx_val forward(const jx_tree *t, const jx_tree *batch, jx_val x) {
    jx_val h = jx_relu(tut_conv(owner(t, batch, "features.conv1.w"), "features.conv1", x));
    h = jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID); /* (B,14,14,8) */
    h = jx_relu(tut_conv(owner(t, batch, "features.conv2.w"), "features.conv2", h));
    h = jx_reshape(jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID), JX_INTS(-1, FLAT));
    const jx_tree *hd = owner(t, batch, "head.w");
    return jx_nn_dense(h, jx_tree_get_val(hd, "head.w"), jx_tree_get_val(hd, "head.b"));
}

/* in: trainable params, batch {x, y, frozen?}. out[0]: the mean cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits = forward(in[0], in[1], jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

/* in: trainable params, batch {x, frozen?}. out: {label} (B) i32. */
static void predict_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "label", jx_argmax(forward(in[0], in[1], jx_tree_get_val(in[1], "x")), 1, JX_I32));
}

typedef struct feed {
    const subset *s;
    int64_t size;
    const jx_tree *frozen; /* NULL: nothing frozen */
} feed;

/* Rows [i0, i0 + n) of f's subset as {x, y} (y only with labels), plus f's frozen tree. */
static jx_tree *batch_tree(const feed *f, int64_t i0, int64_t n, int labels) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set_array(b, "x", jx_array_new(JX_F32, JX_INTS(n, SIDE, SIDE, 1), f->s->x + i0 * PIX));
    if (labels) jx_tree_set_array(b, "y", jx_array_new(JX_I32, JX_INTS(n), f->s->y + i0));
    if (f->frozen) jx_tree_set(b, "frozen", jx_tree_copy(f->frozen));
    return b;
}

static jx_tree *next_batch(int64_t i, int64_t step, void *user) {
    (void)step;
    const feed *f = user;
    return batch_tree(f, i * f->size, f->size, 1);
}

/* Writes adaptation.png: the training loss of each step of the three adaptations
 * (curves[i], n steps each), labelled with their test accuracies. */
static void plot(const trainer_opts *o, double *const *curves, int64_t n, const double *acc) {
    static char text[3][64];
    const char *names[3] = {"frozen features", "fine-tuned", "from scratch"};
    jx_plot_series s[3];
    for (int i = 0; i < 3; i++) {
        snprintf(text[i], sizeof text[i], "%s (test %.1f%%)", names[i], 100 * acc[i]);
        s[i] = (jx_plot_series){text[i], NULL, curves[i], n};
    }
    char path[4096];
    if (jx_plot_available() && jx_plot_lines(tut_path(path, sizeof path, o, "adaptation.png"),
                                             "Adapting to digits 5-9 from few labels", "step", "training loss", 3, s,
                                             0, 0) == JX_OK)
        printf("wrote %s\n", path);
}

/* One training run: Adam at lr for epochs over s, updating only the leaves of *params
 * that match `trainable` (the rest frozen); curve (may be NULL) gets each step's loss.
 * Returns 0, or 1 after printing the error. */
static int train(const char *prog, const trainer_opts *o, const char *what, jx_tree **params,
                 const char *trainable, double lr, int epochs, const subset *s, int batch, double *curve) {
    jx_tree *t = jx_tree_select(*params, trainable), *frozen = NULL;
    if (strcmp(trainable, "**")) frozen = jx_tree_select(*params, "features.**");
    printf("%s: training %d of %d parameter arrays (\"%s\"), %lld images, %d epochs\n", what,
           jx_tree_count_matching(*params, trainable), jx_tree_count_matching(*params, "**"), trainable,
           (long long)s->n, epochs);
    feed f = {s, batch, frozen};
    tut_loop l = {"training loss", epochs, s->n / batch, next_batch, &f, curve, NULL};
    int status = tut_fit(prog, o, loss_body, lr, &t, batch_tree(&f, 0, batch, 1), &l, NULL);
    if (!status) /* the trained leaves back into the full tree */
        for (int i = 0; i < jx_tree_num_leaves(t); i++) {
            char path[JX_TREE_PATH_MAX];
            jx_tree_leaf_path(t, i, path, sizeof path);
            jx_tree_set_array(*params, path, jx_array_retain(jx_tree_leaf_array(jx_tree_leaf(t, i))));
        }
    jx_tree_free(t), jx_tree_free(frozen);
    return status;
}

/* The accuracy of params on s (in batches of EVAL), or -1 after printing the error. */
static double accuracy(const char *prog, const trainer_opts *o, const jx_tree *params, const subset *s) {
    feed f = {s, EVAL, NULL};
    jx_tree *b = batch_tree(&f, 0, EVAL, 0), *in[2] = {(jx_tree *)params, b}, *out = NULL;
    jx_tree_fn *ev = jx_tree_trace("predict", predict_body, NULL, 2, in, 1);
    jx_exec *x = tut_jit(ev, o, 0);
    jx_tree_free(b);
    int64_t right = 0, n = s->n - s->n % EVAL;
    for (int64_t i = 0; i < n && x; i += EVAL) {
        b = batch_tree(&f, i, EVAL, 0), in[1] = b;
        if (jx_tree_fn_run(ev, x, 2, in, 1, &out) != JX_OK) {
            jx_tree_free(b), n = 0;
            break;
        }
        const int32_t *label = jx_array_data(jx_tree_get_array(out, "label"));
        for (int64_t j = 0; j < EVAL; j++) right += label[j] == s->y[i + j];
        jx_tree_free(out), jx_tree_free(b);
    }
    jx_exec_release(x), jx_tree_fn_free(ev);
    if (n == 0) {
        tut_fail(prog, "scoring");
        return -1;
    }
    return (double)right / (double)n;
}

int main(int argc, char **argv) {
    const char *prog = "tut_18_transfer_learning";
    trainer_opts o = {.data = tut_mnist_dir(), .epochs = 20, .batch = 16, .lr = 3e-3, .seed = 0, .limit = 20000};
    long labelled = 0;
    trainer_extra ex[] = {{"--labelled", "N", "labelled images of classes 5-9 to adapt on (default 100)", TRAINER_LONG,
                           8, 30000, &labelled}};
    int quick, r = tut_parse(prog, "Transfer learning: a CNN pre-trained on digits 0-4 adapts to digits 5-9 from 100 "
                                   "labelled images, frozen features / fine-tuned / from scratch (tree path "
                                   "selection). --limit: training images scanned for the pre-training set (default "
                                   "20000); --epochs, --batch: of each adaptation run.",
                             argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 15, o.limit = 3000;
    if (!labelled) labelled = 100;
    const int64_t ntest = quick ? 1000 : 4500;
    const char *dir = o.data;
    jx_idx_split tr, te;
    if (mnist_load(prog, dir, &tr, &te) != 0) return 1;
    subset pre_tr, pre_te, tr5, te5;
    int64_t all = jx_array_shape(tr.labels)[0];
    int bad = make_subset(&tr, o.limit > 0 ? o.limit : all, 0, all, &pre_tr) | make_subset(&tr, all, K, labelled, &tr5) |
              make_subset(&te, all, 0, ntest, &pre_te) | make_subset(&te, all, K, ntest, &te5);
    jx_idx_split_free(&tr), jx_idx_split_free(&te);
    if (bad || tr5.n < o.batch || pre_tr.n < PRE_BATCH || te5.n < EVAL || pre_te.n < EVAL) {
        if (bad) fprintf(stderr, "%s: out of memory for the images\n", prog);
        else if (tr5.n < o.batch)
            fprintf(stderr, "%s: --batch %d is larger than the %lld labelled images\n", prog, o.batch, (long long)tr5.n);
        else
            fprintf(stderr, "%s: %lld images of classes 0-4 among the first %ld (--limit), %lld and %lld test images: "
                    "need %d, and %d of each\n", prog, (long long)pre_tr.n, o.limit, (long long)pre_te.n,
                    (long long)te5.n, PRE_BATCH, EVAL);
        free_subset(&pre_tr), free_subset(&pre_te), free_subset(&tr5), free_subset(&te5);
        return 1;
    }
    printf("%s: pre-training on %lld images of classes 0-4 from %s, adapting to classes 5-9 from %lld labelled "
           "images; %lld and %lld test images\n",
           prog, (long long)pre_tr.n, dir, (long long)tr5.n, (long long)pre_te.n, (long long)te5.n);

    jx_tree *pre = init_params((uint64_t)o.seed + 10), *frozen = NULL, *tuned = NULL, *scratch = NULL;
    tut_timer t = tut_timer_start();
    int status = train(prog, &o, "pre-training", &pre, "**", o.lr, 1, &pre_tr, PRE_BATCH, NULL);
    tut_timer_stop(&t, "pre-training");
    double acc_pre = status ? 0 : accuracy(prog, &o, pre, &pre_te), acc[3] = {0, 0, 0};
    if (acc_pre < 0) status = 1;
    if (!status) printf("pre-trained network: test accuracy %.2f%% on classes 0-4\n", 100 * acc_pre);

    /* the three adaptations, each with a new head for the new classes */
    frozen = jx_tree_copy(pre), tuned = jx_tree_copy(pre), scratch = init_params((uint64_t)o.seed + 10);
    new_head(frozen, (uint64_t)o.seed + 20), new_head(tuned, (uint64_t)o.seed + 20);
    int64_t steps = o.epochs * (tr5.n / o.batch);
    double *curves[3];
    for (int i = 0; i < 3; i++) curves[i] = calloc((size_t)steps, sizeof(double));
    t = tut_timer_start();
    if (!status) status = train(prog, &o, "frozen features", &frozen, "head.**", o.lr, o.epochs, &tr5, o.batch, curves[0]);
    if (!status) status = train(prog, &o, "fine-tuned", &tuned, "**", o.lr / 3, o.epochs, &tr5, o.batch, curves[1]);
    if (!status) status = train(prog, &o, "from scratch", &scratch, "**", o.lr, o.epochs, &tr5, o.batch, curves[2]);
    tut_timer_stop(&t, "adaptation, three runs");
    jx_tree *nets[3] = {frozen, tuned, scratch};
    for (int i = 0; i < 3 && !status; i++)
        if ((acc[i] = accuracy(prog, &o, nets[i], &te5)) < 0) status = 1;
    if (!status) {
        printf("test accuracy on classes 5-9 after %lld labelled images: frozen features %.2f%%, fine-tuned %.2f%%, "
               "from scratch %.2f%%\n",
               (long long)tr5.n, 100 * acc[0], 100 * acc[1], 100 * acc[2]);
        tut_metric("pretrained_accuracy", acc_pre);
        tut_metric("frozen_accuracy", acc[0]);
        tut_metric("scratch_accuracy", acc[2]);
        tut_metric("finetuned_accuracy", acc[1]);
        plot(&o, curves, steps, acc);
    }
    for (int i = 0; i < 3; i++) free(curves[i]);
    jx_tree_free(pre), jx_tree_free(frozen), jx_tree_free(tuned), jx_tree_free(scratch);
    free_subset(&pre_tr), free_subset(&pre_te), free_subset(&tr5), free_subset(&te5);
    if (status) return status;
    /* chance is 20%; the quick run (15 epochs of 6 batches of the 100 labelled images)
     * fine-tunes to about 73% on MNIST, 88% on Fashion-MNIST: it must pass 60% */
    return tut_quick_check(quick, "fine-tuned test accuracy", acc[1], 0.6, 1);
}
