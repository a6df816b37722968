/* surgery_apply.c: layers applied from their parameter nodes, so that an adapter added
 * by surgery takes part without changing the model's code (jx_seq's dense and conv
 * layers apply through these). */
#include <string.h>

#include <jx/surgery.h>

#include "nn_util.h"
#include "surgery_internal.h"

/* The traced leaf `key` of node, or JX_NONE when node has no such child. */
static jx_val opt_val(jx_loc loc, const jx_tree *node, const char *key) {
    for (int i = 0; i < jx_tree_num_children(node); i++)
        if (jx_tree_key(node, i) && !strcmp(jx_tree_key(node, i), key)) return jx_tree_get_val_at(loc, node, key);
    return JX_NONE;
}

static const jx_tree *opt_node(const jx_tree *node, const char *key) {
    for (int i = 0; i < jx_tree_num_children(node); i++)
        if (jx_tree_key(node, i) && !strcmp(jx_tree_key(node, i), key)) return jx_tree_child(node, i);
    return NULL;
}

/* y + scale * (xa b), xa being the input through the adapter's a. */
static jx_val add_adapter(jx_loc loc, jx_val y, jx_val xa, const jx_tree *ad) {
    jx_val low = jx_nn_dense_at(loc, xa, jx_tree_get_val_at(loc, ad, "b"), JX_NONE);
    return jx_add_at(loc, y, jx_mul_at(loc, low, jx_tree_get_val_at(loc, ad, "scale")));
}

jx_val jx_nn_apply_dense_at(jx_loc loc, jx_val x, const jx_tree *node) {
    if (!node) return jx__nn_fail(loc, JX_ERR_ARG, "apply_dense", "NULL node");
    jx_val y = jx_nn_dense_at(loc, x, jx_tree_get_val_at(loc, node, "w"), opt_val(loc, node, "b"));
    const jx_tree *ad = opt_node(node, "adapter");
    if (!ad) return y;
    return add_adapter(loc, y, jx_nn_dense_at(loc, x, jx_tree_get_val_at(loc, ad, "a"), JX_NONE), ad);
}

jx_val jx_nn_apply_conv_at(jx_loc loc, jx_val x, const jx_tree *node, const jx_nn_conv2d_opts *opts) {
    if (!node) return jx__nn_fail(loc, JX_ERR_ARG, "apply_conv", "NULL node");
    jx_val y = jx_nn_conv2d_at(loc, x, jx_tree_get_val_at(loc, node, "w"), opt_val(loc, node, "b"), opts);
    const jx_tree *ad = opt_node(node, "adapter");
    if (!ad) return y;
    return add_adapter(loc, y, jx_nn_conv2d_at(loc, x, jx_tree_get_val_at(loc, ad, "a"), JX_NONE, opts), ad);
}
