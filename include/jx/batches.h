/* jx/batches.h: a batch iterator over host arrays held in memory (MNIST's images and
 * labels, say): an epoch's order drawn with jx's PRNG, batches gathered and converted on
 * a background thread while the caller trains on the one before, and a shard of each batch
 * for data parallelism.
 *
 *     jx_batch_field f[2] = {
 *         {images, JX_BATCH_U8_UNIT, JX_INTS(28, 28, 1), 0},  // u8 (N,28,28) -> f32 / 255
 *         {labels, JX_BATCH_I32, JX_NOINTS, 0},               // u8 (N) -> i32 (n)
 *     };
 *     jx_batches_opts o = {.batch = 128, .shuffle = 1, .seed = 0, .prefetch = 2};
 *     jx_batches *it;
 *     if (jx_batches_new(f, 2, n, &o, &it) != JX_OK) { fprintf(stderr, "%s\n", jx_errmsg()); ... }
 *     for (int epoch = 1; epoch <= 10; epoch++) {
 *         jx_batches_epoch(it, epoch, 0);
 *         jx_array *b[2];
 *         while (jx_batches_next(it, b) == JX_OK && b[0]) {
 *             ... train on b[0] (f32[128,28,28,1]) and b[1] (i32[128]) ...
 *             jx_array_release(b[0]), jx_array_release(b[1]);
 *         }
 *     }
 *     jx_batches_free(it);
 *
 * The order of epoch e is jax.random.permutation(jax.random.fold_in(key, e), n) with key
 * = jax.random.PRNGKey(seed) (under jax_enable_x64 for seeds of 2^32 and above: the key
 * is (seed >> 32, seed & 0xffffffff)), bit for bit; without shuffle it is 0..n-1. It
 * depends on (seed, epoch) only, so jx_batches_epoch(it, e, k) of a resumed run hands out
 * batch k onwards exactly as the uninterrupted run did.
 *
 * Errors: every function that can fail returns a jx_status with jx_errmsg() naming
 * "batches_new" (or _epoch, _next), the field and the shape; nothing aborts. */
#ifndef JX_BATCHES_H
#define JX_BATCHES_H

#include <stdint.h>

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jx_batches jx_batches;

/* What a field's rows become in a batch. */
typedef enum jx_batch_kind {
    JX_BATCH_COPY,    /* the same dtype, copied */
    JX_BATCH_U8_F32,  /* u8 to f32, the values kept (0..255) */
    JX_BATCH_U8_UNIT, /* u8 to f32 divided by 255 (in [0, 1]) */
    JX_BATCH_I32,     /* u8, i32, u32 or i64 to i32 (values checked to fit) */
    JX_BATCH_ONEHOT,  /* an integer class per row to f32 one-hot rows of `classes` */
} jx_batch_kind;

typedef struct jx_batch_field {
    const jx_array *data; /* (nrows, ...) on the host; borrowed, must outlive the iterator */
    jx_batch_kind kind;
    /* One row's shape in the batch (copied): a batch of n is (n, row_shape...). Its size
     * must be the source row's size. JX_NOINTS: the source row's own shape (ONEHOT:
     * (classes)). */
    jx_ints row_shape;
    int classes; /* ONEHOT: the class count (>= 1); a row outside 0..classes-1 is an error */
} jx_batch_field;

typedef struct jx_batches_opts {
    int64_t batch;  /* rows per batch (global, over all shards), >= 1 */
    int shuffle;    /* a new order every epoch; else rows in order */
    uint64_t seed;  /* with the epoch, decides the order */
    /* The rows to use (copied): subset[0..nsubset) indexes 0..nrows-1. subset NULL with
     * nsubset > 0: the first nsubset rows (a --limit); nsubset 0: every row. */
    const int64_t *subset;
    int64_t nsubset;
    int prefetch;   /* batches prepared ahead on a background thread (0..64); 0: in next */
    /* Data parallelism: shard `shard` of `shards` (0: one) gets rows
     * [shard * m, (shard + 1) * m) of each batch of r rows, m = floor(r / shards); a last
     * batch with m = 0 is dropped. */
    int shards, shard;
} jx_batches_opts;

/* A new iterator over nfields fields of nrows rows each. JX_ERR_ARG (or JX_ERR_SHAPE,
 * JX_ERR_DTYPE) naming the field for a field that does not have nrows rows, a kind its
 * dtype cannot take, a row_shape of another size; bad options are named too. *out is NULL
 * on failure; free with jx_batches_free. */
jx_status jx_batches_new(const jx_batch_field *fields, int nfields, int64_t nrows, const jx_batches_opts *opts,
                         jx_batches **out);

/* Batches per epoch (of this shard). */
int64_t jx_batches_count(const jx_batches *it);
/* Rows per epoch (of this shard: the sum of its batches' sizes). */
int64_t jx_batches_samples(const jx_batches *it);

/* Starts epoch `epoch` at batch first_batch (0, or where a resumed run left off; at most
 * jx_batches_count). Batches of an earlier epoch not taken are dropped. JX_ERR_ARG for a
 * first_batch out of range; the PRNG's errors otherwise. */
jx_status jx_batches_epoch(jx_batches *it, uint32_t epoch, int64_t first_batch);

/* The next batch: out[0..nfields) get new host arrays (release each), or all NULL after
 * the epoch's last batch. On failure (a ONEHOT class out of range, out of memory, next
 * before jx_batches_epoch) out is all NULL, jx_errmsg() says why, and the next call goes
 * on with the batch after. */
jx_status jx_batches_next(jx_batches *it, jx_array **out);

/* The current epoch's order: *n rows (all shards'), entries are row indices into the
 * fields. Borrowed until the next jx_batches_epoch or jx_batches_free; NULL before the
 * first epoch. */
const uint32_t *jx_batches_order(const jx_batches *it, int64_t *n);

/* Stops the background thread and frees the iterator (not the fields' arrays). NULL is
 * fine. */
void jx_batches_free(jx_batches *it);

#ifdef __cplusplus
}
#endif

#endif
