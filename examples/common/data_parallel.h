/* data_parallel.h: data parallelism for the trainers over N CPU devices with jx_pmap
 * (docs/pmap.md): the global batch is split into N equal shards, each device runs the
 * trainer's own step on its shard, and inside the step the gradients and the loss are
 * averaged over the devices with pmean before the update, so every device ends the step
 * with the same parameters. The step's layers that look across the batch take dp_axis:
 * batch norm computes the global batch's statistics (jx_nn_batch_norm_train_axis) and
 * dropout draws the device's rows of the global batch's mask (jx_nn_dropout_axis), so
 * the step computes what the single-device step computes on the whole batch, to f32
 * rounding (docs/pmap.md). */
#ifndef JX_EXAMPLES_DATA_PARALLEL_H
#define JX_EXAMPLES_DATA_PARALLEL_H

#include <jx/nn.h>

/* The axis name the step's pmean uses: "batch" while a data-parallel step is traced,
 * NULL otherwise (a single-device step averages nothing). */
extern const char *dp_axis;

/* Replaces each of the n trees t[0..n) of traced values (NULL ones skipped) by its mean
 * over the devices, in one collective per dtype: the leaves are flattened into one
 * vector (a bucket, as PyTorch DDP's), so a step averages its gradients, loss and
 * statistics with one all-reduce instead of one per leaf. Nothing without dp_axis. */
void dp_mean_trees(int n, jx_tree **t);

/* Traces the data-parallel step: body (the trainer's step) over in[0..nin), whose last
 * tree is the batch: its leaves other than "key" have the global batch first and are
 * split into ndev shards; the other trees (and the key) go whole to every device. The
 * step body runs once per device and its outputs come back from device 0. NULL with
 * jx_errmsg() on failure. */
jx_tree_fn *dp_trace_step(const char *name, jx_tree_body body, void *user, int nin, jx_tree *const *in, int nout,
                          int ndev);

#endif
