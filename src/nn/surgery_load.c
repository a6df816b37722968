/* surgery_load.c: loading what fits of a checkpoint into a tree that differs from the
 * one saved (a new head, an inserted layer, an adapter): each leaf of the target takes
 * the file's tensor of the same path (after renaming) when dtype and shape agree, keeps
 * its own value otherwise, and the report names every leaf that did not load and every
 * tensor of the file that found no leaf. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include <jx/surgery.h>

typedef struct renames {
    int n;
    const char *const (*pairs)[2]; /* {from (file), to (tree)} */
} renames;

/* Rewrites path's prefix `from` into `to` (dir 0: file to tree; 1: tree to file). */
static void rename_path(const renames *r, int dir, const char *path, char *out, size_t cap) {
    for (int i = 0; i < r->n; i++) {
        const char *from = r->pairs[i][dir], *to = r->pairs[i][1 - dir];
        size_t n = strlen(from);
        if (!strncmp(path, from, n) && (path[n] == 0 || path[n] == '.')) {
            snprintf(out, cap, "%s%s", to, path + n);
            return;
        }
    }
    snprintf(out, cap, "%s", path);
}

/* The node at path, or NULL, without recording an error (list elements by number). */
static const jx_tree *find_quiet(const jx_tree *t, const char *path) {
    const char *s = path;
    while (t && *s) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        const jx_tree *next = NULL;
        for (int i = 0; i < jx_tree_num_children(t) && !next; i++) {
            char idx[16];
            const char *k = jx_tree_key(t, i);
            if (!k) snprintf(idx, sizeof idx, "%d", i), k = idx;
            if (strlen(k) == len && !strncmp(k, s, len)) next = jx_tree_child(t, i);
        }
        t = next;
        s = dot ? dot + 1 : s + len;
    }
    return t;
}

static int add_name(char ***list, int *n, const char *s) {
    char **nl = realloc(*list, (size_t)(*n + 1) * sizeof *nl);
    if (!nl) return 0;
    *list = nl;
    return (nl[*n] = strdup(s)) ? (++*n, 1) : 0;
}

void jx_load_report_free(jx_load_report *r) {
    if (!r) return;
    char **lists[4] = {r->loaded, r->missing, r->extra, r->misshaped};
    int counts[4] = {r->nloaded, r->nmissing, r->nextra, r->nmisshaped};
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < counts[k]; i++) free(lists[k][i]);
        free(lists[k]);
    }
    *r = (jx_load_report){0};
}

void jx_load_report_print(FILE *out, const jx_load_report *r) {
    fprintf(out, "loaded %d, missing %d, extra %d, mis-shaped %d\n", r->nloaded, r->nmissing, r->nextra,
            r->nmisshaped);
    for (int i = 0; i < r->nmissing; i++) fprintf(out, "  missing: %s (kept)\n", r->missing[i]);
    for (int i = 0; i < r->nmisshaped; i++) fprintf(out, "  mis-shaped: %s (kept)\n", r->misshaped[i]);
    for (int i = 0; i < r->nextra; i++) fprintf(out, "  extra: %s (ignored)\n", r->extra[i]);
}

typedef struct load_state {
    const jx_tree *file; /* the saved tree's part under `name` (may be NULL) */
    const jx_tree *like;
    renames rn;
    jx_load_report rep;
    int oom;
} load_state;

static jx_array *pick(const char *path, const jx_array *a, void *user) {
    load_state *s = user;
    char fpath[4 * JX_TREE_PATH_MAX], text[6 * JX_TREE_PATH_MAX], as[96], bs[96];
    rename_path(&s->rn, 1, path, fpath, sizeof fpath);
    const jx_tree *leaf = s->file ? find_quiet(s->file, fpath) : NULL;
    jx_array *fa = leaf ? jx_tree_leaf_array(leaf) : NULL;
    jx_aval want = jx_array_aval(a), got = fa ? jx_array_aval(fa) : want;
    int same = fa && got.dtype == want.dtype && got.rank == want.rank &&
               !memcmp(got.shape, want.shape, (size_t)want.rank * sizeof *want.shape);
    if (same) {
        s->oom |= !add_name(&s->rep.loaded, &s->rep.nloaded, path);
        return jx_array_retain(fa);
    }
    if (!fa) {
        s->oom |= !add_name(&s->rep.missing, &s->rep.nmissing, path);
    } else {
        snprintf(text, sizeof text, "%s: %s in the file, %s in the tree", path, jx_aval_str(&got, as, sizeof as),
                 jx_aval_str(&want, bs, sizeof bs));
        s->oom |= !add_name(&s->rep.misshaped, &s->rep.nmisshaped, text);
    }
    return jx_array_retain((jx_array *)a);
}

jx_status jx_checkpoint_load_matching(const char *path, const char *name, const jx_tree *like, int nrename,
                                      const char *const (*rename)[2], jx_tree **out, jx_load_report *report) {
    if (out) *out = NULL;
    if (report) *report = (jx_load_report){0};
    if (!path || !name || !like || !out || nrename < 0 || (nrename && !rename))
        return jx_error_at(JX_HERE, JX_ERR_ARG, "checkpoint_load_matching", "NULL argument");
    jx_tree *file = jx_checkpoint_read(path, NULL);
    if (!file) return jx_errcode();
    load_state s = {find_quiet(file, name), like, {nrename, rename}, {0}, 0};
    *out = jx_tree_map_arrays(like, pick, &s);
    /* the file's tensors under name that no leaf took */
    int nf = s.file ? jx_tree_num_leaves(s.file) : 0;
    char fpath[4 * JX_TREE_PATH_MAX], tpath[4 * JX_TREE_PATH_MAX];
    for (int i = 0; i < nf && *out; i++) {
        if (jx_tree_is_leaf(s.file)) break; /* a lone tensor named `name`: nothing to compare */
        jx_tree_leaf_path(s.file, i, fpath, sizeof fpath);
        rename_path(&s.rn, 0, fpath, tpath, sizeof tpath);
        const jx_tree *t = find_quiet(like, tpath);
        if (!t || !jx_tree_is_leaf(t)) s.oom |= !add_name(&s.rep.extra, &s.rep.nextra, fpath);
    }
    jx_tree_free(file);
    jx_status st = *out ? JX_OK : jx_errcode();
    if (st == JX_OK && s.oom) st = jx_error_at(JX_HERE, JX_ERR_NOMEM, "checkpoint_load_matching", "out of memory");
    if (st != JX_OK || !report) jx_load_report_free(&s.rep);
    else *report = s.rep;
    if (st != JX_OK) jx_tree_free(*out), *out = NULL;
    return st ? st : JX_OK;
}
