/* cnn_seq.c: mnist_cnn's network as a jx_seq, its initialisation and checkpoint loading
 * (cnn_seq.h). */
#include "cnn_seq.h"

#include <stdio.h>

jx_seq *cnn_seq(void) {
    static const struct {
        const char *name;
        jx_seq_op op;
    } layers[] = {{"conv1", JX_SEQ_CONV},     {"bn1", JX_SEQ_BN},         {"relu1", JX_SEQ_RELU},
                  {"pool1", JX_SEQ_MAXPOOL2}, {"conv2", JX_SEQ_CONV},     {"bn2", JX_SEQ_BN},
                  {"relu2", JX_SEQ_RELU},     {"pool2", JX_SEQ_MAXPOOL2}, {"flat", JX_SEQ_FLATTEN},
                  {"dense1", JX_SEQ_DENSE},   {"relu3", JX_SEQ_RELU},     {"dense2", JX_SEQ_DENSE}};
    jx_seq *s = jx_seq_new();
    for (size_t i = 0; s && i < sizeof layers / sizeof layers[0]; i++)
        if (jx_seq_add(s, layers[i].name, layers[i].op) != JX_OK) {
            jx_seq_free(s);
            return NULL;
        }
    return s;
}

int cnn_init(const jx_array *key, jx_tree **params, jx_tree **stats) {
    static const struct {
        const char *path;
        int rank;
        int64_t shape[4];
    } leaves[] = {{"conv1.w", 4, {3, 3, 1, CNN_C1}},
                  {"bn1.scale", 1, {CNN_C1}},
                  {"bn1.bias", 1, {CNN_C1}},
                  {"conv2.w", 4, {3, 3, CNN_C1, CNN_C2}},
                  {"bn2.scale", 1, {CNN_C2}},
                  {"bn2.bias", 1, {CNN_C2}},
                  {"dense1.w", 2, {CNN_FLAT, CNN_HIDDEN}},
                  {"dense1.b", 1, {CNN_HIDDEN}},
                  {"dense2.w", 2, {CNN_HIDDEN, 10}},
                  {"dense2.b", 1, {10}}};
    *params = jx_tree_dict(), *stats = jx_tree_dict();
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
        if (jx_tree_set_array(*params, leaves[i].path,
                              jx_array_zeros(JX_F32, (jx_ints){leaves[i].shape, leaves[i].rank})) != JX_OK)
            return -1;
    if (jx_tree_set_array(*stats, "bn1.mean", jx_array_zeros(JX_F32, JX_INTS(CNN_C1))) != JX_OK ||
        jx_tree_set_array(*stats, "bn1.var", jx_array_zeros(JX_F32, JX_INTS(CNN_C1))) != JX_OK ||
        jx_tree_set_array(*stats, "bn2.mean", jx_array_zeros(JX_F32, JX_INTS(CNN_C2))) != JX_OK ||
        jx_tree_set_array(*stats, "bn2.var", jx_array_zeros(JX_F32, JX_INTS(CNN_C2))) != JX_OK)
        return -1;
    jx_sel *all = jx_sel_pattern(*params, "**"), *st = jx_sel_pattern(*stats, "**");
    int ok = all && st && jx_tree_reinit(*params, all, key) == JX_OK &&
             jx_tree_reinit(*stats, st, key) == JX_OK; /* mean 0, var 1 */
    jx_sel_free(all), jx_sel_free(st);
    return ok ? 0 : -1;
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
