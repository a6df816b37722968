/* surgery_select.c: selections of a tree's leaves (by path pattern, layer kind or
 * predicate), layer kinds read from a node's leaves, and the two views: a selection's
 * list and the model tree with per-node kinds and parameter counts. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include <jx/surgery.h>

#include "surgery_internal.h"
#include "tree_internal.h"

struct jx_sel {
    int n, cap;
    char **paths;
};

/* ------------------------------------------------------------------ layer kinds */

/* The direct leaf `key` of node, or NULL. */
static const jx_tree *leaf_named(const jx_tree *node, const char *key) {
    for (int i = 0; i < jx_tree_num_children(node); i++) {
        const char *k = jx_tree_key(node, i);
        if (k && !strcmp(k, key)) return jx_tree_is_leaf(jx_tree_child(node, i)) ? jx_tree_child(node, i) : NULL;
    }
    return NULL;
}

static int rank_of(const jx_tree *node, const char *key) {
    const jx_tree *l = leaf_named(node, key);
    return l ? jx_tree_leaf_aval(l).rank : -1;
}

jx_layer_kind jx_layer_kind_of(const jx_tree *node) {
    if (!node || jx_tree_kind_of(node) != JX_TREE_DICT || jx_tree_num_children(node) == 0) return JX_LAYER_NONE;
    for (int i = 0; i < jx_tree_num_children(node); i++) /* only leaves, or a dense/conv's adapter */
        if (!jx_tree_is_leaf(jx_tree_child(node, i)) && strcmp(jx_tree_key(node, i), "adapter"))
            return JX_LAYER_NONE;
    int w = rank_of(node, "w");
    if (w == 2) return JX_LAYER_DENSE;
    if (w == 4) return JX_LAYER_CONV;
    if (rank_of(node, "table") == 2) return JX_LAYER_EMBED;
    if (leaf_named(node, "wi") && leaf_named(node, "wh")) return JX_LAYER_RECURRENT;
    if (leaf_named(node, "wq") && leaf_named(node, "wk") && leaf_named(node, "wv") && leaf_named(node, "wo"))
        return JX_LAYER_ATTENTION;
    int a = rank_of(node, "a");
    if ((a == 2 || a == 4) && rank_of(node, "b") == 2) return JX_LAYER_ADAPTER;
    if (rank_of(node, "scale") == 1 || rank_of(node, "bias") == 1 ||
        (rank_of(node, "mean") == 1 && rank_of(node, "var") == 1))
        return JX_LAYER_NORM;
    return JX_LAYER_OTHER;
}

const char *jx_layer_kind_name(jx_layer_kind k) {
    static const char *const names[] = {"-", "dense", "conv", "norm", "embed", "recurrent", "attention", "adapter",
                                        "other"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* ------------------------------------------------------------------ selections */

static jx_sel *sel_new(void) { return calloc(1, sizeof(jx_sel)); }

void jx_sel_free(jx_sel *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s);
}

int jx_sel_count(const jx_sel *s) { return s ? s->n : 0; }
const char *jx_sel_path(const jx_sel *s, int i) { return s && i >= 0 && i < s->n ? s->paths[i] : NULL; }
int jx_sel_has(const jx_sel *s, const char *path) {
    for (int i = 0; s && path && i < s->n; i++)
        if (!strcmp(s->paths[i], path)) return 1;
    return 0;
}

/* Which leaves a selection wants: keep(path, leaf, user) is asked for each leaf. */
typedef int (*keep_fn)(const char *path, const jx_tree *leaf, const jx_tree *root, void *user);

typedef struct build {
    const jx_tree *root;
    keep_fn keep;
    void *user;
    const jx_sel *old; /* the paths so far (kept, in flatten order, with the new ones) */
    jx_sel *out;
} build;

static int build_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)index;
    build *b = user;
    if (!jx_sel_has(b->old, path) && !b->keep(path, leaf, b->root, b->user)) return 0;
    if (b->out->n == b->out->cap) {
        int nc = b->out->cap ? 2 * b->out->cap : 16;
        char **np = realloc(b->out->paths, (size_t)nc * sizeof *np);
        if (!np) return 1;
        b->out->paths = np, b->out->cap = nc;
    }
    if (!(b->out->paths[b->out->n] = strdup(path))) return 1;
    b->out->n++;
    return 0;
}

/* A new selection of t's leaves that old holds or keep wants, in flatten order. */
static jx_sel *build_sel(const jx_tree *t, const jx_sel *old, keep_fn keep, void *user) {
    build b = {t, keep, user, old, sel_new()};
    if (b.out && t && jx__tree_walk(t, build_leaf, &b)) {
        jx_sel_free(b.out);
        return NULL;
    }
    return b.out;
}

/* Calls f on the leaf's path and on each prefix of it at a key boundary. */
static int any_prefix(const char *path, int (*f)(const char *prefix, void *user), void *user) {
    char buf[4 * JX_TREE_PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (;;) {
        if (f(buf, user)) return 1;
        char *dot = strrchr(buf, '.');
        if (!dot) return 0;
        *dot = 0;
    }
}

static int prefix_matches(const char *prefix, void *user) { return jx_path_match(user, prefix); }
static int keep_pattern(const char *path, const jx_tree *leaf, const jx_tree *root, void *user) {
    (void)leaf, (void)root;
    return any_prefix(path, prefix_matches, user);
}

jx_sel *jx_sel_pattern(const jx_tree *t, const char *pattern) { return build_sel(t, NULL, keep_pattern, (void *)pattern); }

jx_status jx_sel_add(jx_sel *s, const jx_tree *t, const char *pattern) {
    if (!s) return jx_error_at(JX_HERE, JX_ERR_ARG, "sel_add", "NULL selection");
    jx_sel *n = build_sel(t, s, keep_pattern, (void *)pattern);
    if (!n) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "sel_add", "out of memory");
    for (int i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    *s = *n;
    free(n);
    return JX_OK;
}

typedef struct kind_query {
    const jx_tree *root;
    jx_layer_kind kind;
} kind_query;

/* prefix is the path of an existing node (a prefix of a leaf's path), so the lookup
 * cannot fail. */
static int prefix_is_kind(const char *prefix, void *user) {
    kind_query *q = user;
    return jx_layer_kind_of(jx_tree_get(q->root, prefix)) == q->kind;
}

static int keep_kind(const char *path, const jx_tree *leaf, const jx_tree *root, void *user) {
    (void)leaf;
    kind_query q = {root, *(const jx_layer_kind *)user};
    return any_prefix(path, prefix_is_kind, &q);
}

jx_sel *jx_sel_kind(const jx_tree *t, jx_layer_kind kind) { return build_sel(t, NULL, keep_kind, &kind); }

typedef struct pred_query {
    jx_sel_pred pred;
    void *user;
} pred_query;

static int keep_pred(const char *path, const jx_tree *leaf, const jx_tree *root, void *user) {
    (void)root;
    pred_query *q = user;
    return q->pred(path, jx_tree_leaf_aval(leaf), q->user);
}

jx_sel *jx_sel_where(const jx_tree *t, jx_sel_pred pred, void *user) {
    if (!pred) return sel_new();
    pred_query q = {pred, user};
    return build_sel(t, NULL, keep_pred, &q);
}

static int keep_absent(const char *path, const jx_tree *leaf, const jx_tree *root, void *user) {
    (void)leaf, (void)root;
    return !jx_sel_has(user, path);
}

jx_sel *jx_sel_invert(const jx_sel *s, const jx_tree *t) { return build_sel(t, NULL, keep_absent, (void *)s); }

/* ------------------------------------------------------------------ views */

jx_status jx_sel_print(FILE *out, const jx_sel *s, const jx_tree *t) {
    if (!out || !s || !t) return jx_error_at(JX_HERE, JX_ERR_ARG, "sel_print", "NULL argument");
    int64_t np = 0;
    for (int i = 0; i < s->n; i++) {
        jx_tree *l = jx_tree_get(t, s->paths[i]);
        if (!l) return jx_errcode();
        jx_aval a = jx_tree_leaf_aval(l);
        char buf[96];
        int64_t n = jx_aval_size(&a);
        fprintf(out, "%s  %s  ", s->paths[i], jx_aval_str(&a, buf, sizeof buf));
        jx__print_count(out, n);
        fputc('\n', out);
        np += n;
    }
    fprintf(out, "selected: %d of %d leaves, ", s->n, jx_tree_num_leaves(t));
    jx__print_count(out, np);
    fputs(" of ", out);
    jx__print_count(out, jx_tree_num_params(t));
    fputs(" parameters\n", out);
    return ferror(out) ? jx_error_at(JX_HERE, JX_ERR_IO, "sel_print", "write failed") : JX_OK;
}

void jx__print_model(FILE *out, const jx_tree *t, int depth) {
    for (int i = 0; i < jx_tree_num_children(t); i++) {
        const jx_tree *k = jx_tree_child(t, i);
        fprintf(out, "%*s", 2 * depth, "");
        if (jx_tree_key(t, i)) fputs(jx_tree_key(t, i), out);
        else fprintf(out, "%d", i);
        if (jx_tree_is_leaf(k)) {
            char buf[96];
            jx_aval a = jx_tree_leaf_aval(k);
            fprintf(out, "  %s  ", jx_aval_str(&a, buf, sizeof buf));
        } else {
            fprintf(out, "  %s  ", jx_layer_kind_name(jx_layer_kind_of(k)));
        }
        jx__print_count(out, jx_tree_num_params(k));
        fputc('\n', out);
        if (!jx_tree_is_leaf(k)) jx__print_model(out, k, depth + 1);
    }
}

jx_status jx_tree_print_model(FILE *out, const jx_tree *t) {
    if (!out || !t) return jx_error_at(JX_HERE, JX_ERR_ARG, "tree_print_model", "NULL argument");
    jx__print_model(out, t, 0);
    fprintf(out, "total  %d leaves  ", jx_tree_num_leaves(t));
    jx__print_count(out, jx_tree_num_params(t));
    fputs(" parameters\n", out);
    return ferror(out) ? jx_error_at(JX_HERE, JX_ERR_IO, "tree_print_model", "write failed") : JX_OK;
}
