/* cnn_seq.c: mnist_cnn's network as a jx_seq, its initialisation and checkpoint loading
 * (cnn_seq.h). */
#include "cnn_seq.h"

#include <stdio.h>

jx_seq *cnn_seq(void) {
    const jx_nn_layer layers[] = {
        jx_nn_seq_no_bias(jx_nn_seq_conv2d("conv1", CNN_C1, 3, 3, JX_NN_PAD_SAME)),
        jx_nn_seq_batch_norm("bn1", 0.9),
        jx_nn_seq_relu(),
        jx_nn_seq_named("pool1", jx_nn_seq_max_pool(2, 2)),
        jx_nn_seq_no_bias(jx_nn_seq_conv2d("conv2", CNN_C2, 3, 3, JX_NN_PAD_SAME)),
        jx_nn_seq_batch_norm("bn2", 0.9),
        jx_nn_seq_relu(),
        jx_nn_seq_named("pool2", jx_nn_seq_max_pool(2, 2)),
        jx_nn_seq_named("flat", jx_nn_seq_flatten()),
        jx_nn_seq_dense("dense1", CNN_HIDDEN),
        jx_nn_seq_relu(),
        jx_nn_seq_dropout(0.5),
        jx_nn_seq_dense("dense2", 10),
    };
    return jx_seq_of(layers, (int)(sizeof layers / sizeof layers[0]));
}

int cnn_init(const jx_seq *seq, const jx_array *key, jx_tree **params, jx_tree **stats) {
    return jx_seq_init(seq, JX_AVAL(JX_F32, 1, CNN_SIDE, CNN_SIDE, 1), key, params, stats) == JX_OK ? 0 : -1;
}

/* One tree of the checkpoint into *t, the report printed under `name`. */
static int load_one(const char *ckpt, const char *name, jx_tree **t) {
    jx_tree *r = NULL;
    jx_load_report rep;
    if (jx_checkpoint_load_matching(ckpt, name, *t, 0, NULL, &r, &rep) != JX_OK) return -1;
    printf("%s: %s: ", ckpt, name);
    jx_load_report_print(stdout, &rep);
    jx_load_report_free(&rep);
    jx_tree_free(*t);
    *t = r;
    return 0;
}

int cnn_load(const char *ckpt, jx_tree **params, jx_tree **stats) {
    return load_one(ckpt, "params", params) || load_one(ckpt, "batch_stats", stats) ? -1 : 0;
}
