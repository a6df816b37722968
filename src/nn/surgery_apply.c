/* surgery_apply.c: layers applied from their parameter nodes (so that an adapter added
 * by surgery takes part without changing the model's code), and jx_seq, a sequential
 * model held as a list of named layers that surgery can insert into. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include <jx/surgery.h>
#include <jx/taps.h>

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

/* ------------------------------------------------------------------ jx_seq */

typedef struct seq_layer {
    char *name;
    jx_seq_op op;
} seq_layer;

struct jx_seq {
    int n, cap;
    seq_layer *l;
};

jx_seq *jx_seq_new(void) { return calloc(1, sizeof(jx_seq)); }

void jx_seq_free(jx_seq *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->l[i].name);
    free(s->l);
    free(s);
}

int jx_seq_count(const jx_seq *s) { return s ? s->n : 0; }
const char *jx_seq_name(const jx_seq *s, int i) { return s && i >= 0 && i < s->n ? s->l[i].name : NULL; }
int jx_seq_find(const jx_seq *s, const char *name) {
    for (int i = 0; s && name && i < s->n; i++)
        if (!strcmp(s->l[i].name, name)) return i;
    return -1;
}

jx_status jx_seq_insert(jx_seq *s, int index, const char *name, jx_seq_op op) {
    if (!s || !name || !name[0] || index < 0 || index > s->n || (unsigned)op > JX_SEQ_FLATTEN)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_insert", "bad layer '%s' at %d of %d", name ? name : "(null)",
                           index, s ? s->n : 0);
    if (jx_seq_find(s, name) >= 0)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_insert", "the model already has a layer '%s'", name);
    if (s->n == s->cap) {
        int nc = s->cap ? 2 * s->cap : 8;
        seq_layer *nl = realloc(s->l, (size_t)nc * sizeof *nl);
        if (!nl) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_insert", "out of memory");
        s->l = nl, s->cap = nc;
    }
    char *copy = strdup(name);
    if (!copy) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seq_insert", "out of memory");
    memmove(s->l + index + 1, s->l + index, (size_t)(s->n - index) * sizeof *s->l);
    s->l[index] = (seq_layer){copy, op};
    s->n++;
    return JX_OK;
}

jx_status jx_seq_add(jx_seq *s, const char *name, jx_seq_op op) { return jx_seq_insert(s, s ? s->n : 0, name, op); }

jx_seq *jx_seq_slice(const jx_seq *s, int begin, int end) {
    if (!s || begin < 0 || end > s->n || begin > end) {
        jx_error_at(JX_HERE, JX_ERR_ARG, "seq_slice", "layers [%d, %d) of %d", begin, end, s ? s->n : 0);
        return NULL;
    }
    jx_seq *r = jx_seq_new();
    for (int i = begin; r && i < end; i++)
        if (jx_seq_add(r, s->l[i].name, s->l[i].op) != JX_OK) {
            jx_seq_free(r);
            return NULL;
        }
    return r;
}

jx_status jx_seq_set_op(jx_seq *s, const char *name, jx_seq_op op) {
    int i = jx_seq_find(s, name);
    if (i < 0 || (unsigned)op > JX_SEQ_FLATTEN)
        return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_set_op", "no layer '%s' in the model", name ? name : "(null)");
    s->l[i].op = op;
    return JX_OK;
}

static const char *op_name(jx_seq_op op) {
    static const char *const names[] = {"dense", "conv", "batch_norm", "batch_norm_eval", "relu", "max_pool2",
                                        "flatten"};
    return (unsigned)op <= JX_SEQ_FLATTEN ? names[op] : "?";
}

static jx_val flatten(jx_loc loc, jx_val h) {
    return jx_rank(h) > 2 ? jx_reshape_at(loc, h, JX_INTS(jx_dim(h, 0), -1)) : h;
}

/* Batch norm `name`: with the batch's statistics (recorded into c->new_stats) when
 * training and the op allows, else the running ones. */
static jx_val batch_norm(jx_loc loc, jx_val h, const char *name, jx_seq_op op, const jx_tree *params,
                         const jx_seq_ctx *c) {
    const jx_tree *p = jx_tree_get_at(loc, params, name), *st = c->stats ? jx_tree_get_at(loc, c->stats, name) : NULL;
    if (!p || !st) return jx__nn_fail(loc, JX_ERR_ARG, "seq_apply", "batch norm '%s' wants params and stats", name);
    jx_val scale = jx_tree_get_val_at(loc, p, "scale"), bias = jx_tree_get_val_at(loc, p, "bias");
    jx_val mean = jx_tree_get_val_at(loc, st, "mean"), var = jx_tree_get_val_at(loc, st, "var");
    if (op == JX_SEQ_BN_EVAL || !c->new_stats) return jx_nn_batch_norm_eval_at(loc, h, scale, bias, mean, var, 1e-5);
    jx_val nm, nv;
    h = jx_nn_batch_norm_train_at(loc, h, scale, bias, mean, var, c->momentum, 1e-5, &nm, &nv);
    jx_tree *s = jx_tree_dict();
    jx_tree_set_val_at(loc, s, "mean", nm);
    jx_tree_set_val_at(loc, s, "var", nv);
    jx_tree_set_at(loc, c->new_stats, name, s);
    return h;
}

jx_val jx_seq_apply_at(jx_loc loc, const jx_seq *s, const jx_tree *params, jx_val x, const jx_seq_ctx *ctx) {
    if (!s || !params) return jx__nn_fail(loc, JX_ERR_ARG, "seq_apply", "NULL %s", s ? "params" : "model");
    jx_seq_ctx none = {0};
    const jx_seq_ctx *c = ctx ? ctx : &none;
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = x;
    for (int i = 0; i < s->n && jx_trace_status() == JX_OK; i++) {
        const char *name = s->l[i].name;
        switch (s->l[i].op) {
        case JX_SEQ_DENSE: h = jx_nn_apply_dense_at(loc, flatten(loc, h), jx_tree_get_at(loc, params, name)); break;
        case JX_SEQ_CONV: h = jx_nn_apply_conv_at(loc, h, jx_tree_get_at(loc, params, name), &same); break;
        case JX_SEQ_BN:
        case JX_SEQ_BN_EVAL: h = batch_norm(loc, h, name, s->l[i].op, params, c); break;
        case JX_SEQ_RELU: h = jx_relu_at(loc, h); break;
        case JX_SEQ_MAXPOOL2: h = jx_nn_max_pool_at(loc, h, 2, 2, 2, 2, JX_NN_PAD_VALID); break;
        case JX_SEQ_FLATTEN: h = flatten(loc, h); break;
        }
        h = jx_tap_at(loc, c->taps, name, h);
    }
    return h;
}

jx_status jx_seq_print(FILE *out, const jx_seq *s, const jx_tree *params) {
    if (!out || !s || !params) return jx_error_at(JX_HERE, JX_ERR_ARG, "seq_print", "NULL argument");
    for (int i = 0; i < s->n; i++) {
        const jx_tree *p = NULL;
        for (int k = 0; k < jx_tree_num_children(params); k++)
            if (jx_tree_key(params, k) && !strcmp(jx_tree_key(params, k), s->l[i].name)) p = jx_tree_child(params, k);
        fprintf(out, "%s  %s", s->l[i].name, op_name(s->l[i].op));
        if (p) fprintf(out, "  %lld", (long long)jx_tree_num_params(p));
        fputc('\n', out);
        if (p && !jx_tree_is_leaf(p)) jx__print_model(out, p, 1);
    }
    fprintf(out, "total  %d layers  %lld parameters\n", s->n, (long long)jx_tree_num_params(params));
    return ferror(out) ? jx_error_at(JX_HERE, JX_ERR_IO, "seq_print", "write failed") : JX_OK;
}
