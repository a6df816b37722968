/* train_loop.h: the epoch loop every trainer runs, with its checkpoints. A trainer
 * describes its state (the trees it checkpoints and the run's PRNG key) and gives three
 * callbacks: one training step on images [first, first+n), an optional start of epoch
 * (to shuffle) and the evaluation; the loop runs the steps with the progress line and
 * the loss check, scores the test set after every epoch, appends to the metrics CSV and
 * curves and writes <out>/<prog>_epoch<N>.safetensors.
 *
 * Ctrl-C (SIGINT, after train_loop_catch_sigint) ends the run at the end of the current
 * step: the state goes to <out>/<prog>_interrupted.safetensors with the step count, and
 * --resume from it continues mid-epoch, bit for bit as if never stopped (a second Ctrl-C
 * kills at once). Checkpoints record the epochs done and the steps done; a resumed run
 * skips the steps of its first epoch that were done already, so it must use the same
 * --batch and --limit as the run that wrote the file (checked).
 *
 *     train_loop L = {.prog = "mnist_cnn", .out = o->out, .epochs = o->epochs, .ntrain = n, .batch = b,
 *                     .nstate = 3, .names = names, .state = state, .key = &key, .ctx = &ctx,
 *                     .step = step, .evaluate = evaluate};
 *     if (o->resume && train_loop_resume(&L, o->resume) != 0) ...;
 *     int rc = train_loop_run(&L);    // 0, -1 error, -2 non-finite loss, TRAIN_INTERRUPTED
 *     train_loop_free(&L);
 */
#ifndef JX_EXAMPLES_TRAIN_LOOP_H
#define JX_EXAMPLES_TRAIN_LOOP_H

#include <jx/nn.h>

#include "train_log.h"

/* train_loop_run's result when Ctrl-C stopped it (and the trainers' exit status, the
 * shell's 128 + SIGINT). */
enum { TRAIN_INTERRUPTED = 130 };

typedef struct train_loop {
    const char *prog;  /* "mnist_cnn": messages and file names */
    const char *out;   /* --out DIR, or NULL: no checkpoints, CSV or curves */
    int epochs;        /* the last epoch to run */
    int64_t ntrain, batch;
    int nstate;                /* the trees checkpointed, named names[i] in the file */
    const char *const *names;
    jx_tree **state;           /* replaced by the step callback, and by a resume */
    jx_array **key;            /* the run's key (u32[2]), checkpointed */
    void *ctx;
    /* Called before the first step of every epoch (NULL: nothing), with the steps of the
     * epoch done before a resume (0 otherwise; the step callback then gets batch
     * first_batch first). 0 or -1. */
    int (*begin_epoch)(void *ctx, int epoch, int64_t first_batch);
    /* One step on training images [first, first+n) of the epoch's order; step counts the
     * steps before it. *loss: the batch's loss. 0, or -1 with jx_errmsg() set. */
    int (*step)(void *ctx, int64_t first, int64_t n, int64_t step, double *loss);
    /* The test-set accuracy in percent. 0, or -1 with jx_errmsg() set. */
    int (*evaluate)(void *ctx, double *accuracy);

    /* The loop's own state: set by train_loop_resume, advanced by train_loop_run. */
    int first_epoch;      /* 1 on a fresh run */
    int64_t first_batch;  /* steps of first_epoch done before a resume */
    int64_t nstep;        /* steps done */
    double train_s;       /* seconds spent in training steps */
    train_log log;
} train_loop;

/* Installs the SIGINT handler that train_loop_run polls after every step. */
void train_loop_catch_sigint(void);

/* Restores L->state, *L->key and the counters from a checkpoint (the trees in L->state
 * give the expected structure), and the metrics of the earlier epochs from
 * <out>/<prog>_metrics.csv. 0, or -1 with jx_errmsg() set. */
int train_loop_resume(train_loop *L, const char *file);

/* Runs epochs L->first_epoch..L->epochs, printing one line per epoch. 0 when done, -1 on
 * an error (jx_errmsg() set, or a message printed), -2 after a non-finite loss (message
 * printed), TRAIN_INTERRUPTED after Ctrl-C (the state saved under --out). */
int train_loop_run(train_loop *L);

void train_loop_free(train_loop *L);

/* A monotonic clock in seconds. */
double train_now(void);

#endif
