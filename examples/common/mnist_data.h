/* mnist_data.h: the (Fashion-)MNIST loading and batching the MNIST trainers share:
 * both splits from a directory with a hint when they are missing, batches of images (as
 * f32 in [0, 1]) and labels picked by an index list, and the shuffled training batches
 * (jx_batches) in the order a trainer's key decides. */
#ifndef JX_EXAMPLES_MNIST_DATA_H
#define JX_EXAMPLES_MNIST_DATA_H

#include <jx.h>
#include <stdint.h>

#include <jx/batches.h>
#include <jx/idx.h>
#include <jx/random.h>

enum { MNIST_PIXELS = 784, MNIST_CLASSES = 10 };

/* Loads both splits of dir, checking the images are 28x28 (at least one). On failure
 * prints "prog: ..." with a hint (install Fashion-MNIST, or --data DIR) and returns -1. */
int mnist_load(const char *prog, const char *dir, jx_idx_split *train, jx_idx_split *test);

/* Images idx[0..n) (idx NULL: first, first+1, ...) of a u8 (N,28,28) array as a new f32
 * array of the given shape (n*784 elements: (n,784) or (n,28,28,1)) scaled to [0, 1]. */
jx_array *mnist_images(const jx_array *images, const int64_t *idx, int64_t first, int64_t n, jx_ints shape);

/* Labels picked the same way: one-hot f32 (n,10), or i32 (n) when !onehot. */
jx_array *mnist_labels(const jx_array *labels, const int64_t *idx, int64_t first, int64_t n, int onehot);

/* The training batches of a trainer: the first ntrain images of train as f32 in [0, 1],
 * each row of shape `row` ((784) or (28,28,1)), and their labels (i32 (n), or one-hot f32
 * (n,10) when onehot), batches of `batch` (the last one smaller), prefetched on a thread.
 * Every epoch has its own order, drawn from a key split off the run's key (u32[2]), so a
 * run resumed from a checkpoint repeats it and the stream the trainer folds its steps
 * into is not reused. Shard `shard` of `shards` (0: one) of every batch (mpirun). *out:
 * a new iterator (jx_batches_free), NULL with jx_errmsg() set on failure. */
jx_status mnist_batches_new(const jx_idx_split *train, int64_t ntrain, int64_t batch, const jx_array *key, jx_ints row,
                            int onehot, int shards, int shard, jx_batches **out);

/* Augmentation on the host: moves each image of x (n,28,28) or (n,28,28,1) f32, in place,
 * by its own offset dy, dx in [-max_shift, max_shift] (zeros shifted in), the offset of
 * image i drawn from a counter-based generator keyed by `seed` and first_row + i (the
 * row's place in the whole batch when x is one process's shard), so the same seed gives
 * the same offsets and a resumed run repeats them. max_shift 0: nothing. */
void mnist_shift_images(jx_array *x, int max_shift, uint64_t seed, int64_t first_row);

/* A trainer's main after its options: loads dir's splits (mnist_load), runs
 * train(opts, train, test) (0, -1 having printed its error, or 130 when Ctrl-C stopped
 * it) and frees them. Returns the exit status: 0, 130 after Ctrl-C, or 1 when loading or
 * training failed. */
int mnist_main(const char *prog, const char *dir,
               int (*train)(const void *opts, const jx_idx_split *train, const jx_idx_split *test), const void *opts);

/* Class names for plots: Fashion-MNIST's when dir names it ("fashion"), else NULL
 * (the digits). */
const char *const *mnist_class_names(const char *dir);

#endif
