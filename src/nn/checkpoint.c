/* checkpoint.c: saving trees to safetensors atomically (temporary file, fsync, rename,
 * fsync of the folder) and loading them back with every tensor checked against the
 * structure the caller expects. The header parser is in safetensors_read.c. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fsync, fdopen */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"
#include "tree_internal.h"

#define NOLOC ((jx_loc){NULL, 0})

typedef struct entry {
    char name[2 * JX_TREE_PATH_MAX];
    const jx_array *a;
} entry;

typedef struct collect_state {
    const char *prefix, *file;
    entry *e;
    int n, cap;
    jx_status st;
} collect_state;

static int collect(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)index;
    collect_state *c = user;
    char name[2 * JX_TREE_PATH_MAX];
    int k = snprintf(name, sizeof name, "%s%s%s", c->prefix, path[0] ? "." : "", path);
    if (k < 0 || (size_t)k >= sizeof name) {
        c->st = jx_error_at(NOLOC, JX_ERR_ARG, c->file, "tensor name '%s.%s' is too long", c->prefix, path);
        return 1;
    }
    jx_array *a = jx_tree_leaf_array(leaf);
    if (!a || !jx__st_dtype_name(jx_array_dtype(a))) {
        c->st = jx_error_at(NOLOC, JX_ERR_ARG, c->file, "tensor '%s' is %s", name, a ? "of a dtype safetensors lacks" : "not a host array");
        return 1;
    }
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].name, name)) {
            c->st = jx_error_at(NOLOC, JX_ERR_ARG, c->file, "tensor name '%s' appears twice", name);
            return 1;
        }
    if (c->n == c->cap) {
        int nc = c->cap ? 2 * c->cap : 16;
        entry *ne = realloc(c->e, (size_t)nc * sizeof *ne);
        if (!ne) {
            c->st = jx_error_at(NOLOC, JX_ERR_NOMEM, c->file, "out of memory");
            return 1;
        }
        c->e = ne, c->cap = nc;
    }
    memcpy(c->e[c->n].name, name, (size_t)k + 1);
    c->e[c->n++].a = a;
    return 0;
}

/* Appends s to the growing buffer as a JSON string. */
typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->cap ? b->cap : 256);
        while (nc < b->n + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np, b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }
static void put_json_string(buf *b, const char *s) {
    puts_(b, "\"");
    for (; *s; s++) {
        char e[8];
        if (*s == '"' || *s == '\\') e[0] = '\\', e[1] = *s, e[2] = 0;
        else if ((unsigned char)*s < 0x20) snprintf(e, sizeof e, "\\u%04x", (unsigned char)*s);
        else e[0] = *s, e[1] = 0;
        puts_(b, e);
    }
    puts_(b, "\"");
}

/* The JSON header for the entries, padded with spaces to a multiple of 8 bytes. */
static int header(buf *b, const entry *e, int n, const jx_ckpt_meta *m) {
    char num[96];
    puts_(b, "{\"__metadata__\":{\"format\":\"jx\"");
    if (m) {
        snprintf(num, sizeof num, ",\"step\":\"%lld\",\"epoch\":\"%lld\",\"prng_key\":\"%u,%u\"", (long long)m->step,
                 (long long)m->epoch, m->key[0], m->key[1]);
        puts_(b, num);
    }
    puts_(b, "}");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        puts_(b, ",");
        put_json_string(b, e[i].name);
        puts_(b, ":{\"dtype\":\"");
        puts_(b, jx__st_dtype_name(jx_array_dtype(e[i].a)));
        puts_(b, "\",\"shape\":[");
        const int64_t *sh = jx_array_shape(e[i].a);
        for (int d = 0; d < jx_array_rank(e[i].a); d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)sh[d]);
            puts_(b, num);
        }
        uint64_t nb = jx_array_nbytes(e[i].a);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + nb));
        puts_(b, num);
        off += nb;
    }
    puts_(b, "}");
    while (b->n % 8) puts_(b, " ");
    return !b->oom;
}

static jx_status io_fail(const char *file, const char *what) {
    return jx_error_at(NOLOC, JX_ERR_IO, file, "%s: %s", what, strerror(errno));
}

/* fsync of the folder holding path, so the rename itself survives a crash. */
static void sync_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

jx_status jx_checkpoint_save(const char *path, int n, const char *const *names, const jx_tree *const *trees,
                             const jx_ckpt_meta *meta) {
    if (!path || n < 0 || (n && (!names || !trees)))
        return jx_error_at(NOLOC, JX_ERR_ARG, "checkpoint_save", "NULL path, names or trees");
    collect_state c = {NULL, path, NULL, 0, 0, JX_OK};
    for (int i = 0; i < n && !c.st; i++) {
        if (!names[i] || !trees[i]) {
            c.st = jx_error_at(NOLOC, JX_ERR_ARG, path, "tree %d or its name is NULL", i);
            break;
        }
        c.prefix = names[i];
        jx__tree_walk(trees[i], collect, &c);
    }
    buf b = {0};
    if (!c.st && !header(&b, c.e, c.n, meta)) c.st = jx_error_at(NOLOC, JX_ERR_NOMEM, path, "out of memory");
    if (c.st) {
        free(c.e), free(b.p);
        return c.st;
    }
    size_t tl = strlen(path) + 16;
    char *tmp = malloc(tl);
    jx_status st = JX_OK;
    int fd = -1;
    FILE *f = NULL;
    if (!tmp) {
        st = jx_error_at(NOLOC, JX_ERR_NOMEM, path, "out of memory");
        goto out;
    }
    snprintf(tmp, tl, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        st = io_fail(path, "cannot create a temporary file beside it");
        goto out;
    }
    f = fdopen(fd, "wb");
    if (!f) {
        st = io_fail(path, "cannot open the temporary file");
        close(fd);
        goto fail;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)b.n >> (8 * i));
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(b.p, 1, b.n, f) == b.n;
    for (int i = 0; ok && i < c.n; i++) {
        size_t nb = jx_array_nbytes(c.e[i].a);
        ok = fwrite(jx_array_data(c.e[i].a), 1, nb, f) == nb;
    }
    if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = io_fail(path, "cannot write");
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        st = io_fail(path, "cannot write");
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        st = io_fail(path, "cannot rename the temporary file over it");
        goto fail;
    }
    sync_dir(path);
    goto out;
fail:
    unlink(tmp);
out:
    free(tmp), free(c.e), free(b.p);
    return st;
}

/* ------------------------------------------------------------------ loading */

static FILE *open_checked(const char *path, uint64_t *size) {
    FILE *f = fopen(path, "rb");
    struct stat s;
    if (!f || fstat(fileno(f), &s) != 0) {
        io_fail(path, "cannot open");
        if (f) fclose(f);
        return NULL;
    }
    *size = (uint64_t)s.st_size;
    return f;
}

typedef struct load_state {
    FILE *f;
    const char *file, *prefix;
    const jx__st_header *h;
} load_state;

static jx_tree *load_leaf(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)index;
    load_state *l = user;
    char name[2 * JX_TREE_PATH_MAX], want[96], got[96];
    snprintf(name, sizeof name, "%s%s%s", l->prefix, path[0] ? "." : "", path);
    int i = jx__st_find(l->h, name);
    if (i < 0) {
        jx_error_at(NOLOC, JX_ERR_ARG, l->file, "tensor '%s' is missing", name);
        return NULL;
    }
    jx_aval a = jx_tree_leaf_aval(leaf), b = l->h->t[i].aval;
    if (!jx_aval_equal(&a, &b)) {
        jx_error_at(NOLOC, JX_ERR_SHAPE, l->file, "tensor '%s': %s in the file, %s expected", name,
                    jx_aval_str(&b, got, sizeof got), jx_aval_str(&a, want, sizeof want));
        return NULL;
    }
    return jx_tree_array(jx__st_read_tensor(l->f, l->file, l->h, i));
}

jx_status jx_checkpoint_load(const char *path, int n, const char *const *names, const jx_tree *const *like,
                             jx_tree **out, jx_ckpt_meta *meta) {
    if (!path || n < 0 || (n && (!names || !like || !out)))
        return jx_error_at(NOLOC, JX_ERR_ARG, "checkpoint_load", "NULL path, names, trees or out");
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (meta) memset(meta, 0, sizeof *meta);
    uint64_t size;
    FILE *f = open_checked(path, &size);
    if (!f) return JX_ERR_IO;
    jx__st_header h;
    jx_status st = jx__st_read_header(f, size, path, &h);
    for (int i = 0; i < n && !st; i++) {
        load_state l = {f, path, names[i] ? names[i] : "", &h};
        out[i] = like[i] ? jx__tree_rebuild(like[i], load_leaf, &l) : NULL;
        if (!out[i]) st = jx_errcode() ? jx_errcode() : JX_ERR_NOMEM;
    }
    if (!st && meta) *meta = h.meta;
    if (st)
        for (int i = 0; i < n; i++) {
            jx_tree_free(out[i]);
            out[i] = NULL;
        }
    jx__st_free(&h);
    fclose(f);
    return st;
}

jx_tree *jx_checkpoint_read(const char *path, jx_ckpt_meta *meta) {
    if (meta) memset(meta, 0, sizeof *meta);
    if (!path) {
        jx_error_at(NOLOC, JX_ERR_ARG, "checkpoint_read", "NULL path");
        return NULL;
    }
    uint64_t size;
    FILE *f = open_checked(path, &size);
    if (!f) return NULL;
    jx__st_header h;
    jx_tree *t = NULL;
    if (jx__st_read_header(f, size, path, &h) == JX_OK) {
        t = jx_tree_dict();
        for (int i = 0; t && i < h.n; i++) {
            jx_array *a = jx__st_read_tensor(f, path, &h, i);
            if (!a || jx_tree_set_array_at(NOLOC, t, h.t[i].name, a) != JX_OK) {
                jx_error_at(NOLOC, jx_errcode() ? jx_errcode() : JX_ERR_IO, path, "tensor '%s': %s", h.t[i].name, jx_errmsg());
                jx_tree_free(t);
                t = NULL;
            }
        }
        if (t && meta) *meta = h.meta;
        jx__st_free(&h);
    }
    fclose(f);
    return t;
}
