/* mnist_feed.h: what the MNIST tutorials share on top of tut.h: their data (the MNIST
 * files opened with the run's options) and the batches of images that tut_train feeds to
 * their steps:
 *
 *     tut_feed tf = {&train, NULL, o.batch, 0, 1, NULL};        // x and y, in file order
 *     jx_exec *x = tut_jit(step, &o, 2);                          // params, state donated
 *     tut_loop l = {"training loss", o.epochs, steps, tut_feed_batch, &tf, curve, NULL};
 *     if (tut_train(prog, step, x, &params, &state, &l)) ...
 */
#ifndef JX_TUT_MNIST_FEED_H
#define JX_TUT_MNIST_FEED_H

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
    const jx_idx_split *split;
    const int64_t *idx;
    int64_t n;
    int nhwc, labels;
    jx_array *key;
} tut_feed;

/* A tut_batch_fn over a tut_feed (user). */
jx_tree *tut_feed_batch(int64_t i, int64_t step, void *user);

/* Opens the MNIST directory (--data, else tut_mnist_dir()) into *train and *test (free
 * them with jx_idx_split_free), *ntrain the training images to use (--limit, if smaller)
 * and *ntest the test images to score: all of them, or 1,000 with quick, rounded down to
 * a multiple of eval_batch. Returns 0, or prints why not (mnist_load) and returns -1. */
int tut_mnist_open(const char *prog, const trainer_opts *o, int quick, int64_t eval_batch, const char **dir,
                   jx_idx_split *train, jx_idx_split *test, int64_t *ntrain, int64_t *ntest);

#endif
