/* cnn_seq.h: mnist_cnn's network held as a jx_seq (jx/surgery.h), for the examples that
 * cut, freeze and inspect it (transfer, neurons): the same layer names and parameter
 * shapes as mnist_cnn, so its checkpoints load into it. */
#ifndef JX_EXAMPLES_CNN_SEQ_H
#define JX_EXAMPLES_CNN_SEQ_H

#include <jx/nn.h>

enum { CNN_SIDE = 28, CNN_C1 = 32, CNN_C2 = 64, CNN_HIDDEN = 128, CNN_FLAT = 7 * 7 * CNN_C2 };

/* conv1 bn1 relu1 pool1 conv2 bn2 relu2 pool2 flat dense1 relu3 dense2 (mnist_cnn's
 * network without its dropout); NULL when out of memory. */
jx_seq *cnn_seq(void);

/* Fresh parameters and batch-norm statistics with mnist_cnn's names and shapes, drawn
 * with Flax's defaults by jx_tree_reinit. 0, or -1 with jx_errmsg() set. */
int cnn_init(const jx_array *key, jx_tree **params, jx_tree **stats);

/* Replaces *params and *stats by what fits of an mnist_cnn checkpoint (its "params" and
 * "batch_stats"), printing the load report. 0, or -1 with jx_errmsg() set. */
int cnn_load(const char *ckpt, jx_tree **params, jx_tree **stats);

#endif
