/* transfer.c: transfer learning with jx's model surgery (jx/surgery.h). The CNN of
 * mnist_cnn (conv-batchnorm-relu-maxpool twice, dense 128, dense 10; held here as a
 * jx_seq) is trained on Fashion-MNIST two ways at the same budget:
 *   - transfer: the parameters and batch-norm statistics of an mnist_cnn checkpoint
 *     trained on MNIST are loaded with jx_checkpoint_load_matching (the report names
 *     what did not fit), the 10-class head is replaced by a fresh one, and the
 *     convolutional trunk (conv1, bn1, conv2, bn2) is frozen: its batch norms use the
 *     MNIST running statistics, and only dense1 and dense2 are differentiated and updated;
 *   - from scratch: the same architecture, freshly initialised, everything trained.
 * It prints the test accuracy after each epoch of both runs and the mean step time of
 * each (freezing removes the trunk's backward pass: the conv weight gradients and the
 * gradient through the first dense layer into the trunk).
 *
 *   usage: transfer --ckpt FILE [--data DIR] [--epochs N] [--batch N] [--lr X] [--limit N]
 *                   [--test-limit N] [--threads N] [--seed N]
 *
 * e.g. mnist_cnn --data ../shared/data/mnist --out run/mnist, then
 *      transfer --ckpt run/mnist/mnist_cnn_epoch2.safetensors --limit 2000 */
#define _POSIX_C_SOURCE 200809L
#include <jx/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/cnn_seq.h"
#include "common/mnist_data.h"
#include "common/trainer_opts.h"

enum { SIDE = CNN_SIDE, EVAL_BATCH = 250, MAX_EPOCHS = 100 };

typedef struct options {
    trainer_opts t;
    const char *ckpt;
    long test_limit;
} options;

/* ------------------------------------------------------------------ steps */

typedef struct model {
    jx_seq *seq;
    jx_optim opt;
    int frozen; /* the trunk is frozen: the step takes trainable and frozen trees */
} model;

/* in: params (whole), stats, batch {x, y}. out: the mean cross-entropy, the new stats. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    const model *m = user;
    jx_tree *ns = jx_tree_dict();
    jx_seq_ctx c = {.stats = in[1], .new_stats = ns};
    jx_val logits = jx_seq_apply(m->seq, in[0], jx_tree_get_val(in[2], "x"), &c);
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[2], "y"), JX_LOSS_NO_IGNORE));
    out[1] = ns;
}

/* Full: in: params, opt, stats, batch. Frozen: in: trainable, frozen, opt, stats, batch.
 * out: new params (trainable), new opt, new stats, {loss}. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const model *m = user;
    int k = m->frozen;
    jx_tree *args[3] = {in[0], in[2 + k], in[3 + k]}, *vals[2], *grads;
    jx_status st = k ? jx_tree_value_and_grad_frozen(loss_body, user, 3, args, 0, in[1], 2, vals, &grads)
                     : jx_tree_value_and_grad(loss_body, user, 3, args, 0, 2, vals, &grads);
    if (st != JX_OK) return;
    jx_optim_update(&m->opt, grads, in[1 + k], in[0], &out[0], &out[1]);
    /* a frozen trunk's batch norms run on their running statistics: nothing new */
    out[2] = k ? jx_tree_copy(in[2 + k]) : vals[1];
    if (k) jx_tree_free(vals[1]);
    out[3] = jx_tree_dict();
    jx_tree_set(out[3], "loss", vals[0]);
    jx_tree_free(grads);
}

/* in: params (whole), stats, {x}. out: {logits}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    const model *m = user;
    jx_seq_ctx c = {.stats = in[1]};
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", jx_seq_apply(m->seq, in[0], jx_tree_get_val(in[2], "x"), &c));
}

/* ------------------------------------------------------------------ a run */

/* The state of one training run: params (trainable part), frozen (NULL when none),
 * optimizer state, statistics; the jitted step and evaluation. */
typedef struct run {
    model m;
    jx_tree *params, *frozen, *opt, *stats;
    jx_tree_fn *step, *eval;
    jx_exec *step_x, *eval_x;
    double acc[MAX_EPOCHS + 1], step_s;
} run;

static jx_tree *batch_tree(const jx_idx_split *d, const int64_t *idx, int64_t first, int64_t n, int labels) {
    jx_tree *b = jx_tree_dict();
    if (jx_tree_set_array(b, "x", mnist_images(d->images, idx, first, n, JX_INTS(n, SIDE, SIDE, 1))) != JX_OK ||
        (labels && jx_tree_set_array(b, "y", mnist_labels(d->labels, idx, first, n, 0)) != JX_OK)) {
        jx_tree_free(b);
        return NULL;
    }
    return b;
}

/* Traces and jits the step (state donated) and the evaluation. 0 or -1. */
static int compile(run *r, const options *o, const jx_idx_split *train) {
    jx_tree *b = batch_tree(train, NULL, 0, o->t.batch, 1), *e = batch_tree(train, NULL, 0, EVAL_BATCH, 0);
    jx_tree *whole = r->frozen ? jx_tree_merge(r->params, r->frozen) : jx_tree_copy(r->params);
    int k = r->frozen != NULL;
    jx_tree *sin[5] = {r->params, r->frozen, r->opt, r->stats, b}, *ein[3] = {whole, r->stats, e};
    if (!k) sin[1] = r->opt, sin[2] = r->stats, sin[3] = b;
    int rc = -1;
    if (!b || !e || !whole) goto done;
    r->step = jx_tree_trace("step", step_body, &r->m, 4 + k, sin, 4);
    r->eval = jx_tree_trace("eval", eval_body, &r->m, 3, ein, 1);
    if (!r->step || !r->eval) goto done;
    int64_t donate[64];
    int nd = 0;
    for (int t = 0; t < 3 + k; t++) /* params, opt, stats; the frozen tree is only read */
        if (!(k && t == 1))
            for (int i = 0; i < jx_tree_fn_input_leaves(r->step, t) && nd < 64; i++)
                donate[nd++] = jx_tree_fn_input_offset(r->step, t) + i;
    jx_jit_opts jo = {o->t.threads, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    r->step_x = jx_jit(jx_tree_fn_fn(r->step), JX_DEVICE_CPU, &jo);
    jx_jit_opts eo = {o->t.threads, {NULL, 0}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    r->eval_x = r->step_x ? jx_jit(jx_tree_fn_fn(r->eval), JX_DEVICE_CPU, &eo) : NULL;
    rc = r->eval_x ? 0 : -1;
done:
    jx_tree_free(b), jx_tree_free(e), jx_tree_free(whole);
    return rc;
}

/* Test accuracy in percent over the first ntest images (a multiple of EVAL_BATCH). */
static double evaluate(run *r, const jx_idx_split *test, int64_t ntest) {
    jx_metrics m = {0};
    jx_tree *whole = r->frozen ? jx_tree_merge(r->params, r->frozen) : jx_tree_copy(r->params);
    double acc = -1;
    if (!whole || jx_metrics_init(&m, MNIST_CLASSES, JX_METRICS_NO_IGNORE) != JX_OK) {
        jx_tree_free(whole);
        return -1;
    }
    int ok = 1;
    for (int64_t first = 0; ok && first < ntest; first += EVAL_BATCH) {
        jx_tree *b = batch_tree(test, NULL, first, EVAL_BATCH, 0), *out = NULL;
        jx_array *labels = mnist_labels(test->labels, NULL, first, EVAL_BATCH, 0);
        jx_tree *in[3] = {whole, r->stats, b};
        ok = b && labels && jx_tree_fn_run(r->eval, r->eval_x, 3, in, 1, &out) == JX_OK &&
             jx_metrics_update_logits(&m, jx_tree_get_array(out, "logits"), labels, 0) == JX_OK;
        jx_tree_free(b), jx_tree_free(out), jx_array_release(labels);
    }
    if (ok) acc = 100.0 * jx_metrics_accuracy(&m);
    jx_metrics_free(&m);
    jx_tree_free(whole);
    return acc;
}

/* Trains r for o->t.epochs epochs over the first ntrain images (whole batches). 0 or -1. */
static int train_run(run *r, const char *label, const options *o, const jx_idx_split *train, const jx_idx_split *test,
                     int64_t ntrain, int64_t ntest) {
    int64_t nb = ntrain / o->t.batch, *idx = malloc((size_t)ntrain * sizeof *idx), steps = 0;
    if (!idx) return -1;
    uint64_t s = o->t.seed * 0x9e3779b97f4a7c15ULL + 1;
    double spent = 0;
    for (int epoch = 1; epoch <= o->t.epochs; epoch++) {
        for (int64_t i = 0; i < ntrain; i++) idx[i] = i;
        for (int64_t i = ntrain - 1; i > 0; i--) { /* the same order for both runs */
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t j = (int64_t)((s >> 33) % (uint64_t)(i + 1)), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
        for (int64_t b = 0; b < nb; b++) {
            jx_tree *bt = batch_tree(train, idx, b * o->t.batch, o->t.batch, 1), *out[4];
            int k = r->frozen != NULL;
            jx_tree *in[5] = {r->params, r->frozen, r->opt, r->stats, bt};
            if (!k) in[1] = r->opt, in[2] = r->stats, in[3] = bt;
            double t0 = clock_now();
            jx_status st = bt ? jx_tree_fn_run(r->step, r->step_x, 4 + k, in, 4, out) : JX_ERR_NOMEM;
            if (epoch > 1 || b > 0) spent += clock_now() - t0, steps++; /* the first step warms the caches */
            jx_tree_free(bt);
            if (st != JX_OK) {
                free(idx);
                return -1;
            }
            jx_tree_free(r->params), jx_tree_free(r->opt), jx_tree_free(r->stats), jx_tree_free(out[3]);
            r->params = out[0], r->opt = out[1], r->stats = out[2];
        }
        r->acc[epoch] = evaluate(r, test, ntest);
        if (r->acc[epoch] < 0) {
            free(idx);
            return -1;
        }
        printf("%s: epoch %d, test accuracy %.2f%%\n", label, epoch, r->acc[epoch]);
        fflush(stdout);
    }
    r->step_s = steps ? spent / (double)steps : 0;
    free(idx);
    return 0;
}

static void run_free(run *r) {
    jx_exec_release(r->step_x), jx_exec_release(r->eval_x);
    jx_tree_fn_free(r->step), jx_tree_fn_free(r->eval);
    jx_tree_free(r->params), jx_tree_free(r->frozen), jx_tree_free(r->opt), jx_tree_free(r->stats);
}

/* ------------------------------------------------------------------ the two runs */

/* Surgery on the fresh model r: the checkpoint's parameters and statistics where they
 * fit, a new head, the trunk frozen. 0 or -1. */
static int prepare_transfer(run *r, const options *o, const jx_array *key) {
    if (cnn_load(o->ckpt, &r->params, &r->stats) != 0) return -1;
    /* a new 10-class head for the new classes */
    jx_sel *head = jx_sel_pattern(r->params, "dense2");
    jx_array *hk = jx_random_fold_in_new(key, 1);
    int rc = head && hk && jx_tree_reinit(r->params, head, hk) == JX_OK ? 0 : -1;
    jx_array_release(hk);
    jx_sel_free(head);
    /* the trunk: convolutions and batch norms, which then keep their running statistics */
    jx_sel *trunk = rc ? NULL : jx_sel_kind(r->params, JX_LAYER_CONV);
    if (!trunk || jx_sel_add(trunk, r->params, "bn*") != JX_OK) rc = -1;
    jx_tree *frozen = NULL, *trainable = NULL;
    if (!rc) {
        printf("frozen trunk:\n");
        jx_sel_print(stdout, trunk, r->params);
        rc = jx_tree_partition(r->params, trunk, &frozen, &trainable) == JX_OK ? 0 : -1;
    }
    jx_sel_free(trunk);
    if (rc) return -1;
    jx_tree_free(r->params);
    r->params = trainable, r->frozen = frozen;
    r->m.frozen = 1;
    jx_seq_replace(r->m.seq, "bn1", jx_nn_seq_batch_norm_frozen(NULL));
    jx_seq_replace(r->m.seq, "bn2", jx_nn_seq_batch_norm_frozen(NULL));
    return 0;
}

static int train(const void *opts, const jx_idx_split *train_set, const jx_idx_split *test_set) {
    const options *o = opts;
    int64_t ntrain = jx_array_shape(train_set->labels)[0], ntest = jx_array_shape(test_set->labels)[0];
    if (o->t.limit > 0 && o->t.limit < ntrain) ntrain = o->t.limit;
    if (o->test_limit > 0 && o->test_limit < ntest) ntest = o->test_limit;
    ntest -= ntest % EVAL_BATCH;
    if (ntrain < o->t.batch || ntest < EVAL_BATCH || o->t.epochs > MAX_EPOCHS) {
        fprintf(stderr, "transfer: wants at least one batch of training images, %d test images and at most %d epochs\n",
                EVAL_BATCH, MAX_EPOCHS);
        return -1;
    }
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o->t.lr), 0.9, 0.999, 1e-8);
    run runs[2] = {{.m = {cnn_seq(), opt, 0}}, {.m = {cnn_seq(), opt, 0}}};
    const char *labels[2] = {"transfer (frozen trunk)", "from scratch"};
    jx_array *key = jx_random_key_new((int64_t)o->t.seed);
    int rc = -1;
    printf("%s: %lld training images, %lld test images, batch %d, %d epochs, adam lr %g\n", o->t.data,
           (long long)ntrain, (long long)ntest, o->t.batch, o->t.epochs, o->t.lr);
    for (int i = 0; i < 2; i++) {
        run *r = &runs[i];
        if (!key || !r->m.seq || cnn_init(r->m.seq, key, &r->params, &r->stats) != 0) goto done;
        if (i == 0 && prepare_transfer(r, o, key) != 0) goto done;
        if (!(r->opt = jx_optim_init(&r->m.opt, r->params))) goto done;
        printf("%s: %lld trained parameters, optimizer state of %d leaves\n", labels[i],
               (long long)jx_tree_num_params(r->params), jx_tree_num_leaves(r->opt));
        if (compile(r, o, train_set) != 0 || train_run(r, labels[i], o, train_set, test_set, ntrain, ntest) != 0)
            goto done;
    }
    printf("\n%-24s", "test accuracy");
    for (int e = 1; e <= o->t.epochs; e++) printf("  epoch %d", e);
    printf("  step time\n");
    for (int i = 0; i < 2; i++) {
        printf("%-24s", labels[i]);
        for (int e = 1; e <= o->t.epochs; e++) printf("  %6.2f%%", runs[i].acc[e]);
        printf("  %.1f ms\n", 1e3 * runs[i].step_s);
    }
    printf("frozen/full step time: %.2f\n", runs[0].step_s / runs[1].step_s);
    rc = 0;
done:
    if (rc) fprintf(stderr, "transfer: %s\n", jx_errmsg());
    for (int i = 0; i < 2; i++) run_free(&runs[i]), jx_seq_free(runs[i].m.seq);
    jx_array_release(key);
    return rc;
}

int main(int argc, char **argv) {
    options o = {.t = {.data = "/usr/share/datasets/fashion-mnist", .epochs = 3, .batch = 128, .lr = 1e-3,
                       .device = JX_DEVICE_CPU},
                 .ckpt = NULL, .test_limit = 0};
    trainer_extra extra[] = {
        {"--ckpt", "FILE", "the mnist_cnn checkpoint trained on MNIST (required)", TRAINER_STRING, 0, 0, &o.ckpt},
        {"--test-limit", "N", "score the first N test images only (default all)", TRAINER_LONG, 1, 1L << 40,
         &o.test_limit},
    };
    int r = trainer_parse("transfer",
                          "Fine-tunes mnist_cnn's MNIST checkpoint on Fashion-MNIST with a new head and a frozen\n"
                          "trunk, against the same network trained from scratch at the same budget.",
                          argc, argv, &o.t, extra, 2);
    if (r) return r == 1 ? 0 : 2;
    if (!o.ckpt) {
        fprintf(stderr, "transfer: --ckpt FILE is required (an mnist_cnn checkpoint: mnist_cnn --out DIR)\n");
        return 2;
    }
    return mnist_main("transfer", o.t.data, train, &o);
}
