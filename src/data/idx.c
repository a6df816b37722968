/* idx.c: reads MNIST-style IDX files (labels and images of unsigned bytes), gzipped or
 * raw, into jx arrays, with errors that name the file and say what is wrong with it
 * (jx/idx.h). */
#define _POSIX_C_SOURCE 200809L
#include <jx/idx.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

enum { IDX_MAGIC_LABELS = 0x00000801, IDX_MAGIC_IMAGES = 0x00000803 };
#define IDX_MAX_BYTES ((uint64_t)1 << 40) /* a header asking for more is not believed */
#define IDX_CHUNK ((size_t)1 << 24)       /* bytes per gzread call */

/* Writes "path: <message>" into err and jx_errmsg(). Returns NULL so callers can
 * `return fail(...)`. */
static void *fail(char *err, size_t errlen, const char *path, const char *fmt, ...) {
    char msg[JX_IDX_ERR_MAX];
    int n = snprintf(msg, sizeof msg, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof msg) vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    jx__data_fail(JX_ERR_IO, "%s", msg);
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return NULL;
}

/* Reads up to want bytes into buf; returns the count read (fewer at the end of the data
 * or on an error: *zerr then holds zlib's message, or NULL when the data simply ended). */
static size_t read_full(gzFile gz, const char *path, void *buf, size_t want, const char **zerr) {
    size_t got = 0;
    *zerr = NULL;
    while (got < want) {
        size_t n = want - got < IDX_CHUNK ? want - got : IDX_CHUNK;
        int r = gzread(gz, (char *)buf + got, (unsigned)n);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        int code = Z_OK;
        const char *msg = gzerror(gz, &code);
        /* Z_BUF_ERROR: a gzip stream cut short, which is just truncated data. */
        if (r < 0 && code != Z_BUF_ERROR && code != Z_OK) {
            size_t np = strlen(path); /* zlib's message starts "path: " */
            if (strncmp(msg, path, np) == 0 && strncmp(msg + np, ": ", 2) == 0) msg += np + 2;
            *zerr = code == Z_ERRNO ? strerror(errno) : msg;
        }
        break;
    }
    return got;
}

/* Counts the bytes left in gz after the data (a file longer than its header says holds
 * something other than what the header describes). */
static uint64_t count_rest(gzFile gz, const char *path, const char **zerr) {
    unsigned char scratch[1 << 14];
    uint64_t extra = 0;
    size_t n;
    do {
        n = read_full(gz, path, scratch, sizeof scratch, zerr);
        extra += n;
    } while (n == sizeof scratch && !*zerr);
    return extra;
}

/* "3 labels" or "3 images of 28x28", what a header declares (static buffer). */
static const char *header_says(const uint32_t *dims, int rank) {
    static _Thread_local char s[64];
    if (rank == 1) snprintf(s, sizeof s, "%u labels", dims[0]);
    else snprintf(s, sizeof s, "%u images of %ux%u", dims[0], dims[1], dims[2]);
    return s;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *kind_name(int rank) { return rank == 1 ? "labels" : "images"; }

/* Reads the data after the header into a new buffer of exactly `bytes` bytes; NULL with
 * err set (naming the shape the header promised) when it is shorter or unreadable. */
static unsigned char *read_data(gzFile gz, const char *path, const uint32_t *dims, int rank,
                                uint64_t bytes, char *err, size_t errlen) {
    /* Grow the buffer as data arrives, so a lying header does not allocate its claim. */
    size_t cap = bytes < IDX_CHUNK ? (size_t)bytes : IDX_CHUNK, got = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf) return fail(err, errlen, path, "out of memory for %zu bytes", cap);
    const char *zerr = NULL;
    for (;;) {
        size_t n = read_full(gz, path, buf + got, cap - got, &zerr);
        got += n;
        if (got < cap || got == bytes) break;
        size_t ncap = (uint64_t)cap * 2 < bytes ? cap * 2 : (size_t)bytes;
        unsigned char *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return fail(err, errlen, path, "out of memory for %zu bytes", ncap);
        }
        buf = nb;
        cap = ncap;
    }
    if (got == bytes) {
        uint64_t extra = count_rest(gz, path, &zerr);
        if (!zerr && !extra) return buf;
        free(buf);
        if (zerr) return fail(err, errlen, path, "cannot read the data: %s", zerr);
        return fail(err, errlen, path, "%llu bytes more than the header declares (%s)",
                    (unsigned long long)extra, header_says(dims, rank));
    }
    free(buf);
    if (zerr) return fail(err, errlen, path, "cannot read the data: %s", zerr);
    return fail(err, errlen, path, "truncated: header says %s but the data ends after %llu bytes",
                header_says(dims, rank), (unsigned long long)got);
}

/* Checks the magic (and the kind the caller wants); returns the rank or 0 with err set. */
static int check_magic(const char *path, uint32_t magic, jx_idx_kind kind, char *err, size_t errlen) {
    if (magic != IDX_MAGIC_LABELS && magic != IDX_MAGIC_IMAGES) {
        unsigned type = magic >> 8 & 0xff;
        if (magic >> 16 == 0 && type >= 0x08 && type <= 0x0e)
            fail(err, errlen, path, "IDX type 0x%02x of rank %u is not supported (only unsigned "
                 "bytes: labels 0x%08x, images 0x%08x)", type, magic & 0xff,
                 IDX_MAGIC_LABELS, IDX_MAGIC_IMAGES);
        else
            fail(err, errlen, path, "not an IDX file (magic 0x%08x)", magic);
        return 0;
    }
    int rank = (int)(magic & 0xff);
    if (kind != JX_IDX_ANY && rank != (int)kind) {
        fail(err, errlen, path,
             "expected an IDX file of %s (magic 0x%08x), found %s (magic 0x%08x)",
             kind_name((int)kind), kind == JX_IDX_LABELS ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES,
             kind_name(rank), magic);
        return 0;
    }
    return rank;
}

jx_array *jx_idx_read(const char *path, jx_idx_kind kind, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!path) return fail(err, errlen, "(null)", "no file name");
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return fail(err, errlen, path, "cannot open: %s",
                    errno ? strerror(errno) : "out of memory");

    jx_array *out = NULL;
    unsigned char *data = NULL;
    unsigned char head[16];
    const char *zerr = NULL;
    size_t got = read_full(gz, path, head, 4, &zerr);
    if (got < 4) {
        if (zerr) fail(err, errlen, path, "cannot read the header: %s", zerr);
        else fail(err, errlen, path, "truncated: the header ends after %zu bytes", got);
        goto done;
    }
    uint32_t magic = be32(head);
    int rank = check_magic(path, magic, kind, err, errlen);
    if (!rank) goto done;
    size_t hlen = 4 * (size_t)rank;
    got = read_full(gz, path, head + 4, hlen, &zerr);
    if (got < hlen) {
        if (zerr) fail(err, errlen, path, "cannot read the header: %s", zerr);
        else fail(err, errlen, path, "truncated: the header ends after %zu bytes", 4 + got);
        goto done;
    }
    uint32_t dims[3];
    int64_t shape[3];
    double total = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        shape[i] = dims[i];
        total *= dims[i];
    }
    if (rank == 3 && (dims[1] == 0 || dims[2] == 0)) {
        fail(err, errlen, path, "bad image size %ux%u in the header", dims[1], dims[2]);
        goto done;
    }
    if (total > (double)IDX_MAX_BYTES) {
        fail(err, errlen, path, "header says %.0f bytes of data, more than this reader accepts",
             total);
        goto done;
    }
    uint64_t bytes = (uint64_t)total;
    data = read_data(gz, path, dims, rank, bytes, err, errlen);
    if (!data) goto done;
    out = jx_array_new(JX_U8, (jx_ints){shape, rank}, data);
    if (!out) fail(err, errlen, path, "cannot make the array: %s", jx_errmsg());
done:
    free(data);
    gzclose(gz);
    return out;
}

/* Reads <dir>/<name>.gz, or <dir>/<name> when only that exists (errors name the .gz). */
static jx_array *read_named(const char *dir, const char *name, jx_idx_kind kind, char *err,
                            size_t errlen) {
    char gz[4096], raw[4096];
    snprintf(gz, sizeof gz, "%s/%s.gz", dir, name);
    snprintf(raw, sizeof raw, "%s/%s", dir, name);
    int use_raw = access(gz, F_OK) != 0 && access(raw, F_OK) == 0;
    return jx_idx_read(use_raw ? raw : gz, kind, err, errlen);
}

int jx_idx_load_split(const char *dir, const char *prefix, jx_idx_split *out, char *err,
                   size_t errlen) {
    out->images = out->labels = NULL;
    char name[256];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    jx_array *images = read_named(dir, name, JX_IDX_IMAGES, err, errlen);
    if (!images) return -1;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    jx_array *labels = read_named(dir, name, JX_IDX_LABELS, err, errlen);
    if (!labels) {
        jx_array_release(images);
        return -1;
    }
    int64_t ni = jx_array_shape(images)[0], nl = jx_array_shape(labels)[0];
    if (ni != nl) {
        char what[4200];
        snprintf(what, sizeof what, "%s/%s-*", dir, prefix);
        fail(err, errlen, what, "%lld images but %lld labels", (long long)ni, (long long)nl);
        jx_array_release(images);
        jx_array_release(labels);
        return -1;
    }
    out->images = images;
    out->labels = labels;
    return 0;
}

void jx_idx_split_free(jx_idx_split *s) {
    if (!s) return;
    jx_array_release(s->images);
    jx_array_release(s->labels);
    s->images = s->labels = NULL;
}

int jx_idx_check_labels(const jx_array *labels, int nclasses, const char *name, char *err,
                     size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!name) name = "labels";
    if (!labels || jx_array_dtype(labels) != JX_U8 || jx_array_rank(labels) != 1) {
        fail(err, errlen, name, "not a rank-1 u8 array of labels");
        return -1;
    }
    if (nclasses < 1) {
        fail(err, errlen, name, "a class count of %d (it must be at least 1)", nclasses);
        return -1;
    }
    const unsigned char *d = jx_array_data(labels);
    for (int64_t i = 0; i < jx_array_size(labels); i++)
        if (d[i] >= nclasses) {
            fail(err, errlen, name, "label %lld is %u, outside the %d classes 0..%d",
                 (long long)i, d[i], nclasses, nclasses - 1);
            return -1;
        }
    return 0;
}
