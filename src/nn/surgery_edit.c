/* surgery_edit.c: cutting a tree in two along a selection and joining the parts back
 * (freezing), replacing and inserting sub-trees, adding low-rank adapters and
 * redrawing a selection with its layers' default initializers. */
#include <stdlib.h>
#include <string.h>

#include <jx/init.h>
#include <jx/random.h>
#include <jx/surgery.h>

#include "tree_internal.h"

/* ------------------------------------------------------------------ partition */

typedef struct filter_state {
    const jx_sel *s;
    int want; /* keep the leaves whose selection membership equals this */
    int oom;
    char path[4 * JX_TREE_PATH_MAX];
} filter_state;

/* The part of t (at path f->path[0..len)) to keep, or NULL when nothing of it is kept
 * (or out of memory: f->oom). List elements with nothing kept stay as empty dicts. */
static jx_tree *filter(const jx_tree *t, size_t len, filter_state *f) {
    if (jx_tree_is_leaf(t)) {
        if (jx_sel_has(f->s, f->path) != f->want) return NULL;
        jx_tree *c = jx_tree_copy(t);
        f->oom |= !c;
        return c;
    }
    int is_list = jx_tree_kind_of(t) == JX_TREE_LIST, kept = 0;
    jx_tree *out = is_list ? jx_tree_list() : jx_tree_dict();
    if (!out) return f->oom = 1, NULL;
    for (int i = 0; i < jx_tree_num_children(t) && !f->oom; i++) {
        const char *key = jx_tree_key(t, i);
        char idx[16];
        if (!key) snprintf(idx, sizeof idx, "%d", i), key = idx;
        size_t n = len + (len ? 1 : 0) + strlen(key);
        if (n >= sizeof f->path) { /* jx's paths are far shorter: treat as not selected */
            if (is_list && jx_tree_append(out, jx_tree_dict())) f->oom = 1;
            continue;
        }
        snprintf(f->path + len, sizeof f->path - len, "%s%s", len ? "." : "", key);
        jx_tree *sub = filter(jx_tree_child(t, i), n, f);
        f->path[len] = 0;
        if (f->oom) {
            jx_tree_free(sub);
            break;
        }
        if (sub) kept = 1;
        if (is_list) f->oom |= jx_tree_append(out, sub ? sub : jx_tree_dict()) != JX_OK;
        else if (sub) f->oom |= jx_tree_set(out, key, sub) != JX_OK;
    }
    if (!kept || f->oom) {
        jx_tree_free(out);
        return NULL;
    }
    return out;
}

static jx_tree *part(const jx_tree *t, const jx_sel *s, int want, int *oom) {
    filter_state *f = malloc(sizeof *f);
    if (!f) return *oom = 1, NULL;
    f->s = s, f->want = want, f->oom = 0, f->path[0] = 0;
    jx_tree *r = filter(t, 0, f);
    *oom = f->oom;
    free(f);
    if (!r && !*oom && !(r = jx_tree_dict())) *oom = 1;
    return r;
}

jx_status jx_tree_partition_at(jx_loc loc, const jx_tree *t, const jx_sel *s, jx_tree **selected, jx_tree **rest) {
    if (selected) *selected = NULL;
    if (rest) *rest = NULL;
    if (!t || !s) return jx_error_at(loc, JX_ERR_ARG, "tree_partition", "NULL %s", t ? "selection" : "tree");
    if (jx_tree_is_leaf(t)) return jx_error_at(loc, JX_ERR_ARG, "tree_partition", "the tree is a lone leaf");
    int oom = 0;
    jx_tree *a = selected ? part(t, s, 1, &oom) : NULL;
    jx_tree *b = rest && !oom ? part(t, s, 0, &oom) : NULL;
    if (oom) {
        jx_tree_free(a), jx_tree_free(b);
        return jx_error_at(loc, JX_ERR_NOMEM, "tree_partition", "out of memory");
    }
    if (selected) *selected = a;
    if (rest) *rest = b;
    return JX_OK;
}

/* ------------------------------------------------------------------ merge */

static int is_empty_node(const jx_tree *t) { return !jx_tree_is_leaf(t) && jx_tree_num_children(t) == 0; }

static jx_tree *merge(jx_loc loc, const jx_tree *a, const jx_tree *b, char *path, size_t cap);

/* Merges child i of a with b's child of the same key (or alone), appending to out. */
static int merge_child(jx_loc loc, jx_tree *out, const jx_tree *ak, const jx_tree *bk, const char *key,
                       char *path, size_t cap) {
    size_t len = strlen(path);
    snprintf(path + len, cap - len, "%s%s", len ? "." : "", key);
    jx_tree *m = ak && bk ? merge(loc, ak, bk, path, cap) : jx_tree_copy(ak ? ak : bk);
    path[len] = 0;
    if (!m) return jx_errcode() ? 0 : (jx_error_at(loc, JX_ERR_NOMEM, "tree_merge", "out of memory"), 0);
    jx_status st = jx_tree_kind_of(out) == JX_TREE_LIST ? jx_tree_append(out, m) : jx_tree_set(out, key, m);
    return st == JX_OK;
}

static const jx_tree *child_by_key(const jx_tree *t, const char *key) {
    for (int i = 0; i < jx_tree_num_children(t); i++)
        if (jx_tree_key(t, i) && !strcmp(jx_tree_key(t, i), key)) return jx_tree_child(t, i);
    return NULL;
}

static jx_tree *merge(jx_loc loc, const jx_tree *a, const jx_tree *b, char *path, size_t cap) {
    if (is_empty_node(a)) return jx_tree_copy(b);
    if (is_empty_node(b)) return jx_tree_copy(a);
    if (jx_tree_is_leaf(a) || jx_tree_is_leaf(b) || jx_tree_kind_of(a) != jx_tree_kind_of(b)) {
        jx_error_at(loc, JX_ERR_ARG, "tree_merge", "'%s' is in both trees", path[0] ? path : "(root)");
        return NULL;
    }
    int list = jx_tree_kind_of(a) == JX_TREE_LIST;
    if (list && jx_tree_num_children(a) != jx_tree_num_children(b)) {
        jx_error_at(loc, JX_ERR_ARG, "tree_merge", "the lists at '%s' have %d and %d elements",
                    path[0] ? path : "(root)", jx_tree_num_children(a), jx_tree_num_children(b));
        return NULL;
    }
    jx_tree *out = list ? jx_tree_list() : jx_tree_dict();
    int ok = out != NULL;
    for (int i = 0; ok && i < jx_tree_num_children(a); i++) {
        char idx[16];
        const char *key = jx_tree_key(a, i);
        if (!key) snprintf(idx, sizeof idx, "%d", i), key = idx;
        const jx_tree *bk = list ? jx_tree_child(b, i) : child_by_key(b, key);
        ok = merge_child(loc, out, jx_tree_child(a, i), bk, key, path, cap);
    }
    for (int i = 0; ok && !list && i < jx_tree_num_children(b); i++)
        if (!child_by_key(a, jx_tree_key(b, i)))
            ok = merge_child(loc, out, NULL, jx_tree_child(b, i), jx_tree_key(b, i), path, cap);
    if (!ok) {
        if (!out) jx_error_at(loc, JX_ERR_NOMEM, "tree_merge", "out of memory");
        jx_tree_free(out);
        return NULL;
    }
    return out;
}

jx_tree *jx_tree_merge_at(jx_loc loc, const jx_tree *a, const jx_tree *b) {
    if (!a || !b) {
        jx_error_at(loc, JX_ERR_ARG, "tree_merge", "NULL tree");
        return NULL;
    }
    char *path = calloc(4 * JX_TREE_PATH_MAX, 1);
    if (!path) {
        jx_error_at(loc, JX_ERR_NOMEM, "tree_merge", "out of memory");
        return NULL;
    }
    jx_tree *m = merge(loc, a, b, path, 4 * JX_TREE_PATH_MAX);
    free(path);
    return m;
}

/* ------------------------------------------------------------------ replace, insert */

jx_status jx_tree_replace_at(jx_loc loc, jx_tree *t, const char *path, jx_tree *sub) {
    if (!t || !path || !path[0] || !sub) {
        jx_tree_free(sub);
        return jx_error_at(loc, JX_ERR_ARG, "tree_replace", "NULL or empty argument");
    }
    if (!jx_tree_get_at(loc, t, path)) {
        jx_tree_free(sub);
        return jx_error_at(loc, JX_ERR_ARG, "tree_replace", "no '%s' in the tree to replace", path);
    }
    return jx_tree_set_at(loc, t, path, sub);
}

jx_status jx_tree_insert_after_at(jx_loc loc, jx_tree *t, const char *after, const char *key, jx_tree *sub) {
    if (!t || !after || !key || !key[0] || strchr(key, '.') || !sub) {
        jx_tree_free(sub);
        return jx_error_at(loc, JX_ERR_ARG, "tree_insert_after", "NULL argument or a key with a dot");
    }
    char parent_path[4 * JX_TREE_PATH_MAX];
    snprintf(parent_path, sizeof parent_path, "%s", after);
    char *dot = strrchr(parent_path, '.');
    const char *last = dot ? dot + 1 : after;
    if (dot) *dot = 0;
    else parent_path[0] = 0;
    jx_tree *parent = jx_tree_get_at(loc, t, parent_path);
    int at = -1;
    for (int i = 0; parent && i < parent->n && parent->kind == JX_TREE_DICT; i++) {
        if (!strcmp(parent->keys[i], last)) at = i;
        if (!strcmp(parent->keys[i], key)) {
            jx_tree_free(sub);
            return parent_path[0] ? jx_error_at(loc, JX_ERR_ARG, "tree_insert_after", "'%s' already has a '%s'",
                                                parent_path, key)
                                  : jx_error_at(loc, JX_ERR_ARG, "tree_insert_after", "the tree already has a '%s'", key);
        }
    }
    if (at < 0) {
        jx_tree_free(sub);
        return jx_error_at(loc, JX_ERR_ARG, "tree_insert_after", "no '%s' in a dict of the tree", after);
    }
    jx_status st = jx_tree_set_at(loc, parent, key, sub); /* appended last: move it after `at` */
    if (st != JX_OK) return st;
    int n = parent->n;
    jx_tree *k = parent->kids[n - 1];
    char *name = parent->keys[n - 1];
    memmove(parent->kids + at + 2, parent->kids + at + 1, (size_t)(n - at - 2) * sizeof *parent->kids);
    memmove(parent->keys + at + 2, parent->keys + at + 1, (size_t)(n - at - 2) * sizeof *parent->keys);
    parent->kids[at + 1] = k, parent->keys[at + 1] = name;
    return JX_OK;
}

/* ------------------------------------------------------------------ adapters */

jx_status jx_tree_add_adapter_at(jx_loc loc, jx_tree *t, const char *path, int64_t r, double alpha,
                                 const jx_array *key) {
    jx_tree *node = t && path ? jx_tree_get_at(loc, t, path) : NULL;
    jx_layer_kind kind = jx_layer_kind_of(node);
    if (kind != JX_LAYER_DENSE && kind != JX_LAYER_CONV)
        return jx_error_at(loc, JX_ERR_ARG, "tree_add_adapter", "'%s' is not a dense or conv layer (it is %s)",
                           path ? path : "(null)", node ? jx_layer_kind_name(kind) : "missing");
    if (r < 1 || !key) return jx_error_at(loc, JX_ERR_ARG, "tree_add_adapter", "rank %lld or NULL key", (long long)r);
    jx_aval w = jx_tree_leaf_aval(jx_tree_get_at(loc, node, "w"));
    int64_t o = w.shape[w.rank - 1];
    int64_t ashape[4] = {w.shape[0], w.shape[1], w.shape[2], r};
    if (kind == JX_LAYER_DENSE) ashape[1] = r;
    jx_tree *ad = jx_tree_dict();
    jx_array *a = jx_init_new_at(loc, &jx_init_lecun_normal, key, w.dtype, (jx_ints){ashape, w.rank});
    jx_array *b = jx_array_zeros(w.dtype, JX_INTS(r, o));
    jx_array *s = jx_array_scalar(w.dtype, alpha / (double)r);
    jx_status st = ad && a && b && s ? JX_OK : jx_error_at(loc, JX_ERR_NOMEM, "tree_add_adapter", "out of memory");
    if (st == JX_OK) st = jx_tree_set_array_at(loc, ad, "a", a), a = NULL;
    if (st == JX_OK) st = jx_tree_set_array_at(loc, ad, "b", b), b = NULL;
    if (st == JX_OK) st = jx_tree_set_array_at(loc, ad, "scale", s), s = NULL;
    jx_array_release(a), jx_array_release(b), jx_array_release(s);
    if (st != JX_OK) {
        jx_tree_free(ad);
        return st;
    }
    return jx_tree_set_at(loc, node, "adapter", ad);
}

/* ------------------------------------------------------------------ reinit */

/* The initializer Flax's layers give a leaf, by its name (and its parent's). */
static const jx_init *default_init(const char *path, int rank) {
    const char *dot = strrchr(path, '.'), *name = dot ? dot + 1 : path;
    int in_adapter = dot && dot - path >= 7 && !strncmp(dot - 7, "adapter", 7);
    if (!strcmp(name, "scale") && !in_adapter) return &jx_init_ones;
    if (!strcmp(name, "var")) return &jx_init_ones;
    if (!strcmp(name, "b") || !strcmp(name, "bias") || !strcmp(name, "mean") || rank < 2) return &jx_init_zeros;
    return &jx_init_lecun_normal;
}

jx_status jx_tree_reinit_at(jx_loc loc, jx_tree *t, const jx_sel *s, const jx_array *key) {
    if (!t || !s || !key) return jx_error_at(loc, JX_ERR_ARG, "tree_reinit", "NULL argument");
    for (int i = 0; i < jx_sel_count(s); i++) {
        const char *path = jx_sel_path(s, i);
        jx_array *old = jx_tree_get_array_at(loc, t, path);
        if (!old) return jx_errcode();
        int rank = jx_array_rank(old);
        jx_array *k = jx_random_fold_in_new(key, (uint32_t)i);
        jx_array *a = k ? jx_init_new_at(loc, default_init(path, rank), k, jx_array_dtype(old),
                                         (jx_ints){jx_array_shape(old), rank})
                        : NULL;
        jx_array_release(k);
        jx_status st = a ? jx_tree_set_array_at(loc, t, path, a) : jx_errcode();
        if (st != JX_OK) return st ? st : JX_ERR_NOMEM;
    }
    return JX_OK;
}
