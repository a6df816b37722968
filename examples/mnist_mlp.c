/* mnist_mlp.c: JAX's tutorial "Training a simple neural network, with tensorflow
 * datasets" in C with jx and its nn layer. An MLP 784-512-512-10 with relu, its
 * parameters a tree {dense1, dense2, dense3}.{w, b} drawn from N(0, 0.01^2) with jx's
 * PRNG, minibatch Adam (lr 0.001, cosine decay to lr/100 over the run: 98% on MNIST in
 * 10 epochs where the tutorial's plain SGD gets 97.35%), or --optim sgd (the tutorial's)
 * or momentum, Optax's rules, on the mean cross-entropy (log_softmax). One traced step over trees, (params, optimizer state,
 * batch) -> (params, state, loss), takes the gradient as a tree with
 * jx_tree_value_and_grad and applies jx_optim_update; it is compiled once with jx_jit
 * (params and state donated, so they are updated in place) and run per batch; a jitted
 * accuracy function scores the test set after every epoch. Each epoch visits the
 * training images in its own order, drawn from the --seed's key and the epoch (jx_batches,
 * the order of jax.random.permutation), gathered on a background thread. Under --out DIR (default
 * runs/mnist_mlp; --out none saves nothing) a safetensors checkpoint is written after every epoch, with the metrics CSV and the loss and accuracy
 * curves as PNG (mnist_mlp_{metrics.csv,loss.png,accuracy.png}); --resume FILE continues
 * from one, bit for bit as if never stopped; Ctrl-C saves the state at the end of the
 * step (common/train_loop.h). A non-finite loss stops the run with an error naming the step.
 * One difference from the tutorial: pixels are scaled to [0, 1] (the tutorial feeds
 * 0-255), so SGD's default step size is 0.1 rather than its 0.01 (which learns slowly on
 * scaled inputs: 70% on Fashion-MNIST after 5 epochs against 85%).
 *
 *   usage: mnist_mlp [--data DIR] [--epochs N] [--batch N] [--lr X] [--init X] [--limit N]
 *                    [--test-limit N] [--threads N] [--seed N] [--device cpu|interp|cuda]
 *                    [--optim adam|sgd|momentum] [--schedule cosine|constant]
 *                    [--out DIR] [--resume FILE]
 *
 * Reads Fashion-MNIST from /usr/share/datasets/fashion-mnist by default; MNIST itself
 * has the same files (--data path/to/mnist). */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <jx/nn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/device_batches.h"
#include "common/mnist_data.h"
#include "common/train_loop.h"
#include "common/trainer_opts.h"

enum { PIXELS = 784, HIDDEN = 512, CLASSES = 10 };
static const int64_t layer_sizes[4] = {PIXELS, HIDDEN, HIDDEN, CLASSES};

typedef struct options {
    const char *data;
    int epochs, batch, threads;
    long limit, test_limit; /* 0: every image */
    double lr, init; /* SGD step size; standard deviation of the initial parameters */
    uint64_t seed;
    jx_device device;
    const char *out, *resume; /* --out DIR: a checkpoint per epoch; --resume FILE */
    const char *optim;        /* sgd, momentum or adam */
    const char *schedule;     /* cosine or constant */
} options;

/* ------------------------------------------------------------------ the model */

/* The parameters: a tree {dense1, dense2, dense3} of {w (in,out), b (out)}. */
static const char *const layer_names[3] = {"dense1", "dense2", "dense3"};

/* params: the tree above (traced); x (B,784). Returns the log-probabilities (B,10). */
static jx_val predict(const jx_tree *params, jx_val x) {
    jx_val h = x;
    for (int l = 0; l < 3; l++) {
        const jx_tree *d = jx_tree_get(params, layer_names[l]);
        h = jx_add(jx_matmul(h, jx_tree_get_val(d, "w")), jx_tree_get_val(d, "b"));
        if (l < 2) h = jx_relu(h);
    }
    return jx_log_softmax(h, -1);
}

/* in[0]: params; in[1]: batch {x (B,784), y (B,10) one-hot}. out[0]: the mean
 * cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logp = predict(in[0], jx_tree_get_val(in[1], "x"));
    jx_val y = jx_tree_get_val(in[1], "y");
    out[0] = jx_tree_val(jx_neg(jx_mean(jx_sum(jx_mul(logp, y), JX_INTS(1)), JX_NOINTS)));
}

/* in: params, optimizer state, batch. out: new params, new state, {loss}. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_tree *args[2] = {in[0], in[2]}, *loss[1], *grads;
    if (jx_tree_value_and_grad(loss_body, NULL, 2, args, 0, 1, loss, &grads) != JX_OK) return;
    jx_optim_update(opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = jx_tree_dict();
    jx_tree_set(out[2], "loss", loss[0]);
    jx_tree_free(grads);
}

/* in: params, {x (N,784), y (N) i32}. out: {accuracy}, the fraction predicted right. */
static void accuracy_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val guess = jx_argmax(predict(in[0], jx_tree_get_val(in[1], "x")), 1, JX_I32);
    jx_val right = jx_convert(jx_eq(guess, jx_tree_get_val(in[1], "y")), JX_F32);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "accuracy", jx_mean(right, JX_NOINTS));
}

/* A batch tree of abstract values {x (n,784) f32, y (n,10) f32 or (n) i32}. */
static jx_tree *batch_avals(int64_t n, int onehot) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set(b, "x", jx_tree_aval(JX_AVAL(JX_F32, n, PIXELS)));
    jx_tree_set(b, "y", jx_tree_aval(onehot ? JX_AVAL(JX_F32, n, CLASSES) : JX_AVAL(JX_I32, n)));
    return b;
}

/* Traces and compiles the training step for batches of `batch`, donating the params and
 * the optimizer state (updated in place). *fn receives the traced step. */
static jx_exec *compile_step(const options *o, const jx_optim *opt, const jx_tree *params, const jx_tree *state,
                             int64_t batch, jx_tree_fn **fn) {
    jx_tree *b = batch_avals(batch, 1);
    jx_tree *in[3] = {(jx_tree *)params, (jx_tree *)state, b};
    *fn = jx_tree_trace("train_step", step_body, (void *)opt, 3, in, 3);
    jx_tree_free(b);
    if (!*fn) return NULL;
    int nd = jx_tree_fn_input_offset(*fn, 2);
    int64_t *donate = malloc((size_t)nd * sizeof *donate);
    if (!donate) return NULL;
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts opts = {o->threads, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    jx_exec *x = jx_jit(jx_tree_fn_fn(*fn), o->device, &opts);
    free(donate);
    return x;
}

static jx_exec *compile_accuracy(const options *o, const jx_tree *params, int64_t n, jx_tree_fn **fn) {
    jx_tree *b = batch_avals(n, 0);
    jx_tree *in[2] = {(jx_tree *)params, b};
    *fn = jx_tree_trace("accuracy", accuracy_body, NULL, 2, in, 1);
    jx_tree_free(b);
    jx_jit_opts opts = {o->threads, JX_NOINTS, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    return *fn ? jx_jit(jx_tree_fn_fn(*fn), o->device, &opts) : NULL;
}

/* ------------------------------------------------------------------ data and parameters */

/* The tutorial's init: every weight and bias ~ scale * N(0, 1), each leaf from its own
 * key folded from the seed's. NULL with jx_errmsg() set on failure. */
static jx_tree *init_params(double scale, const jx_array *key) {
    jx_tree *p = jx_tree_dict();
    jx_init init = jx_init_normal(scale);
    for (int l = 0; l < 3; l++) {
        char path[32];
        for (int k = 0; k < 2; k++) {
            jx_array *lk = jx_random_fold_in_new(key, (uint32_t)(2 * l + k));
            jx_ints shape = k ? JX_INTS(layer_sizes[l + 1]) : JX_INTS(layer_sizes[l], layer_sizes[l + 1]);
            jx_array *a = lk ? jx_init_new(&init, lk, JX_F32, shape) : NULL;
            jx_array_release(lk);
            snprintf(path, sizeof path, "%s.%s", layer_names[l], k ? "b" : "w");
            if (!a || jx_tree_set_array(p, path, a) != JX_OK) {
                jx_tree_free(p);
                return NULL;
            }
        }
    }
    return p;
}

/* ------------------------------------------------------------------ training */

/* A run: the state between steps (params and optimizer state, trees of arrays), the
 * compiled steps for full batches and for the last, smaller one, and the scoring. */
typedef struct mlp_run {
    jx_tree *state[2];
    jx_tree_fn *step_fn[2], *acc_fn;
    jx_exec *step[2], *acc;
    int64_t batch;
    jx_batches *batches; /* x (n,784) f32, y (n,10) one-hot, prefetched */
    device_batches db;   /* them on the trainer's device, the next one uploaded early */
    jx_tree *test;
} mlp_run;

/* train_loop's start of an epoch (at batch first_batch when resumed): the epoch's order. */
static int begin_epoch(void *ctx, int epoch, int64_t first_batch) {
    mlp_run *r = ctx;
    device_batches_drop(&r->db);
    return jx_batches_epoch(r->batches, (uint32_t)epoch, first_batch) == JX_OK ? 0 : -1;
}

/* train_loop's step on the next batch of n images; params and state are donated and
 * replaced by the new ones. 0, or -1 with jx_errmsg() set. */
static int train_batch(void *ctx, int64_t first, int64_t n, int64_t step, double *loss) {
    mlp_run *r = ctx;
    (void)first; /* the iterator knows where the epoch is */
    int k = n != r->batch;
    jx_tree *b = jx_tree_dict(), *out[3];
    jx_array *xy[2];
    jx_status st = device_batches_take(&r->db, step, xy);
    if (st == JX_OK && !xy[0]) st = jx_error_at(JX_HERE, JX_ERR_INTERNAL, "mnist_mlp", "the epoch ended early");
    int ok = st == JX_OK && jx_tree_set_array(b, "x", xy[0]) == JX_OK; /* takes xy[0] over */
    ok = ok ? jx_tree_set_array(b, "y", xy[1]) == JX_OK : (jx_array_release(xy[1]), 0);
    if (!ok) {
        jx_tree_free(b);
        return -1;
    }
    jx_tree *in[3] = {r->state[0], r->state[1], b};
    st = jx_tree_fn_run(r->step_fn[k], r->step[k], 3, in, 3, out);
    jx_tree_free(b);
    if (st != JX_OK) return -1;
    jx_tree_free(r->state[0]), jx_tree_free(r->state[1]); /* donated: their contents are gone anyway */
    r->state[0] = out[0], r->state[1] = out[1];
    /* --device cuda: the next batch goes up while this step runs, before its loss is read */
    st = device_batches_prefetch(&r->db, step + 1);
    *loss = jx_array_get(jx_tree_get_array(out[2], "loss"), 0);
    jx_tree_free(out[2]);
    return st == JX_OK ? 0 : -1;
}

/* train_loop's evaluation: the percentage of test images classified right. */
static int test_accuracy(void *ctx, double *accuracy) {
    mlp_run *r = ctx;
    jx_tree *in[2] = {r->state[0], r->test}, *out = NULL;
    if (jx_tree_fn_run(r->acc_fn, r->acc, 2, in, 1, &out) != JX_OK) return -1;
    *accuracy = 100.0 * jx_array_get(jx_tree_get_array(out, "accuracy"), 0);
    jx_tree_free(out);
    return 0;
}

static const char *const ckpt_names[2] = {"params", "opt"};

/* The optimizer of --optim with the learning rate of --schedule over `steps` steps. */
static jx_optim make_optim(const options *o, int64_t steps) {
    jx_schedule lr = !strcmp(o->schedule, "constant") ? jx_schedule_constant(o->lr)
                                                       : jx_schedule_warmup_cosine_decay(o->lr, o->lr, 0, steps, o->lr / 100);
    if (!strcmp(o->optim, "momentum")) return jx_optim_sgd(lr, 0.9, 0);
    if (!strcmp(o->optim, "adam")) return jx_optim_adam(lr, 0.9, 0.999, 1e-8);
    return jx_optim_sgd(lr, 0, 0);
}

/* Trains for o->epochs epochs, printing progress and one line per epoch. 0, -1, or
 * TRAIN_INTERRUPTED after Ctrl-C. */
static int train(const void *opts, const jx_idx_split *train_set, const jx_idx_split *test_set) {
    const options *o = opts;
    int64_t ntrain = jx_array_shape(train_set->labels)[0];
    int64_t ntest = jx_array_shape(test_set->labels)[0];
    if (o->limit > 0 && o->limit < ntrain) ntrain = o->limit;
    if (o->test_limit > 0 && o->test_limit < ntest) ntest = o->test_limit;
    int64_t batch = o->batch < ntrain ? o->batch : ntrain, tail = ntrain % batch;

    jx_optim opt = make_optim(o, (int64_t)o->epochs * ((ntrain + batch - 1) / batch));
    mlp_run r = {.batch = batch, .test = jx_tree_dict()};
    int rc = -1;
    double t0 = train_now();
    jx_array *key = jx_random_key_new((int64_t)o->seed);
    train_loop L = {.prog = "mnist_mlp", .out = o->out, .epochs = o->epochs, .ntrain = ntrain, .batch = batch,
                    .nstate = 2, .names = ckpt_names, .state = r.state, .key = &key, .ctx = &r,
                    .begin_epoch = begin_epoch, .step = train_batch, .evaluate = test_accuracy};
    if (!key || !r.test ||
        jx_tree_set_array(r.test, "x", mnist_images(test_set->images, NULL, 0, ntest, JX_INTS(ntest, PIXELS))) != JX_OK ||
        jx_tree_set_array(r.test, "y", mnist_labels(test_set->labels, NULL, 0, ntest, 0)) != JX_OK)
        goto done;
    if (!(r.state[0] = init_params(o->init, key)) || !(r.state[1] = jx_optim_init(&opt, r.state[0]))) goto done;
    if (o->resume && train_loop_resume(&L, o->resume) != 0) goto done;
    /* after a resume: the order comes from the run's key */
    if (mnist_batches_new(train_set, ntrain, batch, key, JX_INTS(PIXELS), 1, 0, 0, &r.batches) != JX_OK) goto done;
    r.db = (device_batches){.it = r.batches, .device = o->device};
    /* --device cuda: parameters and optimizer state live in GPU memory from here on */
    if (trainer_tree_to(&r.state[0], o->device) || trainer_tree_to(&r.state[1], o->device)) goto done;
    r.step[0] = compile_step(o, &opt, r.state[0], r.state[1], batch, &r.step_fn[0]);
    r.step[1] = r.step[0] && tail ? compile_step(o, &opt, r.state[0], r.state[1], tail, &r.step_fn[1]) : NULL;
    r.acc = r.step[0] && (r.step[1] || !tail) ? compile_accuracy(o, r.state[0], ntest, &r.acc_fn) : NULL;
    if (!r.acc) goto done;
    printf("%s: %lld training images, %lld test images, batch %lld, %s, step size %g (%s)\n", o->data,
           (long long)ntrain, (long long)ntest, (long long)batch, o->optim, o->lr, o->schedule);
    trainer_report_compile(train_now() - t0, o->device);
    rc = train_loop_run(&L);
    if (rc == 0 && o->out && o->epochs >= L.first_epoch)
        printf("wrote %s/mnist_mlp_%s\n", o->out, jx_plot_available() ? "{metrics.csv,loss.png,accuracy.png}" : "metrics.csv");
done:
    if (rc == -1) fprintf(stderr, "mnist_mlp: %s\n", jx_errmsg());
    jx_tree_free(r.test);
    train_loop_free(&L);
    jx_exec_release(r.acc), jx_exec_release(r.step[1]), jx_exec_release(r.step[0]);
    jx_tree_fn_free(r.acc_fn), jx_tree_fn_free(r.step_fn[1]), jx_tree_fn_free(r.step_fn[0]);
    jx_tree_free(r.state[0]), jx_tree_free(r.state[1]);
    jx_array_release(key);
    device_batches_drop(&r.db);
    jx_batches_free(r.batches);
    return rc == TRAIN_INTERRUPTED ? rc : rc ? -1 : 0;
}

/* ------------------------------------------------------------------ options */

/* Fills o from argv with the options every trainer shares (examples/common) and this
 * one's --init and --test-limit; returns 0 to run, 1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, options *o) {
    trainer_opts t = {.data = "/usr/share/datasets/fashion-mnist", .epochs = 10, .batch = 128, .lr = -1,
                      .device = JX_DEVICE_CPU, .checkpoints = 1, .out = TRAINER_OUT("mnist_mlp")};
    double init = 0.01;
    long test_limit = 0;
    const char *optim = "adam", *schedule = "cosine";
    trainer_extra extra[] = {
        {"--init", "X", "initial parameters ~ X * N(0, 1) (default 0.01)", TRAINER_POSITIVE, 0, 0, &init},
        {"--test-limit", "N", "score the first N test images only (default all)", TRAINER_LONG, 1, 1L << 40,
         &test_limit},
        {"--optim", "NAME", "adam (default; 0.9, 0.999), sgd (the tutorial's) or momentum (0.9)", TRAINER_STRING, 0,
         0, &optim},
        {"--schedule", "NAME", "cosine (default: decay to lr/100 over the run) or constant", TRAINER_STRING, 0, 0,
         &schedule},
    };
    int r = trainer_parse("mnist_mlp",
                          "Trains an MLP 784-512-512-10 on (Fashion-)MNIST with minibatches, jitted by jx.\n"
                          "--lr defaults to 0.001 for adam, 0.1 for sgd and momentum.\n"
                          "Epoch times count training only, not the test-set evaluation.",
                          argc, argv, &t, extra, 4);
    if (!r && strcmp(optim, "sgd") && strcmp(optim, "momentum") && strcmp(optim, "adam")) {
        fprintf(stderr, "mnist_mlp: --optim is sgd, momentum or adam, not '%s'\n", optim);
        r = 2;
    }
    if (!r && strcmp(schedule, "cosine") && strcmp(schedule, "constant")) {
        fprintf(stderr, "mnist_mlp: --schedule is cosine or constant, not '%s'\n", schedule);
        r = 2;
    }
    if (t.lr < 0) t.lr = strcmp(optim, "adam") ? 0.1 : 0.001;
    *o = (options){.data = t.data, .epochs = t.epochs, .batch = t.batch, .threads = t.threads, .limit = t.limit,
                   .test_limit = test_limit, .lr = t.lr, .init = init, .seed = t.seed, .device = t.device,
                   .out = t.out, .resume = t.resume, .optim = optim, .schedule = schedule};
    return r;
}

int main(int argc, char **argv) {
    options o;
    int r = parse_args(argc, argv, &o);
    train_loop_catch_sigint();
    return r ? (r == 1 ? 0 : 2) : mnist_main("mnist_mlp", o.data, train, &o);
}
