/* device_batches.h: a trainer's batches of two fields (x, y from jx_batches) on the
 * device it trains on. With --device cuda the batch after the current one is uploaded
 * while the step on the current one runs: take the batch, queue the step on it,
 * prefetch, then read the step's loss (the read waits for the GPU; the upload, queued
 * before it, overlapped the step). Batches already on the device also let the step run
 * as a CUDA graph (docs/cuda.md). On the CPU, batches are handed out as the iterator
 * gives them and prefetch does nothing (jx_batches already prepares them on a thread). */
#ifndef JX_EXAMPLES_DEVICE_BATCHES_H
#define JX_EXAMPLES_DEVICE_BATCHES_H

#include <jx.h>
#include <jx/batches.h>

/* What a trainer does to a batch on the host before it goes to the device (mnist_cnn's
 * --shift): changes xy[0..2) in place for training step `step`; 0, or -1 with jx_errmsg()
 * set. */
typedef int (*device_batches_prepare)(void *ctx, jx_array **xy, int64_t step);

typedef struct device_batches {
    jx_batches *it; /* borrowed */
    jx_device device;
    device_batches_prepare prepare; /* NULL: none */
    void *ctx;                      /* prepare's */
    jx_array *next[2];              /* the prefetched batch, on the device */
    int64_t next_step;              /* the step it was prepared for */
    int have;                       /* next holds a batch, or the epoch's end (next[0] NULL) */
} device_batches;

/* The batch of training step `step` into xy[0..2) (new references; both NULL after the
 * epoch's last): the one prefetched for that step, else the iterator's next, prepared and
 * moved to the device now. On failure xy is NULL and jx_errmsg() says why (the iterator's
 * error, prepare's, or the upload's). */
jx_status device_batches_take(device_batches *db, int64_t step, jx_array **xy);

/* On a GPU: takes the batch of step `step` (the one after the current) from the iterator,
 * prepares it and uploads it (asynchronously: call it after queuing the current step,
 * before reading its results). Nothing on the CPU, or when a batch is already
 * prefetched. */
jx_status device_batches_prefetch(device_batches *db, int64_t step);

/* Drops a prefetched batch: at an epoch's start (jx_batches_epoch drops the iterator's
 * own) and before freeing the iterator. */
void device_batches_drop(device_batches *db);

#endif
