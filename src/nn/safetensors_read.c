/* safetensors_read.c: a strict reader for safetensors headers. The header is JSON; a
 * small parser here reads exactly what the format uses (an object of tensor entries
 * {dtype, shape, data_offsets} and a __metadata__ object of strings) and skips any
 * other value, with a depth limit, so a corrupt or hostile file gives an error, never a
 * crash (tests/fuzz/fuzz_safetensors.c runs it under libFuzzer). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"
#include "safetensors.h"

#define MAX_HEADER (100u << 20) /* as Python's safetensors */

static const struct {
    jx_dtype t;
    const char *name;
} dtypes[] = {{JX_BOOL, "BOOL"}, {JX_U8, "U8"},     {JX_I32, "I32"}, {JX_U32, "U32"}, {JX_I64, "I64"},
              {JX_F16, "F16"},   {JX_BF16, "BF16"}, {JX_F32, "F32"}, {JX_F64, "F64"}};

const char *jx__st_dtype_name(jx_dtype t) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].t == t) return dtypes[i].name;
    return NULL;
}

/* ------------------------------------------------------------------ JSON */

typedef struct parser {
    const char *s, *end, *start;
    const char *file;
    char err[200];
    int nomem; /* the failure was an allocation, not the file */
} parser;

static int fail(parser *p, const char *what) {
    if (!p->err[0]) snprintf(p->err, sizeof p->err, "%s at byte %ld of the header", what, (long)(p->s - p->start));
    return 0;
}

/* An allocation failed: reported as JX_ERR_NOMEM, never as a corrupt file. */
static int oom(parser *p) {
    p->nomem = 1;
    return fail(p, "out of memory");
}

static void ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int eat(parser *p, char c) {
    ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A string into a new malloc'd UTF-8 buffer (NULL out: skip it). */
static int string(parser *p, char **out) {
    ws(p);
    if (p->s >= p->end || *p->s != '"') return fail(p, "expected a string");
    p->s++;
    size_t cap = 16, n = 0;
    char *b = out ? malloc(cap) : NULL;
    if (out && !b) return oom(p);
    while (p->s < p->end && *p->s != '"') {
        unsigned c = (unsigned char)*p->s++;
        char tmp[4];
        int k = 1;
        tmp[0] = (char)c;
        if (c < 0x20) {
            free(b);
            return fail(p, "control character in a string");
        }
        if (c == '\\') {
            if (p->s >= p->end) break;
            char e = *p->s++;
            const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);
            if (e == 'u') {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = p->s < p->end ? *p->s++ : 0;
                    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (d < 0) {
                        free(b);
                        return fail(p, "bad \\u escape");
                    }
                    v = v * 16 + (unsigned)d;
                }
                if (v < 0x80) tmp[0] = (char)v;
                else if (v < 0x800) tmp[0] = (char)(0xC0 | v >> 6), tmp[1] = (char)(0x80 | (v & 63)), k = 2;
                else tmp[0] = (char)(0xE0 | v >> 12), tmp[1] = (char)(0x80 | ((v >> 6) & 63)), tmp[2] = (char)(0x80 | (v & 63)), k = 3;
            } else if (e && map && ((map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2) == 0) {
                tmp[0] = map[1];
            } else {
                free(b);
                return fail(p, "bad escape");
            }
        }
        if (!out) continue;
        if (n + (size_t)k + 1 > cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return oom(p);
            }
            b = nb;
        }
        memcpy(b + n, tmp, (size_t)k);
        n += (size_t)k;
    }
    if (p->s >= p->end) {
        free(b);
        return fail(p, "unterminated string");
    }
    p->s++;
    if (out) {
        if (memchr(b, 0, n)) {
            free(b);
            return fail(p, "NUL in a string");
        }
        b[n] = 0;
        *out = b;
    }
    return 1;
}

/* A non-negative integer below 2^63. */
static int integer(parser *p, uint64_t *v) {
    ws(p);
    *v = 0;
    const char *start = p->s;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
        if (*v > (uint64_t)INT64_MAX / 10) return fail(p, "integer too large");
        *v = *v * 10 + (uint64_t)(*p->s++ - '0');
    }
    if (p->s == start) return fail(p, "expected a non-negative integer");
    if (*v > (uint64_t)INT64_MAX) return fail(p, "integer too large");
    return 1;
}

static int skip_value(parser *p, int depth) {
    ws(p);
    if (depth > 32) return fail(p, "nested too deeply");
    if (p->s >= p->end) return fail(p, "unexpected end");
    char c = *p->s;
    if (c == '"') return string(p, NULL);
    if (c == '{' || c == '[') {
        p->s++;
        char close = c == '{' ? '}' : ']';
        if (eat(p, close)) return 1;
        do {
            if (c == '{' && (!string(p, NULL) || !eat(p, ':'))) return fail(p, "bad object");
            if (!skip_value(p, depth + 1)) return 0;
        } while (eat(p, ','));
        return eat(p, close) ? 1 : fail(p, "bad list or object");
    }
    const char *start = p->s;
    while (p->s < p->end && strchr("0123456789+-.eEtruefalsn", *p->s)) p->s++;
    return p->s > start ? 1 : fail(p, "unexpected character");
}

/* [int, ...] into v (at most max entries); *n the count. */
static int int_list(parser *p, uint64_t *v, int max, int *n) {
    *n = 0;
    if (!eat(p, '[')) return fail(p, "expected a list");
    if (eat(p, ']')) return 1;
    do {
        if (*n >= max) return fail(p, "list too long");
        if (!integer(p, &v[(*n)++])) return 0;
    } while (eat(p, ','));
    return eat(p, ']') ? 1 : fail(p, "bad list");
}

static int tensor_entry(parser *p, jx__st_tensor *t) {
    int have = 0;
    if (!eat(p, '{')) return fail(p, "a tensor entry must be an object");
    if (eat(p, '}')) return fail(p, "empty tensor entry");
    do {
        char *key = NULL;
        if (!string(p, &key) || !eat(p, ':')) {
            free(key);
            return fail(p, "bad tensor entry");
        }
        int ok = 1;
        if (!strcmp(key, "dtype")) {
            char *d = NULL;
            ok = string(p, &d);
            t->dtype = JX_DTYPE_COUNT;
            for (size_t i = 0; ok && i < sizeof dtypes / sizeof dtypes[0]; i++)
                if (!strcmp(d, dtypes[i].name)) t->dtype = dtypes[i].t;
            if (ok && t->dtype == JX_DTYPE_COUNT) {
                snprintf(p->err, sizeof p->err, "dtype '%.40s' is not one jx reads", d);
                ok = 0;
            }
            free(d);
            have |= 1;
        } else if (!strcmp(key, "shape")) {
            uint64_t v[JX_MAX_RANK];
            int n;
            ok = int_list(p, v, JX_MAX_RANK, &n);
            t->aval.rank = n;
            for (int i = 0; ok && i < n; i++) t->aval.shape[i] = (int64_t)v[i];
            have |= 2;
        } else if (!strcmp(key, "data_offsets")) {
            uint64_t v[2];
            int n;
            ok = int_list(p, v, 2, &n) && (n == 2 || fail(p, "data_offsets needs 2 numbers"));
            t->begin = v[0], t->end = n == 2 ? v[1] : 0;
            have |= 4;
        } else {
            ok = skip_value(p, 1);
        }
        free(key);
        if (!ok) return 0;
    } while (eat(p, ','));
    if (!eat(p, '}')) return fail(p, "bad tensor entry");
    if (have != 7) return fail(p, "a tensor entry needs dtype, shape and data_offsets");
    t->aval.dtype = t->dtype;
    return 1;
}

static int metadata(parser *p, jx_ckpt_meta *m) {
    if (!eat(p, '{')) return fail(p, "__metadata__ must be an object");
    if (eat(p, '}')) return 1;
    do {
        char *k = NULL, *v = NULL;
        int ok = string(p, &k) && eat(p, ':') && string(p, &v);
        if (ok && !strcmp(k, "step")) m->step = strtoll(v, NULL, 10);
        if (ok && !strcmp(k, "epoch")) m->epoch = strtoll(v, NULL, 10);
        if (ok && !strcmp(k, "prng_key")) {
            unsigned long a = 0, b = 0;
            if (sscanf(v, "%lu,%lu", &a, &b) == 2) m->key[0] = (uint32_t)a, m->key[1] = (uint32_t)b;
        }
        free(k), free(v);
        if (!ok) return fail(p, "__metadata__ must map strings to strings");
    } while (eat(p, ','));
    return eat(p, '}') ? 1 : fail(p, "bad __metadata__");
}

/* ------------------------------------------------------------------ the header */

void jx__st_free(jx__st_header *h) {
    for (int i = 0; h && i < h->n; i++) free(h->t[i].name);
    if (h) free(h->t);
    if (h) memset(h, 0, sizeof *h);
}

int jx__st_find(const jx__st_header *h, const char *s) {
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->t[i].name, s)) return i;
    return -1;
}

static jx_status bad(const char *file, const char *fmt, const char *a, const char *b) {
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a, b);
    return jx_error_at((jx_loc){NULL, 0}, JX_ERR_IO, file, "%s", msg);
}

static int parse(parser *p, jx__st_header *h, int *cap) {
    if (!eat(p, '{')) return fail(p, "the header is not a JSON object");
    if (eat(p, '}')) return 1;
    do {
        char *key = NULL;
        if (!string(p, &key) || !eat(p, ':')) {
            free(key);
            return fail(p, "bad header entry");
        }
        if (!strcmp(key, "__metadata__")) {
            free(key);
            if (!metadata(p, &h->meta)) return 0;
            continue;
        }
        if (h->n == *cap) {
            int nc = *cap ? 2 * *cap : 16;
            jx__st_tensor *nt = realloc(h->t, (size_t)nc * sizeof *nt);
            if (!nt) {
                free(key);
                return oom(p);
            }
            h->t = nt, *cap = nc;
        }
        jx__st_tensor *t = &h->t[h->n++];
        memset(t, 0, sizeof *t);
        t->name = key;
        if (!tensor_entry(p, t)) {
            char m[100];
            snprintf(m, sizeof m, "%s", p->err);
            snprintf(p->err, sizeof p->err, "tensor '%.80s': %s", key, m);
            return 0;
        }
    } while (eat(p, ','));
    if (!eat(p, '}')) return fail(p, "bad header: expected '}'");
    ws(p);
    return p->s == p->end ? 1 : fail(p, "bytes after the header's object");
}

jx_status jx__st_read_header(FILE *f, uint64_t file_size, const char *name, jx__st_header *h) {
    memset(h, 0, sizeof *h);
    unsigned char lenb[8];
    if (file_size < 8 || fread(lenb, 1, 8, f) != 8)
        return bad(name, "truncated: %s%s", "shorter than the 8-byte header length", "");
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | lenb[i];
    char a[32], b[32];
    snprintf(a, sizeof a, "%llu", (unsigned long long)len);
    snprintf(b, sizeof b, "%llu", (unsigned long long)file_size);
    if (len > MAX_HEADER) return bad(name, "corrupt: a header of %s bytes (file of %s)", a, b);
    if (len > file_size - 8) return bad(name, "truncated: a header of %s bytes in a file of %s", a, b);
    char *text = malloc(len + 1);
    if (!text) return jx_error_at((jx_loc){NULL, 0}, JX_ERR_NOMEM, name, "out of memory");
    if (fread(text, 1, len, f) != len) {
        free(text);
        return bad(name, "truncated: cannot read the header%s%s", "", "");
    }
    parser p = {text, text + len, text, name, "", 0};
    int cap = 0;
    int ok = parse(&p, h, &cap);
    free(text);
    if (!ok) {
        jx__st_free(h);
        if (p.nomem) return jx_error_at((jx_loc){NULL, 0}, JX_ERR_NOMEM, name, "out of memory");
        return bad(name, "corrupt header: %s%s", p.err, "");
    }
    h->data_start = 8 + len;
    uint64_t data = file_size - h->data_start;
    for (int i = 0; i < h->n; i++) {
        jx__st_tensor *t = &h->t[i];
        uint64_t elems = 1, esz = jx_dtype_size(t->dtype);
        int over = 0;
        for (int d = 0; d < t->aval.rank; d++) {
            uint64_t s = (uint64_t)t->aval.shape[d];
            /* jx_array's own limit (a running product below INT64_MAX / 16), which a
             * zero dim after huge ones would otherwise hide (found by fuzz_safetensors) */
            if (s && elems > (uint64_t)INT64_MAX / 16 / s) over = 1;
            elems *= s;
        }
        char what[160];
        snprintf(what, sizeof what, "%.100s", t->name);
        if (over || elems > UINT64_MAX / esz || t->end < t->begin || t->end - t->begin != elems * esz) {
            jx__st_free(h);
            return bad(name, "corrupt: tensor '%s': its data_offsets do not match its shape%s", what, "");
        }
        if (t->end > data) {
            jx__st_free(h);
            return bad(name, "truncated: tensor '%s' ends past the end of the file%s", what, "");
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(h->t[j].name, t->name)) {
                jx__st_free(h);
                return bad(name, "corrupt: tensor '%s' appears twice%s", what, "");
            }
    }
    return JX_OK;
}

jx_array *jx__st_read_tensor(FILE *f, const char *name, const jx__st_header *h, int i) {
    const jx__st_tensor *t = &h->t[i];
    jx_array *a = jx_array_zeros(t->dtype, (jx_ints){t->aval.shape, t->aval.rank});
    if (!a) return NULL;
    size_t nb = jx_array_nbytes(a);
    uint64_t off = h->data_start + t->begin;
    if (nb && (off > (uint64_t)LONG_MAX || fseek(f, (long)off, SEEK_SET) != 0 ||
               fread(jx_array_data_mut(a), 1, nb, f) != nb)) {
        jx_array_release(a);
        bad(name, "truncated: cannot read tensor '%s'%s", t->name, "");
        return NULL;
    }
    return a; /* little-endian on disk and in memory (jx's hosts are little-endian) */
}
