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

typedef struct device_batches {
    jx_batches *it; /* borrowed */
    jx_device device;
    jx_array *next[2]; /* the prefetched batch, on the device */
    int have;          /* next holds a batch, or the epoch's end (next[0] NULL) */
} device_batches;

/* The next batch into xy[0..2) (new references; both NULL after the epoch's last): the
 * one prefetched, else the iterator's, moved to the device now. On failure xy is NULL and
 * jx_errmsg() says why (the iterator's error, or the upload's). */
jx_status device_batches_take(device_batches *db, jx_array **xy);

/* On a GPU: takes the batch after from the iterator and uploads it (asynchronously: call
 * it after queuing the step, before reading the step's results). Nothing on the CPU, or
 * when a batch is already prefetched. */
jx_status device_batches_prefetch(device_batches *db);

/* Drops a prefetched batch: at an epoch's start (jx_batches_epoch drops the iterator's
 * own) and before freeing the iterator. */
void device_batches_drop(device_batches *db);

#endif
