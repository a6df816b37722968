/* cnn_seq.h: mnist_cnn's network as a jx_seq (jx/sequential.h), shared by the trainer
 * (mnist_cnn) and the examples that cut, freeze and inspect it (transfer, neurons), so
 * that a checkpoint of one loads into the others. */
#ifndef JX_EXAMPLES_CNN_SEQ_H
#define JX_EXAMPLES_CNN_SEQ_H

#include <jx/nn.h>

enum { CNN_SIDE = 28, CNN_C1 = 32, CNN_C2 = 64, CNN_HIDDEN = 128, CNN_FLAT = 7 * 7 * CNN_C2 };

/* conv1 bn1 relu1 pool1 conv2 bn2 relu2 pool2 flat dense1 relu3 dropout dense2: Flax's
 * MNIST example with batch norm (momentum 0.9, eps 1e-5; the convolutions have no bias)
 * and dropout 0.5, which acts only when jx_seq_apply is given a key. The running
 * statistics follow 0.9 old + 0.1 batch (PyTorch's default) rather than Flax's 0.99, so
 * that they catch up within a short run's few dozen steps. NULL when out of memory. */
jx_seq *cnn_seq(void);

/* Fresh parameters and batch-norm statistics of cnn_seq() (jx_seq_init on a 28x28x1
 * input). 0, or -1 with jx_errmsg() set. */
int cnn_init(const jx_seq *seq, const jx_array *key, jx_tree **params, jx_tree **stats);

/* Replaces *params and *stats by what fits of an mnist_cnn checkpoint (its "params" and
 * "batch_stats"), printing the load report. 0, or -1 with jx_errmsg() set. */
int cnn_load(const char *ckpt, jx_tree **params, jx_tree **stats);

#endif
