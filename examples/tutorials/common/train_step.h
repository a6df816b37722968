/* train_step.h: the training loop the tutorials share. A tutorial traces its step as
 * (params, optimizer state, batch) -> (params, state, {loss, ...}) with jx_tree_trace,
 * compiles it with tut_jit_step (the first two trees donated: each step updates them in
 * place), and runs it with tut_train, which asks the tutorial for each batch:
 *
 *     static int fill(jx_tree *batch, int64_t s, int64_t step, void *user) {   // step s of the epoch
 *         return jx_tree_set_array(batch, "x", ...images of batch s...) == JX_OK ? 0 : -1;
 *     }
 *     jx_exec *x = tut_jit_step(step, &o);
 *     if (tut_train(prog, "training loss", step, x, &params, &state, o.epochs, steps, fill, &data, curve)) ...
 */
#ifndef JX_TUT_TRAIN_STEP_H
#define JX_TUT_TRAIN_STEP_H

#include <jx.h>
#include <jx/optim.h>
#include <jx/tree.h>

#include "../../common/mnist_data.h"
#include "tut.h"

/* Batches of MNIST images for tut_train (or any loop): batch i is images idx[i n ..
 * (i+1) n) of split (idx NULL: in the file's order) as x, (n,784) or (n,28,28,1) when
 * nhwc; with labels, y (n) i32; with key, the run's key (u32[2]) and the step number
 * (i32), for steps that draw random numbers. */
typedef struct tut_feed {
    const idx_split *split;
    const int64_t *idx;
    int64_t n;
    int nhwc, labels;
    jx_array *key;
} tut_feed;

/* tut_batch_fn over a tut_feed (user). */
int tut_feed_fill(jx_tree *batch, int64_t i, int64_t step, void *user);

/* Opens the MNIST directory (--data, else tut_mnist_dir()) into *train and *test (free
 * them with idx_split_free), *ntrain the training images to use (--limit, if smaller)
 * and *ntest the test images to score: all of them, or 1,000 with quick, rounded down to
 * a multiple of eval_batch. Returns 0, or prints why not (mnist_load) and returns -1. */
int tut_mnist_open(const char *prog, const trainer_opts *o, int quick, int64_t eval_batch, const char **dir,
                   idx_split *train, idx_split *test, int64_t *ntrain, int64_t *ntest);

/* The core of a training step body: loss (a jx_tree_body over (params, batch) whose
 * out[0] is the loss) differentiated with respect to params, opt applied with state.
 * Sets out[0..2] to the new params, the new state and {loss}; leaves them NULL (the
 * trace's error set) on failure. */
void tut_grad_step(jx_tree **out, jx_tree *params, jx_tree *state, jx_tree *batch, jx_tree_body loss,
                   const jx_optim *opt);

/* Jits step for o->device and o->threads with its input trees 0 and 1 donated. NULL with
 * jx_errmsg() set on failure. */
jx_exec *tut_jit_step(const jx_tree_fn *step, const trainer_opts *o);

/* Fills batch (an empty dict) for step s of an epoch; step is the step counted from the
 * start of training. Returns 0, or -1 with jx_errmsg() set. */
typedef int (*tut_batch_fn)(jx_tree *batch, int64_t s, int64_t step, void *user);

/* Runs epochs x steps steps of the compiled step x, replacing *params and *state with its
 * outputs each time; prints "epoch E: mean WHAT L" after each epoch; curve (may be NULL)
 * receives every step's "loss". Returns 0, or prints "prog: a training step: ..." and
 * returns 1 (*params and *state are then the last good ones, or donated: free them). */
int tut_train(const char *prog, const char *what, const jx_tree_fn *step, jx_exec *x, jx_tree **params,
              jx_tree **state, int epochs, int64_t steps, tut_batch_fn fill, void *user, double *curve);

#endif
