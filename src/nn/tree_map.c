/* tree_map.c: maps over leaves, glob selection by path, and the indented print. */
#include <stdlib.h>
#include <string.h>

#include "tree_internal.h"

/* ------------------------------------------------------------------ maps */

typedef struct map_state {
    jx_tree_array_fn fa;
    jx_tree_val_fn fv;
    jx_tree_val2_fn f2;
    jx_val *second; /* map2: the second tree's leaves, flattened */
    void *user;
} map_state;

static jx_tree *map_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    map_state *m = user;
    if (m->fa) {
        if (leaf->kind != JX_TREE_ARRAY) {
            jx_error_at(JX_HERE, JX_ERR_ARG, "tree_map_arrays", "'%s' is not an array leaf", path);
            return NULL;
        }
        jx_array *a = m->fa(path, leaf->arr, m->user);
        return a ? jx_tree_array(a) : NULL;
    }
    if (leaf->kind != JX_TREE_VAL) {
        jx_error_at(JX_HERE, JX_ERR_ARG, "tree_map_vals", "'%s' is not a traced leaf", path);
        return NULL;
    }
    jx_val v = m->f2 ? m->f2(path, leaf->val, m->second[index], m->user) : m->fv(path, leaf->val, m->user);
    return jx_tree_val(v);
}

jx_tree *jx_tree_map_arrays(const jx_tree *t, jx_tree_array_fn f, void *user) {
    map_state m = {f, NULL, NULL, NULL, user};
    return t ? jx__tree_rebuild(t, map_leaf, &m) : NULL;
}

jx_tree *jx_tree_map_vals(const jx_tree *t, jx_tree_val_fn f, void *user) {
    map_state m = {NULL, f, NULL, NULL, user};
    return t ? jx__tree_rebuild(t, map_leaf, &m) : NULL;
}

jx_tree *jx_tree_map2_vals_at(jx_loc loc, const jx_tree *a, const jx_tree *b, jx_tree_val2_fn f,
                              void *user) {
    if (jx_tree_check_same_at(loc, a, "the first tree", b, "the second tree", 0)) return NULL;
    int n = jx_tree_num_leaves(b);
    jx_val *second = malloc((size_t)(n ? n : 1) * sizeof *second);
    if (!second) {
        jx_error_at(loc, JX_ERR_NOMEM, "tree_map2", "out of memory");
        return NULL;
    }
    jx_tree_flatten_vals(b, second, n);
    map_state m = {NULL, NULL, f, second, user};
    jx_tree *t = jx__tree_rebuild(a, map_leaf, &m);
    free(second);
    return t;
}

/* ------------------------------------------------------------------ selection */

/* Matches pattern p against path s; at_start: p begins a key (so "**" is special). */
static int match(const char *p, const char *s, int at_start) {
    if (at_start && p[0] == '*' && p[1] == '*' && (p[2] == '.' || p[2] == 0)) {
        if (p[2] == 0) return 1;
        const char *rest = p + 3;
        if (match(rest, s, 1)) return 1;
        for (const char *d = strchr(s, '.'); d; d = strchr(d + 1, '.'))
            if (match(rest, d + 1, 1)) return 1;
        return 0;
    }
    if (*p == 0) return *s == 0;
    if (*p == '*') return match(p + 1, s, 0) || (*s && *s != '.' && match(p, s + 1, 0));
    if (*p != *s) return 0;
    return match(p + 1, s + 1, *p == '.');
}

int jx_path_match(const char *pattern, const char *path) {
    return pattern && path && match(pattern, path, 1);
}

typedef struct select_state {
    const char *pattern;
    jx_tree *out;
    int count;
    int failed;
} select_state;

static int select_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)index;
    select_state *s = user;
    if (!jx_path_match(s->pattern, path)) return 0;
    s->count++;
    if (!s->out) return 0;
    jx_tree *c = jx_tree_copy(leaf);
    if (!c || jx_tree_set(s->out, path, c) != JX_OK) {
        s->failed = 1;
        return 1;
    }
    return 0;
}

jx_tree *jx_tree_select(const jx_tree *t, const char *pattern) {
    select_state s = {pattern, jx_tree_dict(), 0, 0};
    if (!t || !s.out) return s.out;
    if (jx_tree_is_leaf(t)) { /* a lone leaf has the empty path, matched only by "**" or "" */
        jx_tree_free(s.out);
        return jx_path_match(pattern, "") ? jx_tree_copy(t) : jx_tree_dict();
    }
    jx__tree_walk(t, select_leaf, &s);
    if (s.failed) {
        jx_tree_free(s.out);
        return NULL;
    }
    return s.out;
}

int jx_tree_count_matching(const jx_tree *t, const char *pattern) {
    select_state s = {pattern, NULL, 0, 0};
    if (t) jx__tree_walk(t, select_leaf, &s);
    return s.count;
}

/* ------------------------------------------------------------------ printing */

static void print_bytes(FILE *out, double b) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) b /= 1024, u++;
    if (u == 0) fprintf(out, "%.0f B", b);
    else fprintf(out, "%.1f %s", b, units[u]);
}

void jx__print_count(FILE *out, int64_t v) {
    char buf[32], res[48];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v), j = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0 && buf[i - 1] != '-') res[j++] = ',';
        res[j++] = buf[i];
    }
    res[j] = 0;
    fputs(res, out);
}

static void print_node(FILE *out, const jx_tree *t, int depth, int64_t *tot) {
    for (int i = 0; i < t->n; i++) {
        const jx_tree *k = t->kids[i];
        fprintf(out, "%*s", 2 * depth, "");
        if (t->keys) fprintf(out, "%s", t->keys[i]);
        else fprintf(out, "%d", i);
        if (!jx_tree_is_leaf(k)) {
            fprintf(out, ":%s\n", k->n ? "" : (k->kind == JX_TREE_DICT ? " {}" : " []"));
            print_node(out, k, depth + 1, tot);
            continue;
        }
        char s[96];
        jx_aval a = jx_tree_leaf_aval(k);
        int64_t n = a.rank >= 0 ? jx_aval_size(&a) : 0;
        double bytes = (double)n * (double)jx_dtype_size(a.dtype);
        fprintf(out, ": %s%s  ", jx_aval_str(&a, s, sizeof s), k->kind == JX_TREE_VAL ? " (traced)" : "");
        jx__print_count(out, n);
        fputs("  ", out);
        print_bytes(out, bytes);
        fputc('\n', out);
        tot[0]++, tot[1] += n, tot[2] += (int64_t)bytes;
    }
}

jx_status jx_tree_print(FILE *out, const jx_tree *t) {
    if (!out || !t) return jx_error_at(JX_HERE, JX_ERR_ARG, "tree_print", "NULL %s", out ? "tree" : "stream");
    int64_t tot[3] = {0, 0, 0};
    if (jx_tree_is_leaf(t)) {
        jx_tree *d = jx_tree_dict();
        if (!d) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "tree_print", "out of memory");
        jx_tree *c = jx_tree_copy(t);
        if (!c || jx_tree_set(d, "(leaf)", c) != JX_OK) {
            jx_tree_free(d);
            return jx_error_at(JX_HERE, JX_ERR_NOMEM, "tree_print", "out of memory");
        }
        print_node(out, d, 0, tot);
        jx_tree_free(d);
    } else {
        print_node(out, t, 0, tot);
    }
    fprintf(out, "total: %lld leaves, ", (long long)tot[0]);
    jx__print_count(out, tot[1]);
    fputs(" parameters, ", out);
    print_bytes(out, (double)tot[2]);
    fputc('\n', out);
    return ferror(out) ? jx_error_at(JX_HERE, JX_ERR_IO, "tree_print", "write failed") : JX_OK;
}
