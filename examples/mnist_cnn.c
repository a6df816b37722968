/* mnist_cnn.c: a convolutional network for MNIST and Fashion-MNIST with jx's nn layer,
 * the model of Flax's MNIST example with batch norm and dropout, in NHWC, held as a
 * jx_seq (common/cnn_seq.c, which transfer and neurons share):
 *   conv3x3(32) - batchnorm - relu - maxpool2, conv3x3(64) - batchnorm - relu - maxpool2,
 *   dense(128) - relu - dropout(0.5) - dense(10).
 * Trained with Adam on the mean softmax cross-entropy, the learning rate following a
 * cosine decay over the whole run (--schedule constant to keep it fixed). Parameters
 * and the batch-norm running statistics are separate trees (Flax's params and
 * batch_stats): one traced step (params, optimizer state, batch_stats, batch) ->
 * (params, state, batch_stats, {loss}) takes the gradient with jx_tree_value_and_grad,
 * applies jx_optim_update and returns the updated running statistics; it is jitted once
 * with the three state trees donated. Dropout draws from a key folded from the run's key
 * and the step number, and each epoch visits the images in an order drawn from the run's
 * key and the epoch, so that a run resumed from a checkpoint (--resume) continues bit for
 * bit; --shift N moves each training image by up to N pixels each way on the host, the
 * offsets also drawn from the run's key and the step. The test set is scored after every epoch by a jitted eval step that normalises
 * with the running statistics; at the end the per-class precision, recall and F1 and the
 * confusion matrix are printed. Under --out DIR (default runs/mnist_cnn; --out none
 * saves nothing): a checkpoint per epoch (params,
 * optimizer state, batch_stats, PRNG key, step), the metrics CSV, the loss and accuracy
 * curves and the confusion matrix as PNG; Ctrl-C saves the state at the end of the step
 * and --resume continues from it (common/train_loop.h).
 *
 *   usage: mnist_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--limit N]
 *                    [--test-limit N] [--threads N] [--seed N] [--device cpu|interp|cuda]
 *                    [--schedule cosine|constant] [--out DIR] [--resume FILE] [--devices N]
 *                    [--shift N]
 *
 * Reads Fashion-MNIST from /usr/share/datasets/fashion-mnist by default; MNIST itself
 * has the same files (--data path/to/mnist). */
#define _POSIX_C_SOURCE 200809L
#include <jx/nn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cnn_seq.h"
#include "common/data_parallel.h"
#include "common/device_batches.h"
#include "common/mnist_data.h"
#include "common/train_loop.h"
#include "common/trainer_opts.h"

enum { SIDE = CNN_SIDE, EVAL_BATCH = 500 };

typedef struct options {
    const char *data;
    int epochs, batch, threads, devices, shift;
    long limit, test_limit; /* 0: every image */
    double lr;
    uint64_t seed;
    jx_device device;
    const char *out, *resume, *schedule;
} options;

/* ------------------------------------------------------------------ the model */

/* The network (common/cnn_seq.c), built once by train() before anything is traced. */
static jx_seq *net;

/* x (B,28,28,1) -> logits (B,10). params: conv1.w, bn1.{scale,bias}, conv2.w,
 * bn2.{scale,bias}, dense1.{w,b}, dense2.{w,b}; stats: bn1 and bn2 {mean, var}.
 * Training (new_stats not NULL): batch statistics, whose running averages go into
 * new_stats, and dropout with key; under --devices both span the global batch (dp_axis).
 * Evaluation: the running statistics, no dropout. */
static jx_val forward(const jx_tree *p, const jx_tree *stats, jx_val x, jx_val key, jx_tree *new_stats) {
    /* --devices: batch norm over the global batch, dropout this device's rows of its mask */
    jx_seq_ctx c = {.stats = stats, .new_stats = new_stats, .key = key, .axis_name = dp_axis};
    return jx_seq_apply(net, p, x, &c);
}

/* in: params, batch_stats, batch {x, y (B) i32, key}. out[0]: the mean cross-entropy;
 * out[1]: the new batch_stats (auxiliary, not differentiated). */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_tree *ns = jx_tree_dict();
    jx_val logits = forward(in[0], in[1], jx_tree_get_val(in[2], "x"), jx_tree_get_val(in[2], "key"), ns);
    jx_val y = jx_tree_get_val(in[2], "y");
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, y, JX_LOSS_NO_IGNORE));
    out[1] = ns;
}

/* in: params, optimizer state, batch_stats, batch. out: the new three, {loss}. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_tree *args[3] = {in[0], in[2], in[3]}, *vals[2], *grads;
    if (jx_tree_value_and_grad(loss_body, NULL, 3, args, 0, 2, vals, &grads) != JX_OK) return;
    jx_tree *avg[3] = {grads, vals[0], vals[1]};
    dp_mean_trees(3, avg); /* --devices: over the devices, one all-reduce */
    grads = avg[0], vals[0] = avg[1], vals[1] = avg[2];
    jx_optim_update(opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = vals[1];
    out[3] = jx_tree_dict();
    jx_tree_set(out[3], "loss", vals[0]);
    jx_tree_free(grads);
}

/* in: params, batch_stats, {x}. out: {logits}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", forward(in[0], in[1], jx_tree_get_val(in[2], "x"), JX_NONE, NULL));
}

/* A batch of abstract values: {x (n,28,28,1) f32} and, for training, y (n) i32 and key. */
static jx_tree *batch_avals(int64_t n, int train) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set(b, "x", jx_tree_aval(JX_AVAL(JX_F32, n, SIDE, SIDE, 1)));
    if (train) {
        jx_tree_set(b, "y", jx_tree_aval(JX_AVAL(JX_I32, n)));
        jx_tree_set(b, "key", jx_tree_aval(JX_AVAL(JX_U32, 2)));
    }
    return b;
}

/* A traced body jitted for one batch size. */
typedef struct compiled {
    int64_t n;
    jx_tree_fn *fn;
    jx_exec *exec;
} compiled;

/* Traces body over (params, [opt,] stats, batch of n) and jits it; with `train` the
 * step, whose first three trees are donated (updated in place). 0, or -1 with jx_errmsg(). */
static int compile(compiled *c, const options *o, const jx_optim *opt, jx_tree *const *state, int64_t n, int train) {
    int nproc = train ? jx_process_count() : 1; /* under mpirun each process steps on its share */
    if (n % nproc) return jx_error_at(JX_HERE, JX_ERR_SHAPE, "mnist_cnn", "a batch of %lld does not split into %d processes",
                                      (long long)n, nproc), -1;
    jx_tree *b = batch_avals(n / nproc, train);
    jx_tree *in[4] = {state[0], train ? state[1] : state[2], train ? state[2] : b, b};
    c->n = n;
    c->fn = train && (o->devices > 1 || nproc > 1) ? dp_trace_step("train_step", step_body, (void *)opt, 4, in, 4, o->devices)
            : train                 ? jx_tree_trace("train_step", step_body, (void *)opt, 4, in, 4)
                                    : jx_tree_trace("eval_step", eval_body, NULL, 3, in, 1);
    jx_tree_free(b);
    if (!c->fn) return -1;
    int nd = train ? jx_tree_fn_input_offset(c->fn, 3) : 0;
    int64_t *donate = malloc((size_t)(nd + 1) * sizeof *donate);
    if (!donate) return -1;
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts opts = {o->threads, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    c->exec = jx_jit(jx_tree_fn_fn(c->fn), o->device, &opts);
    free(donate);
    return c->exec ? 0 : -1;
}

static void compiled_free(compiled *c) {
    jx_exec_release(c->exec);
    jx_tree_fn_free(c->fn);
    *c = (compiled){0};
}

/* ------------------------------------------------------------------ parameters */

/* ------------------------------------------------------------------ training */

/* params, optimizer state, batch_stats: trees of host arrays, replaced after each step. */
enum { NSTATE = 3 };
static const char *const ckpt_names[NSTATE] = {"params", "opt", "batch_stats"};

/* A run: the state trees, the compiled steps and evaluations (full and last, smaller
 * batches), the training batches, the data and the metrics of the last evaluation. */
typedef struct cnn_run {
    jx_tree *state[NSTATE];
    compiled step[2], ev[2];
    jx_batches *batches; /* this process's share of each batch (mpirun), prefetched */
    device_batches db;   /* them shifted and on the trainer's device, the next one uploaded early */
    int64_t ntrain, ntest;
    int shift; /* --shift */
    jx_device device; /* --device: where the state lives and each batch is moved to */
    jx_array *key;
    const jx_idx_split *train, *test;
    jx_metrics m;
} cnn_run;

/* train_loop's start of an epoch (at batch first_batch when resumed): the epoch's order. */
static int begin_epoch(void *ctx, int epoch, int64_t first_batch) {
    cnn_run *r = ctx;
    device_batches_drop(&r->db);
    return jx_batches_epoch(r->batches, (uint32_t)epoch, first_batch) == JX_OK ? 0 : -1;
}

/* device_batches' preparation of the batch of a step: --shift moves each image by its
 * own offset, drawn from the run's key and the step. */
static int shift_batch(void *ctx, jx_array **xy, int64_t step) {
    const cnn_run *r = ctx;
    const uint32_t *k = jx_array_data(r->key);
    mnist_shift_images(xy[0], r->shift, ((uint64_t)k[0] << 32 | k[1]) ^ (uint64_t)step * 0x9e3779b97f4a7c15u,
                       jx_process_index() * jx_array_shape(xy[0])[0]);
    return 0;
}

/* The training batches: images (n,28,28,1) and labels i32 (n), the first ntrain images
 * in an order drawn from the run's key (common/mnist_data.h); under mpirun each process
 * takes its shard of every batch. */
static jx_status make_batches(cnn_run *r, int64_t batch) {
    return mnist_batches_new(r->train, r->ntrain, batch, r->key, JX_INTS(SIDE, SIDE, 1), 0, jx_process_count(),
                             jx_process_index(), &r->batches);
}

/* train_loop's step on the next batch (n images over all processes); the state is
 * donated and replaced; *loss gets the batch loss. 0, or -1 with jx_errmsg() set. */
static int train_batch(void *ctx, int64_t first, int64_t n, int64_t step, double *loss) {
    (void)first; /* the iterator knows where the epoch is */
    cnn_run *r = ctx;
    const compiled *c = n == r->step[0].n ? &r->step[0] : &r->step[1];
    jx_tree *b = jx_tree_dict(), *out[4];
    jx_array *xy[2];
    jx_status st = device_batches_take(&r->db, step, xy);
    if (st == JX_OK && !xy[0]) st = jx_error_at(JX_HERE, JX_ERR_INTERNAL, "mnist_cnn", "the epoch ended early");
    int ok = st == JX_OK && jx_tree_set_array(b, "x", xy[0]) == JX_OK; /* takes xy[0] over */
    ok = ok ? jx_tree_set_array(b, "y", xy[1]) == JX_OK : (jx_array_release(xy[1]), 0);
    /* on a GPU the batch is already there (and the key goes up without waiting for the
     * device): with every input there the step runs as one CUDA graph */
    if (!ok || jx_tree_set_array(b, "key", jx_random_fold_in_new(r->key, (uint32_t)step)) != JX_OK ||
        trainer_tree_to(&b, r->device) != 0) {
        jx_tree_free(b);
        return -1;
    }
    jx_tree *in[4] = {r->state[0], r->state[1], r->state[2], b};
    st = jx_tree_fn_run(c->fn, c->exec, 4, in, 4, out);
    jx_tree_free(b);
    if (st != JX_OK) return -1;
    for (int i = 0; i < NSTATE; i++) jx_tree_free(r->state[i]), r->state[i] = out[i]; /* donated: their contents are gone */
    /* --device cuda: the next batch goes up while this step runs, before its loss is read */
    st = device_batches_prefetch(&r->db, step + 1);
    *loss = jx_array_get(jx_tree_get_array(out[3], "loss"), 0);
    jx_tree_free(out[3]);
    return st == JX_OK ? 0 : -1;
}

/* train_loop's evaluation: scores the first ntest test images into r->m (reset first)
 * in batches; *accuracy in percent. 0 or -1. */
static int evaluate(void *ctx, double *accuracy) {
    cnn_run *r = ctx;
    const compiled *ev = r->ev;
    jx_tree *const *state = r->state;
    const jx_idx_split *test = r->test;
    int64_t ntest = r->ntest;
    jx_metrics *m = &r->m;
    jx_metrics_reset(m);
    for (int64_t first = 0; first < ntest; first += ev[0].n) {
        int64_t n = ntest - first < ev[0].n ? ntest - first : ev[0].n;
        const compiled *c = n == ev[0].n ? &ev[0] : &ev[1];
        jx_tree *b = jx_tree_dict(), *out = NULL;
        jx_array *labels = mnist_labels(test->labels, NULL, first, n, 0);
        int ok = labels && jx_tree_set_array(b, "x", mnist_images(test->images, NULL, first, n,
                                                                  JX_INTS(n, SIDE, SIDE, 1))) == JX_OK;
        ok = ok && trainer_tree_to(&b, r->device) == 0; /* on a GPU: the step as a CUDA graph */
        jx_tree *in[3] = {state[0], state[2], b};
        ok = ok && jx_tree_fn_run(c->fn, c->exec, 3, in, 1, &out) == JX_OK &&
             jx_metrics_update_logits(m, jx_tree_get_array(out, "logits"), labels, 0) == JX_OK;
        jx_tree_free(b), jx_tree_free(out), jx_array_release(labels);
        if (!ok) return -1;
    }
    *accuracy = 100.0 * jx_metrics_accuracy(m);
    return 0;
}

/* The final report: the per-class table and the confusion matrix, and its PNG under --out. */
static int report(const options *o, const jx_metrics *m) {
    printf("\nper-class metrics on the test set:\n");
    jx_metrics_print(stdout, m);
    printf("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
    for (int j = 0; j < MNIST_CLASSES; j++) printf("%6d", j);
    for (int i = 0; i < MNIST_CLASSES; i++) {
        printf("\n%4d ", i);
        for (int j = 0; j < MNIST_CLASSES; j++) printf("%6lld", (long long)m->confusion[i * MNIST_CLASSES + j]);
    }
    printf("\n");
    if (!o->out || !jx_plot_available()) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/mnist_cnn_confusion.png", o->out);
    if (jx_plot_confusion(path, "mnist_cnn: test set", MNIST_CLASSES, m->confusion, mnist_class_names(o->data), 0) !=
        JX_OK)
        return -1;
    printf("wrote %s/mnist_cnn_{metrics.csv,loss.png,accuracy.png,confusion.png}\n", o->out);
    return 0;
}

/* Trains for o->epochs epochs, printing progress and one line per epoch. 0, -1, or
 * TRAIN_INTERRUPTED after Ctrl-C. */
static int train(const void *opts, const jx_idx_split *train_set, const jx_idx_split *test_set) {
    const options *o = opts;
    cnn_run r = {.train = train_set, .test = test_set, .shift = o->shift, .device = o->device};
    r.ntrain = jx_array_shape(train_set->labels)[0], r.ntest = jx_array_shape(test_set->labels)[0];
    if (o->limit > 0 && o->limit < r.ntrain) r.ntrain = o->limit;
    if (o->test_limit > 0 && o->test_limit < r.ntest) r.ntest = o->test_limit;
    int64_t ntrain = r.ntrain, ntest = r.ntest;
    int64_t batch = o->batch < ntrain ? o->batch : ntrain, nbatches = (ntrain + batch - 1) / batch;
    int64_t ebatch = ntest < EVAL_BATCH ? ntest : EVAL_BATCH;

    jx_schedule lr = !strcmp(o->schedule, "constant")
                         ? jx_schedule_constant(o->lr)
                         : jx_schedule_warmup_cosine_decay(o->lr, o->lr, 0, (int64_t)o->epochs * nbatches, o->lr / 100);
    jx_optim opt = jx_optim_adam(lr, 0.9, 0.999, 1e-8);
    int rc = -1, have_metrics = 0;
    double t0 = train_now();
    r.key = jx_random_key_new((int64_t)o->seed);
    train_loop L = {.prog = "mnist_cnn", .out = o->out, .epochs = o->epochs, .ntrain = ntrain, .batch = batch,
                    .nstate = NSTATE, .names = ckpt_names, .state = r.state, .key = &r.key, .ctx = &r,
                    .begin_epoch = begin_epoch, .step = train_batch, .evaluate = evaluate};
    if (!r.key || jx_metrics_init(&r.m, MNIST_CLASSES, JX_METRICS_NO_IGNORE) != JX_OK) goto done;
    have_metrics = 1;
    if (!(net = cnn_seq()) || cnn_init(net, r.key, &r.state[0], &r.state[2]) != 0 || !(r.state[1] = jx_optim_init(&opt, r.state[0])))
        goto done;
    if (o->resume && train_loop_resume(&L, o->resume) != 0) goto done;
    if (make_batches(&r, batch) != JX_OK) goto done; /* after a resume: the order comes from the run's key */
    r.db = (device_batches){.it = r.batches, .device = o->device, .prepare = shift_batch, .ctx = &r};
    /* --device cuda: the state lives in GPU memory from here on */
    for (int i = 0; i < NSTATE; i++)
        if (trainer_tree_to(&r.state[i], o->device)) goto done;
    if (compile(&r.step[0], o, &opt, r.state, batch, 1) ||
        (ntrain % batch && compile(&r.step[1], o, &opt, r.state, ntrain % batch, 1)) ||
        compile(&r.ev[0], o, NULL, r.state, ebatch, 0) || (ntest % ebatch && compile(&r.ev[1], o, NULL, r.state, ntest % ebatch, 0)))
        goto done;
    printf("%s: %lld training images, %lld test images, batch %lld, adam, learning rate %g (%s), %lld parameters\n",
           o->data, (long long)ntrain, (long long)ntest, (long long)batch, o->lr, o->schedule,
           (long long)jx_tree_num_params(r.state[0]));
    trainer_report_compile(train_now() - t0, o->device);
    rc = train_loop_run(&L);
    if (rc == 0 && o->epochs >= L.first_epoch && report(o, &r.m) != 0) rc = -1;
done:
    if (rc == -1) fprintf(stderr, "mnist_cnn: %s\n", jx_errmsg());
    for (int i = 0; i < 2; i++) compiled_free(&r.step[i]), compiled_free(&r.ev[i]);
    for (int i = 0; i < NSTATE; i++) jx_tree_free(r.state[i]);
    if (have_metrics) jx_metrics_free(&r.m);
    train_loop_free(&L);
    jx_array_release(r.key);
    jx_seq_free(net), net = NULL;
    device_batches_drop(&r.db);
    jx_batches_free(r.batches);
    return rc == TRAIN_INTERRUPTED ? rc : rc ? -1 : 0;
}

/* ------------------------------------------------------------------ options */

static int parse_args(int argc, char **argv, options *o) {
    trainer_opts t = {.data = "/usr/share/datasets/fashion-mnist", .epochs = 10, .batch = 128, .lr = 1e-3,
                      .device = JX_DEVICE_CPU, .checkpoints = 1, .out = TRAINER_OUT("mnist_cnn")};
    long test_limit = 0, devices = 1, shift = 0;
    const char *schedule = "cosine";
    trainer_extra extra[] = {
        {"--test-limit", "N", "score the first N test images only (default all)", TRAINER_LONG, 1, 1L << 40,
         &test_limit},
        {"--schedule", "NAME", "cosine (default: decay to lr/100 over the run) or constant", TRAINER_STRING, 0, 0,
         &schedule},
        {"--devices", "N", "data parallel over N CPU devices (pmap; the batch split N ways)", TRAINER_LONG, 1, 64,
         &devices},
        {"--shift", "N", "augment: move each training image by up to N pixels each way (default 0)", TRAINER_LONG, 0,
         8, &shift},
    };
    int r = trainer_parse("mnist_cnn",
                          "Trains a CNN (two conv-batchnorm-relu-maxpool blocks, dense 128, dropout, dense 10)\n"
                          "on (Fashion-)MNIST with Adam, jitted by jx. Epoch times count training only.",
                          argc, argv, &t, extra, 4);
    if (!r && strcmp(schedule, "cosine") && strcmp(schedule, "constant")) {
        fprintf(stderr, "mnist_cnn: --schedule is cosine or constant, not '%s'\n", schedule);
        r = 2;
    }
    *o = (options){.data = t.data, .epochs = t.epochs, .batch = t.batch, .threads = t.threads, .limit = t.limit,
                   .test_limit = test_limit, .lr = t.lr, .seed = t.seed, .device = t.device, .out = t.out,
                   .resume = t.resume, .schedule = schedule, .devices = (int)devices, .shift = (int)shift};
    if (!r && devices > 1 && jx_set_cpu_device_count((int)devices) != JX_OK) {
        fprintf(stderr, "mnist_cnn: %s\n", jx_errmsg());
        r = 2;
    }
    return r;
}

int main(int argc, char **argv) {
    options o;
    if (jx_distributed_init() != JX_OK) { /* under mpirun: one process per rank, data parallel */
        fprintf(stderr, "mnist_cnn: %s\n", jx_errmsg());
        return 1;
    }
    if (jx_process_index() > 0 && !freopen("/dev/null", "w", stdout)) return 1; /* rank 0 reports */
    int r = parse_args(argc, argv, &o);
    if (jx_process_index() > 0) o.out = NULL; /* rank 0 writes --out; the others would race it for the same files */
    train_loop_catch_sigint();
    r = r ? (r == 1 ? 0 : 2) : mnist_main("mnist_cnn", o.data, train, &o);
    jx_distributed_shutdown();
    return r;
}
