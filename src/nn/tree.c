/* tree.c: tree nodes, paths (set, get), the leaf walker and the rebuilder, flatten and
 * unflatten. Maps, selection and printing are in tree_map.c; functions of trees in
 * tree_fn.c. */
#include <stdlib.h>
#include <string.h>

#include "tree_internal.h"

static jx_tree *node(jx_tree_kind kind) {
    jx_tree *t = calloc(1, sizeof *t);
    if (!t) jx_error_at((jx_loc){NULL, 0}, JX_ERR_NOMEM, "tree", "out of memory");
    if (t) {
        t->kind = kind;
        t->val = JX_NONE;
        t->aval.rank = -1;
    }
    return t;
}

jx_tree *jx_tree_dict(void) { return node(JX_TREE_DICT); }
jx_tree *jx_tree_list(void) { return node(JX_TREE_LIST); }

jx_tree *jx_tree_array(jx_array *a) {
    if (!a) return NULL;
    jx_tree *t = node(JX_TREE_ARRAY);
    if (!t) {
        jx_array_release(a);
        return NULL;
    }
    t->arr = a;
    return t;
}

jx_tree *jx_tree_val(jx_val v) {
    jx_tree *t = node(JX_TREE_VAL);
    if (t) t->val = v;
    return t;
}

jx_tree *jx_tree_aval(jx_aval a) {
    jx_tree *t = node(JX_TREE_AVAL);
    if (t) t->aval = a;
    return t;
}

void jx_tree_free(jx_tree *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        jx_tree_free(t->kids[i]);
        if (t->keys) free(t->keys[i]);
    }
    free(t->kids);
    free(t->keys);
    jx_array_release(t->arr);
    free(t);
}

static jx_tree *copy_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path, (void)index, (void)user;
    jx_tree *c = node(leaf->kind);
    if (!c) return NULL;
    c->arr = leaf->arr ? jx_array_retain(leaf->arr) : NULL;
    c->val = leaf->val;
    c->aval = leaf->aval;
    return c;
}

jx_tree *jx_tree_copy(const jx_tree *t) { return t ? jx__tree_rebuild(t, copy_leaf, NULL) : NULL; }

/* Appends (key, child) to a dict or list; key is copied (NULL for a list). */
static int push(jx_tree *t, const char *key, size_t keylen, jx_tree *child) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 4;
        jx_tree **kids = realloc(t->kids, (size_t)cap * sizeof *kids);
        if (!kids) return 0;
        t->kids = kids;
        if (t->kind == JX_TREE_DICT) {
            char **keys = realloc(t->keys, (size_t)cap * sizeof *keys);
            if (!keys) return 0;
            t->keys = keys;
        }
        t->cap = cap;
    }
    if (t->kind == JX_TREE_DICT) {
        char *k = malloc(keylen + 1);
        if (!k) return 0;
        memcpy(k, key, keylen);
        k[keylen] = 0;
        t->keys[t->n] = k;
    }
    t->kids[t->n++] = child;
    return 1;
}

/* The child of t named by the path component [s, s+len): its index, or -1. For a list
 * the component must be a decimal index in range. */
static int find(const jx_tree *t, const char *s, size_t len) {
    if (t->kind == JX_TREE_DICT) {
        for (int i = 0; i < t->n; i++)
            if (strlen(t->keys[i]) == len && memcmp(t->keys[i], s, len) == 0) return i;
        return -1;
    }
    if (t->kind != JX_TREE_LIST || len == 0 || len > 9) return -1;
    int idx = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        idx = idx * 10 + (s[i] - '0');
    }
    return idx < t->n ? idx : -1;
}

static const char *kind_name(jx_tree_kind k) {
    static const char *const names[] = {"dict", "list", "array leaf", "traced leaf", "aval leaf"};
    return (unsigned)k < 5 ? names[k] : "?";
}

/* A NULL tree, child or array given to a setter is most often the result of a
 * constructor nested in the call that just ran out of memory: its error is kept then,
 * rather than replaced by "NULL tree". */
static jx_status null_arg(jx_loc loc, const char *fmt, const char *what) {
    if (jx_errcode() == JX_ERR_NOMEM || jx_trace_status() == JX_ERR_NOMEM) return JX_ERR_NOMEM;
    return jx_error_at(loc, JX_ERR_ARG, "tree_set", fmt, what);
}

jx_status jx_tree_set_at(jx_loc loc, jx_tree *t, const char *path, jx_tree *child) {
    if (!t || !path || !child) {
        jx_tree_free(child);
        return null_arg(loc, "NULL %s", !t ? "tree" : !path ? "path" : "child");
    }
    const char *s = path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len == 0) {
            jx_tree_free(child);
            return jx_error_at(loc, JX_ERR_ARG, "tree_set", "empty key in path '%s'", path);
        }
        if (t->kind != JX_TREE_DICT && t->kind != JX_TREE_LIST) {
            jx_tree_free(child);
            return jx_error_at(loc, JX_ERR_ARG, "tree_set", "path '%s' goes through a %s at '%.*s'",
                               path, kind_name(t->kind), (int)(s - path - 1 > 0 ? s - path - 1 : 0), path);
        }
        int i = find(t, s, len);
        if (i < 0 && t->kind == JX_TREE_LIST) {
            jx_tree_free(child);
            return jx_error_at(loc, JX_ERR_ARG, "tree_set", "'%.*s' in path '%s' is not an index of a list of %d",
                               (int)len, s, path, t->n);
        }
        if (!dot) {
            if (i >= 0) {
                jx_tree_free(t->kids[i]);
                t->kids[i] = child;
                return JX_OK;
            }
            if (!push(t, s, len, child)) {
                jx_tree_free(child);
                return jx_error_at(loc, JX_ERR_NOMEM, "tree_set", "out of memory");
            }
            return JX_OK;
        }
        if (i < 0) {
            jx_tree *d = jx_tree_dict();
            if (!d || !push(t, s, len, d)) {
                free(d);
                jx_tree_free(child);
                return jx_error_at(loc, JX_ERR_NOMEM, "tree_set", "out of memory");
            }
            i = t->n - 1;
        }
        t = t->kids[i];
        s = dot + 1;
    }
}

jx_status jx_tree_set_array_at(jx_loc loc, jx_tree *t, const char *path, jx_array *a) {
    if (!a) return null_arg(loc, "NULL array for '%s'", path ? path : "?");
    jx_tree *leaf = jx_tree_array(a);
    if (!leaf) return jx_error_at(loc, JX_ERR_NOMEM, "tree_set", "out of memory");
    return jx_tree_set_at(loc, t, path, leaf);
}

jx_status jx_tree_set_val_at(jx_loc loc, jx_tree *t, const char *path, jx_val v) {
    jx_tree *leaf = jx_tree_val(v);
    if (!leaf) return jx_error_at(loc, JX_ERR_NOMEM, "tree_set", "out of memory");
    return jx_tree_set_at(loc, t, path, leaf);
}

jx_status jx_tree_append_at(jx_loc loc, jx_tree *list, jx_tree *child) {
    if (!list || list->kind != JX_TREE_LIST || !child) {
        jx_tree_free(child);
        return jx_error_at(loc, JX_ERR_ARG, "tree_append", "%s", !child ? "NULL child" : "not a list");
    }
    if (!push(list, NULL, 0, child)) {
        jx_tree_free(child);
        return jx_error_at(loc, JX_ERR_NOMEM, "tree_append", "out of memory");
    }
    return JX_OK;
}

/* ------------------------------------------------------------------ reading */

jx_tree_kind jx_tree_kind_of(const jx_tree *t) { return t->kind; }
int jx_tree_is_leaf(const jx_tree *t) {
    return t && t->kind != JX_TREE_DICT && t->kind != JX_TREE_LIST;
}
int jx_tree_num_children(const jx_tree *t) { return t && !jx_tree_is_leaf(t) ? t->n : 0; }
jx_tree *jx_tree_child(const jx_tree *t, int i) {
    return t && i >= 0 && i < jx_tree_num_children(t) ? t->kids[i] : NULL;
}
const char *jx_tree_key(const jx_tree *t, int i) {
    return t && t->keys && i >= 0 && i < t->n ? t->keys[i] : NULL;
}

jx_tree *jx_tree_get_at(jx_loc loc, const jx_tree *t, const char *path) {
    if (!t || !path) {
        jx_error_at(loc, JX_ERR_ARG, "tree_get", "NULL %s", t ? "path" : "tree");
        return NULL;
    }
    const char *s = path;
    while (*path && t) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        int i = jx_tree_is_leaf(t) ? -1 : find(t, s, len);
        if (i < 0) {
            jx_error_at(loc, JX_ERR_ARG, "tree_get", "no '%.*s' in path '%s'", (int)len, s, path);
            return NULL;
        }
        t = t->kids[i];
        if (!dot) break;
        s = dot + 1;
    }
    return (jx_tree *)t;
}

jx_array *jx_tree_get_array_at(jx_loc loc, const jx_tree *t, const char *path) {
    jx_tree *l = jx_tree_get_at(loc, t, path);
    if (l && l->kind != JX_TREE_ARRAY) {
        jx_error_at(loc, JX_ERR_ARG, "tree_get", "'%s' is a %s, not an array leaf", path, kind_name(l->kind));
        return NULL;
    }
    return l ? l->arr : NULL;
}

jx_val jx_tree_get_val_at(jx_loc loc, const jx_tree *t, const char *path) {
    jx_tree *l = jx_tree_get_at(loc, t, path);
    if (l && l->kind != JX_TREE_VAL) {
        jx_error_at(loc, JX_ERR_ARG, "tree_get", "'%s' is a %s, not a traced leaf", path, kind_name(l->kind));
        return JX_NONE;
    }
    return l ? l->val : JX_NONE;
}

jx_array *jx_tree_leaf_array(const jx_tree *leaf) { return leaf ? leaf->arr : NULL; }
jx_val jx_tree_leaf_val(const jx_tree *leaf) { return leaf ? leaf->val : JX_NONE; }
jx_aval jx_tree_leaf_aval(const jx_tree *leaf) {
    jx_aval bad = {JX_DTYPE_COUNT, -1, {0}};
    if (!leaf) return bad;
    switch (leaf->kind) {
    case JX_TREE_ARRAY: return jx_array_aval(leaf->arr);
    case JX_TREE_VAL: return jx_aval_of(leaf->val);
    case JX_TREE_AVAL: return leaf->aval;
    default: return bad;
    }
}

/* ------------------------------------------------------------------ walking */

/* Appends child i's key of t to path (of cap bytes, len used): ".key" or ".3";
 * returns the new length (truncated at cap). */
static size_t path_push(char *path, size_t cap, size_t len, const jx_tree *t, int i) {
    size_t n = len;
    if (n && n < cap - 1) path[n++] = '.';
    int k = t->keys ? snprintf(path + n, cap - n, "%s", t->keys[i]) : snprintf(path + n, cap - n, "%d", i);
    return n + (size_t)k < cap ? n + (size_t)k : cap - 1;
}

typedef struct walk_state {
    jx__leaf_visit f;
    void *user;
    int index;
    char path[4 * JX_TREE_PATH_MAX];
} walk_state;

static int walk(const jx_tree *t, size_t len, walk_state *w) {
    if (jx_tree_is_leaf(t)) return w->f(w->path, t, w->index++, w->user);
    for (int i = 0; i < t->n; i++) {
        size_t n = path_push(w->path, sizeof w->path, len, t, i);
        int r = walk(t->kids[i], n, w);
        w->path[len] = 0;
        if (r) return r;
    }
    return 0;
}

/* The state lives on the stack (about 1 KB): a walk never allocates, so counting and
 * flattening cannot fail (a failed allocation here once made jx_tree_num_leaves return 0). */
int jx__tree_walk(const jx_tree *t, jx__leaf_visit f, void *user) {
    walk_state w;
    w.f = f, w.user = user, w.index = 0, w.path[0] = 0;
    return walk(t, 0, &w);
}

typedef struct rebuild_state {
    jx__leaf_make f;
    void *user;
    int index;
    char path[4 * JX_TREE_PATH_MAX];
} rebuild_state;

static jx_tree *rebuild(const jx_tree *t, size_t len, rebuild_state *r) {
    if (jx_tree_is_leaf(t)) return r->f(r->path, t, r->index++, r->user);
    jx_tree *c = node(t->kind);
    if (!c) return NULL;
    for (int i = 0; i < t->n; i++) {
        size_t n = path_push(r->path, sizeof r->path, len, t, i);
        jx_tree *kid = rebuild(t->kids[i], n, r);
        r->path[len] = 0;
        const char *key = t->keys ? t->keys[i] : NULL;
        if (!kid || !push(c, key, key ? strlen(key) : 0, kid)) {
            if (kid) jx_error_at((jx_loc){NULL, 0}, JX_ERR_NOMEM, "tree", "out of memory");
            jx_tree_free(kid);
            jx_tree_free(c);
            return NULL;
        }
    }
    return c;
}

/* On the stack, as the walk's: a NULL result then always has its error recorded, by the
 * leaf maker or by the node allocation that failed. */
jx_tree *jx__tree_rebuild(const jx_tree *like, jx__leaf_make f, void *user) {
    rebuild_state r;
    r.f = f, r.user = user, r.index = 0, r.path[0] = 0;
    return rebuild(like, 0, &r);
}

/* ------------------------------------------------------------------ counting, paths */

static int count_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path, (void)index;
    jx_aval a = jx_tree_leaf_aval(leaf);
    int64_t *acc = user;
    acc[0]++;
    acc[1] += a.rank >= 0 ? jx_aval_size(&a) : 0;
    return 0;
}

int jx_tree_num_leaves(const jx_tree *t) {
    int64_t acc[2] = {0, 0};
    if (t) jx__tree_walk(t, count_leaf, acc);
    return (int)acc[0];
}

int64_t jx_tree_num_params(const jx_tree *t) {
    int64_t acc[2] = {0, 0};
    if (t) jx__tree_walk(t, count_leaf, acc);
    return acc[1];
}

typedef struct find_state {
    int want;
    const jx_tree *leaf;
    char *buf;
    size_t n;
    int fits;
} find_state;

static int find_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    find_state *s = user;
    if (index != s->want) return 0;
    s->leaf = leaf;
    if (s->buf && s->n) {
        s->fits = strlen(path) < s->n;
        snprintf(s->buf, s->n, "%s", path);
    }
    return 1;
}

jx_tree *jx_tree_leaf(const jx_tree *t, int i) {
    find_state s = {i, NULL, NULL, 0, 0};
    if (t) jx__tree_walk(t, find_leaf, &s);
    return (jx_tree *)s.leaf;
}

jx_status jx_tree_leaf_path(const jx_tree *t, int i, char *buf, size_t n) {
    find_state s = {i, NULL, buf, n, 0};
    if (buf && n) buf[0] = 0;
    if (t) jx__tree_walk(t, find_leaf, &s);
    if (!s.leaf) return jx_error_at(JX_HERE, JX_ERR_ARG, "tree_leaf_path", "no leaf %d in a tree of %d", i,
                                    t ? jx_tree_num_leaves(t) : 0);
    if (!s.fits) return jx_error_at(JX_HERE, JX_ERR_ARG, "tree_leaf_path", "path of leaf %d longer than %zu", i, n);
    return JX_OK;
}

/* ------------------------------------------------------------------ flatten, unflatten */

typedef struct flat_state {
    int cap;
    jx_array **arrs;
    jx_val *vals;
    jx_aval *avals;
} flat_state;

static int flat_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path;
    flat_state *s = user;
    if (index >= s->cap) return 0;
    if (s->arrs) s->arrs[index] = leaf->arr;
    if (s->vals) s->vals[index] = leaf->kind == JX_TREE_VAL ? leaf->val : JX_NONE;
    if (s->avals) s->avals[index] = jx_tree_leaf_aval(leaf);
    return 0;
}

int jx_tree_flatten_arrays(const jx_tree *t, jx_array **out, int cap) {
    flat_state s = {cap, out, NULL, NULL};
    if (t) jx__tree_walk(t, flat_leaf, &s);
    return jx_tree_num_leaves(t);
}
int jx_tree_flatten_vals(const jx_tree *t, jx_val *out, int cap) {
    flat_state s = {cap, NULL, out, NULL};
    if (t) jx__tree_walk(t, flat_leaf, &s);
    return jx_tree_num_leaves(t);
}
int jx_tree_flatten_avals(const jx_tree *t, jx_aval *out, int cap) {
    flat_state s = {cap, NULL, NULL, out};
    if (t) jx__tree_walk(t, flat_leaf, &s);
    return jx_tree_num_leaves(t);
}

static jx_tree *take_array(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path, (void)leaf;
    jx_array **arrs = user;
    jx_tree *t = jx_tree_array(arrs[index]);
    arrs[index] = NULL; /* taken over (freed by jx_tree_array on failure) */
    return t;
}

jx_tree *jx_tree_unflatten_arrays_at(jx_loc loc, const jx_tree *like, int n, jx_array **leaves) {
    int want = jx_tree_num_leaves(like);
    jx_tree *t = NULL;
    if (!like || n != want) {
        jx_error_at(loc, JX_ERR_ARG, "tree_unflatten", "%d arrays for a tree of %d leaves", n, want);
    } else {
        for (int i = 0; i < n; i++)
            if (!leaves[i]) {
                jx_error_at(loc, JX_ERR_ARG, "tree_unflatten", "array %d is NULL", i);
                goto out;
            }
        t = jx__tree_rebuild(like, take_array, leaves);
        if (!t) jx_error_at(loc, JX_ERR_NOMEM, "tree_unflatten", "out of memory");
    }
out:
    for (int i = 0; i < n; i++) {
        jx_array_release(leaves[i]);
        leaves[i] = NULL;
    }
    return t;
}

static jx_tree *make_val(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path, (void)leaf;
    return jx_tree_val(((const jx_val *)user)[index]);
}

jx_tree *jx_tree_unflatten_vals_at(jx_loc loc, const jx_tree *like, int n, const jx_val *leaves) {
    int want = jx_tree_num_leaves(like);
    if (!like || n != want) {
        jx_error_at(loc, JX_ERR_ARG, "tree_unflatten", "%d values for a tree of %d leaves", n, want);
        return NULL;
    }
    jx_tree *t = jx__tree_rebuild(like, make_val, (void *)leaves);
    if (!t) jx_error_at(loc, JX_ERR_NOMEM, "tree_unflatten", "out of memory");
    return t;
}

/* ------------------------------------------------------------------ structure checks */

typedef struct same_state {
    jx_loc loc;
    const char *an, *bn;
    int check_avals;
    char path[4 * JX_TREE_PATH_MAX];
} same_state;

static jx_status mismatch(same_state *s, const char *fmt, const char *x, const char *y) {
    char msg[600];
    snprintf(msg, sizeof msg, fmt, x, y);
    return jx_error_at(s->loc, JX_ERR_SHAPE, "tree mismatch", "at '%s': %s", s->path[0] ? s->path : "(root)", msg);
}

static jx_status same(const jx_tree *a, const jx_tree *b, size_t len, same_state *s) {
    char m1[200], m2[200], x[80], y[80];
    int la = jx_tree_is_leaf(a), lb = jx_tree_is_leaf(b);
    if (la || lb) {
        if (!la || !lb) {
            snprintf(m1, sizeof m1, "a %s in %s", la ? "leaf" : kind_name(a->kind), s->an);
            snprintf(m2, sizeof m2, "a %s in %s", lb ? "leaf" : kind_name(b->kind), s->bn);
            return mismatch(s, "%s, %s", m1, m2);
        }
        jx_aval va = jx_tree_leaf_aval(a), vb = jx_tree_leaf_aval(b);
        if (s->check_avals && !jx_aval_equal(&va, &vb)) {
            snprintf(m1, sizeof m1, "%s in %s", jx_aval_str(&va, x, sizeof x), s->an);
            snprintf(m2, sizeof m2, "%s in %s", jx_aval_str(&vb, y, sizeof y), s->bn);
            return mismatch(s, "%s, %s", m1, m2);
        }
        return JX_OK;
    }
    if (a->kind != b->kind || a->n != b->n) {
        snprintf(m1, sizeof m1, "a %s of %d in %s", kind_name(a->kind), a->n, s->an);
        snprintf(m2, sizeof m2, "a %s of %d in %s", kind_name(b->kind), b->n, s->bn);
        return mismatch(s, "%s, %s", m1, m2);
    }
    for (int i = 0; i < a->n; i++) {
        size_t n = path_push(s->path, sizeof s->path, len, a, i);
        if (a->keys && strcmp(a->keys[i], b->keys[i]) != 0) {
            snprintf(m1, sizeof m1, "key '%s' in %s", a->keys[i], s->an);
            snprintf(m2, sizeof m2, "key '%s' in %s", b->keys[i], s->bn);
            s->path[len] = 0;
            return mismatch(s, "%s, %s", m1, m2);
        }
        jx_status st = same(a->kids[i], b->kids[i], n, s);
        s->path[len] = 0;
        if (st) return st;
    }
    return JX_OK;
}

jx_status jx_tree_check_same_at(jx_loc loc, const jx_tree *a, const char *a_name, const jx_tree *b,
                                const char *b_name, int check_avals) {
    if (!a || !b) return jx_error_at(loc, JX_ERR_ARG, "tree mismatch", "NULL tree");
    same_state *s = malloc(sizeof *s);
    if (!s) return jx_error_at(loc, JX_ERR_NOMEM, "tree mismatch", "out of memory");
    s->loc = loc, s->an = a_name ? a_name : "the first tree", s->bn = b_name ? b_name : "the second tree";
    s->check_avals = check_avals, s->path[0] = 0;
    jx_status st = same(a, b, 0, s);
    free(s);
    return st;
}
