/* jx/surgery.h: selecting, freezing, replacing and retraining parts of a model, the way
 * Penzai's selectors and Flax's param partitioning do it, on jx's trees of parameters.
 *
 *     // the convolutional trunk of a CNN: every leaf under a node whose path matches
 *     jx_sel *trunk = jx_sel_pattern(params, "conv*");
 *     jx_sel_add(trunk, params, "bn*");
 *     jx_sel_print(stdout, trunk, params);          // paths, shapes, parameter counts
 *     jx_tree *frozen, *trainable;
 *     jx_tree_partition(params, trunk, &frozen, &trainable);
 *     jx_tree *opt_state = jx_optim_init(&opt, trainable);    // no state for the trunk
 *     // inside the step: the gradient with respect to `trainable` only; the loss body
 *     // still sees the whole tree (trainable and frozen merged)
 *     jx_tree_value_and_grad_frozen(loss, NULL, 2, args, 0, frozen_vals, 1, vals, &grads);
 *
 * A frozen leaf is an ordinary input of the traced step that no gradient is asked for,
 * so reverse mode never builds its cotangent: the step's IR has no equations for it,
 * the optimizer state has no leaves for it, and it comes out of training bit for bit
 * as it went in (it is not even an output).
 *
 * Selections name leaves by path. A pattern (jx_path_match's globs: "*" one key, "**"
 * any run of keys) selects a leaf when it matches the leaf's path or the path of a node
 * above it, so "encoder.*.conv*" selects every leaf of each conv layer of each block.
 * Layer kinds are read from a node's leaves (jx_layer_kind_of).
 *
 * Surgery: jx_tree_replace swaps a sub-tree (a new classifier head), jx_tree_insert_after
 * adds one at a place in a dict, jx_tree_add_adapter puts a low-rank adapter beside a
 * dense or conv layer (jx_nn_apply_dense/conv use it), jx_tree_reinit redraws a
 * selection, and jx_checkpoint_load_matching loads what fits of a checkpoint into a
 * tree that differs from the saved one, naming each missing, extra and mis-shaped tensor.
 * To change the computation itself (insert a layer, freeze a batch norm, cut a model),
 * hold the model as a jx_seq (jx/sequential.h): jx_seq_insert, jx_seq_replace and
 * jx_seq_slice edit it as data; jx/taps.h captures and patches its activations.
 *
 * Ownership as in jx/tree.h: functions returning a new jx_sel or jx_tree hand it to the
 * caller (jx_sel_free, jx_tree_free); trees given "into" a tree are taken over. */
#ifndef JX_SURGERY_H
#define JX_SURGERY_H

#include <jx.h>
#include <jx/checkpoint.h>
#include <jx/layers.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ layer kinds */

typedef enum jx_layer_kind {
    JX_LAYER_NONE,      /* not a layer: a leaf, or a node with sub-trees */
    JX_LAYER_DENSE,     /* w rank 2 (b optional) */
    JX_LAYER_CONV,      /* w rank 4, HWIO (b optional) */
    JX_LAYER_NORM,      /* scale and/or bias rank 1, or mean and var (batch-norm statistics) */
    JX_LAYER_EMBED,     /* table rank 2 */
    JX_LAYER_RECURRENT, /* wi and wh */
    JX_LAYER_ATTENTION, /* wq, wk, wv, wo */
    JX_LAYER_ADAPTER,   /* a and b rank 2 (or a rank 4 and b rank 2): a low-rank adapter */
    JX_LAYER_OTHER      /* a node of leaves only, none of the above */
} jx_layer_kind;

/* The kind of a node, read from the names and ranks of its direct leaves (a dense or
 * conv node may also hold an "adapter" sub-tree). */
jx_layer_kind jx_layer_kind_of(const jx_tree *node);
/* "dense", "conv", ... ("-" for NONE). */
const char *jx_layer_kind_name(jx_layer_kind k);

/* ------------------------------------------------------------------ selections */

/* A set of leaf paths of a tree, in the tree's flatten order. */
typedef struct jx_sel jx_sel;

/* Leaves whose path, or the path of a node above them, matches pattern. An empty
 * selection (not NULL) when nothing matches; NULL only when out of memory. */
jx_sel *jx_sel_pattern(const jx_tree *t, const char *pattern);
/* Leaves of the layers of kind `kind` (every leaf below each such node). */
jx_sel *jx_sel_kind(const jx_tree *t, jx_layer_kind kind);
/* Leaves for which pred(path, aval, user) is non-zero. */
typedef int (*jx_sel_pred)(const char *path, jx_aval aval, void *user);
jx_sel *jx_sel_where(const jx_tree *t, jx_sel_pred pred, void *user);
/* The leaves of t not in s. */
jx_sel *jx_sel_invert(const jx_sel *s, const jx_tree *t);
/* Adds to s the leaves of t that match pattern (as jx_select). JX_OK or JX_ERR_NOMEM. */
jx_status jx_sel_add(jx_sel *s, const jx_tree *t, const char *pattern);
void jx_sel_free(jx_sel *s);

int jx_sel_count(const jx_sel *s);                   /* leaves selected */
const char *jx_sel_path(const jx_sel *s, int i);     /* the i-th path (borrowed); NULL out of range */
int jx_sel_has(const jx_sel *s, const char *path);   /* 1 when path is selected */
/* Prints the selection as one line per leaf (path, aval, parameter count) and a total
 * "selected: N of M leaves, P of Q parameters". */
jx_status jx_sel_print(FILE *out, const jx_sel *s, const jx_tree *t);

/* Prints t as an indented tree of nodes, each with its layer kind and parameter count
 * (treescope's view), leaves with their avals:
 *     conv1  conv  288
 *       w  f32[3,3,1,32]  288
 *     total  5 leaves  1,234 parameters */
jx_status jx_tree_print_model(FILE *out, const jx_tree *t);

/* ------------------------------------------------------------------ freezing */

/* Splits t into the selected leaves (*selected) and the rest (*rest), each keeping the
 * paths and the dict/list skeleton (a list element with nothing left stays as an empty
 * dict so indices hold). Array leaves are shared (retained). Either output may be NULL
 * when not wanted. JX_OK, or an error with the outputs NULL. */
jx_status jx_tree_partition_at(jx_loc loc, const jx_tree *t, const jx_sel *s, jx_tree **selected, jx_tree **rest);
#define jx_tree_partition(...) jx_tree_partition_at(JX_HERE, __VA_ARGS__)
/* The union of a and b (any leaf kinds, copied; arrays retained): dict keys in a's order
 * then b's new ones, lists merged element by element. A leaf present in both is an
 * error naming its path. NULL on error. */
jx_tree *jx_tree_merge_at(jx_loc loc, const jx_tree *a, const jx_tree *b);
#define jx_tree_merge(...) jx_tree_merge_at(JX_HERE, __VA_ARGS__)

/* jx_tree_value_and_grad for a model with frozen parameters, inside a body: body sees
 * in[argnum] merged with `frozen` (a tree of traced values, e.g. a step's input), but
 * only the leaves of in[argnum] (the trainable ones) are differentiated; *grad has
 * in[argnum]'s structure. The frozen leaves get no cotangent equations at all. */
jx_status jx_tree_value_and_grad_frozen_at(jx_loc loc, jx_tree_body body, void *user, int nin,
                                           jx_tree *const *in, int argnum, const jx_tree *frozen,
                                           int nout, jx_tree **out, jx_tree **grad);
#define jx_tree_value_and_grad_frozen(...) jx_tree_value_and_grad_frozen_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ editing */

/* Replaces the existing sub-tree at path by sub (taken over): unlike jx_tree_set, a
 * missing path is an error ("replace: no 'head' in path 'head'"), so a typo cannot
 * add a layer beside the one meant. */
jx_status jx_tree_replace_at(jx_loc loc, jx_tree *t, const char *path, jx_tree *sub);
#define jx_tree_replace(...) jx_tree_replace_at(JX_HERE, __VA_ARGS__)
/* Inserts sub (taken over) under key `key` in the dict holding the node at `after`,
 * right after that node ("dense1" then "extra"): order matters to printing. An existing key is an error. */
jx_status jx_tree_insert_after_at(jx_loc loc, jx_tree *t, const char *after, const char *key, jx_tree *sub);
#define jx_tree_insert_after(...) jx_tree_insert_after_at(JX_HERE, __VA_ARGS__)

/* Adds a low-rank adapter (LoRA) of rank r beside the dense or conv layer at path: the
 * sub-tree path.adapter = {a, b, scale} with a (I,r) (conv: (KH,KW,C,r)) drawn
 * lecun-normal from key, b (r,O) zeros and scale alpha/r (f32[] or the layer's dtype),
 * so the adapted layer first computes exactly what it did. jx_nn_apply_dense/conv then
 * add scale * (x a) b to the layer's output. Select "**.adapter" to train only the
 * adapters. */
jx_status jx_tree_add_adapter_at(jx_loc loc, jx_tree *t, const char *path, int64_t r, double alpha,
                                 const jx_array *key);
#define jx_tree_add_adapter(...) jx_tree_add_adapter_at(JX_HERE, __VA_ARGS__)

/* Redraws the selected array leaves in place with the defaults Flax's layers use, by
 * leaf name: b, bias, mean and adapter b zeros; scale and var ones; every other leaf of
 * rank >= 2 lecun-normal (and rank < 2 zeros). Leaf i of the selection draws from
 * fold_in(key, i). */
jx_status jx_tree_reinit_at(jx_loc loc, jx_tree *t, const jx_sel *s, const jx_array *key);
#define jx_tree_reinit(...) jx_tree_reinit_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ applying layers */

/* A dense layer from its node {w, b?, adapter?}: x w + b (+ scale (x a) b). */
jx_val jx_nn_apply_dense_at(jx_loc loc, jx_val x, const jx_tree *node);
#define jx_nn_apply_dense(...) jx_nn_apply_dense_at(JX_HERE, __VA_ARGS__)
/* A conv layer from its node {w, b?, adapter?}: conv2d(x, w, b) (+ scale 1x1(conv(x, a), b)). */
jx_val jx_nn_apply_conv_at(jx_loc loc, jx_val x, const jx_tree *node, const jx_nn_conv2d_opts *opts);
#define jx_nn_apply_conv(...) jx_nn_apply_conv_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ loading what fits */

/* What jx_checkpoint_load_matching found: the paths (within the tree) of each kind. */
typedef struct jx_load_report {
    int nloaded, nmissing, nextra, nmisshaped;
    char **loaded;    /* in the tree and in the file with the same dtype and shape */
    char **missing;   /* in the tree, not in the file: kept from like */
    char **extra;     /* in the file (under the tree's name), not in the tree: ignored */
    char **misshaped; /* in both, dtype or shape differ: kept from like; the text says both */
} jx_load_report;
void jx_load_report_free(jx_load_report *r);
/* Prints "loaded N, missing N, extra N, mis-shaped N" and one line per name not loaded. */
void jx_load_report_print(FILE *out, const jx_load_report *r);

/* Loads the tensors saved under `name` in the checkpoint at path into a copy of like (a
 * tree of host arrays: the defaults for what does not match). rename (may be NULL)
 * holds nrename pairs {from, to}: a file path starting with the key prefix `from` is
 * read as if it started with `to` ("dense2" -> "head"). *out gets the new tree and
 * *report (may be NULL) the matches. An unreadable file is an error; mismatches are not. */
jx_status jx_checkpoint_load_matching(const char *path, const char *name, const jx_tree *like,
                                      int nrename, const char *const (*rename)[2], jx_tree **out,
                                      jx_load_report *report);

#ifdef __cplusplus
}
#endif
#endif /* JX_SURGERY_H */
