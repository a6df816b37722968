/* coco_json.c: the instances JSON parsed with YAJL's streaming callbacks into flat pools
 * (no node per number: the full train2017 file has ~60 million coordinates). A small
 * stack of frames knows where the parser is, which both dispatches each value and names
 * the JSON path in errors ("annotations[17].segmentation[0]"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "data.h"

/* Where a value sits: each context knows the fields it reads. */
typedef enum ctx {
    C_ROOT, C_IMAGES, C_IMAGE, C_CATS, C_CAT, C_ANNS, C_ANN, C_BBOX, C_POLYS, C_POLY, C_RLE, C_SIZE, C_COUNTS
} ctx;

typedef struct frame {
    ctx c;
    size_t index;  /* arrays: the element being read */
    char key[40];  /* objects: the field being read (truncated for messages) */
} frame;

enum { MAX_DEPTH = 8 };

/* fields seen in the object being read, to report missing ones */
enum { F_ID = 1, F_W = 2, F_H = 4, F_FILE = 8, F_IMG = 16, F_CAT = 32, F_NAME = 64, F_SIZE = 128, F_COUNTS = 256 };

typedef struct parser {
    const char *name;
    int failed;
    frame st[MAX_DEPTH];
    int depth;
    long skip; /* > 0: inside a value nobody reads, this many containers deep */
    jx_coco *c;
    size_t cap_img, cap_cat, cap_ann, cap_str, cap_coord, cap_poly, cap_cnt;
    size_t n_str, n_coord, n_poly, n_cnt;
    size_t *img_name, *cat_name, *cat_super; /* string offsets, per image / category */
    size_t cap_img_name, cap_cat_name, cap_cat_super;
    jx__ann_off *offs;
    size_t cap_offs;
    unsigned seen;
    size_t poly_start; /* coordinate count of the polygon being read */
} parser;

/* The path of the value being read; drop = 1 names its container instead. */
static const char *path(const parser *p, int drop, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < p->depth - drop && k < n; i++) {
        const frame *f = &p->st[i];
        int is_obj = f->c == C_ROOT || f->c == C_IMAGE || f->c == C_CAT || f->c == C_ANN || f->c == C_RLE;
        if (is_obj) k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? "." : "", f->key);
        else k += (size_t)snprintf(buf + k, n - k, "[%zu]", f->index);
    }
    return buf[0] ? buf : "(top)";
}

/* Records the error at the current path with the given status; returns 0 (stops YAJL). */
__attribute__((format(printf, 4, 5))) static int fail_as(parser *p, jx_status code, int drop, const char *fmt, ...) {
    char where[256], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jx__data_fail(code, "%s: %s: %s", p->name, path(p, drop, where, sizeof where), msg);
    p->failed = 1;
    return 0;
}
#define fail(p, ...) fail_as(p, JX_ERR_PARSE, __VA_ARGS__)

int jx__data_reserve(void **buf, size_t *cap, size_t need, size_t elt) {
    if (need <= *cap) return 1;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *b = realloc(*buf, n * elt);
    if (!b) return 0;
    *buf = b, *cap = n;
    return 1;
}
#define RESERVE(p, buf, cap, need) \
    (jx__data_reserve((void **)&(buf), &(cap), (need), sizeof *(buf)) ? 1 : fail_as((p), JX_ERR_NOMEM, 0, "out of memory"))

static frame *top(parser *p) { return &p->st[p->depth - 1]; }

static int parse_int(parser *p, const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out) {
    double d;
    int64_t v = 0;
    size_t i = s[0] == '-';
    int simple = len > i && len - i <= 18;
    for (size_t j = i; simple && j < len; j++) {
        if (s[j] < '0' || s[j] > '9') simple = 0;
        else v = v * 10 + (s[j] - '0');
    }
    if (simple) v = i ? -v : v;
    else if (jx__data_parse_double(s, len, &d) && d > -9.2e18 && d < 9.2e18 && d == (double)(int64_t)d) v = (int64_t)d;
    else return fail(p, 0, "expected an integer, found %.*s", (int)(len > 40 ? 40 : len), s);
    if (v < lo || v > hi) return fail(p, 0, "%lld is outside %lld..%lld", (long long)v, (long long)lo, (long long)hi);
    *out = v;
    return 1;
}

static int add_string(parser *p, const unsigned char *s, size_t len, size_t *off) {
    if (!RESERVE(p, p->c->strings, p->cap_str, p->n_str + len + 1)) return 0;
    memcpy(p->c->strings + p->n_str, s, len);
    p->c->strings[p->n_str + len] = 0;
    *off = p->n_str;
    p->n_str += len + 1;
    return 1;
}

static const char *type_name(int t) {
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an object", "an array"};
    return names[t];
}
enum { T_NULL, T_BOOL, T_NUM, T_STR, T_MAP, T_ARR };

/* A value starts: dispatch on where it is. Containers return their context (or -1 to skip
 * them); scalars are stored here. */
static int on_value(parser *p, int type, const char *s, size_t len, ctx *child) {
    *child = (ctx)-1;
    if (p->depth == 0) {
        if (type != T_MAP) return fail(p, 0, "expected an object, found %s", type_name(type));
        *child = C_ROOT;
        return 1;
    }
    frame *f = top(p);
    jx_coco *c = p->c;
    const char *k = f->key;
    int64_t v;
#define WANT(t, what) \
    if (type != (t)) return fail(p, 0, "expected %s, found %s", (what), type_name(type))
    switch (f->c) {
    case C_ROOT:
        if (!strcmp(k, "images")) { WANT(T_ARR, "an array"); *child = C_IMAGES; }
        else if (!strcmp(k, "categories")) { WANT(T_ARR, "an array"); *child = C_CATS; }
        else if (!strcmp(k, "annotations")) { WANT(T_ARR, "an array"); *child = C_ANNS; }
        return 1;
    case C_IMAGES:
    case C_CATS:
    case C_ANNS:
        WANT(T_MAP, "an object");
        *child = f->c + 1;
        p->seen = 0;
        if (f->c == C_IMAGES) {
            if (!RESERVE(p, c->images, p->cap_img, c->n_images + 1) ||
                !RESERVE(p, p->img_name, p->cap_img_name, c->n_images + 1)) return 0;
            memset(&c->images[c->n_images], 0, sizeof *c->images);
        } else if (f->c == C_CATS) {
            if (!RESERVE(p, c->cats, p->cap_cat, c->n_cats + 1) || !RESERVE(p, p->cat_name, p->cap_cat_name, c->n_cats + 1) ||
                !RESERVE(p, p->cat_super, p->cap_cat_super, c->n_cats + 1)) return 0;
            memset(&c->cats[c->n_cats], 0, sizeof *c->cats);
            p->cat_super[c->n_cats] = (size_t)-1;
        } else {
            if (!RESERVE(p, c->anns, p->cap_ann, c->n_anns + 1) || !RESERVE(p, p->offs, p->cap_offs, c->n_anns + 1)) return 0;
            memset(&c->anns[c->n_anns], 0, sizeof *c->anns);
            p->offs[c->n_anns] = (jx__ann_off){p->n_poly, p->n_coord, p->n_cnt};
        }
        return 1;
    case C_IMAGE: {
        jx_coco_image *im = &c->images[c->n_images];
        int w = !strcmp(k, "width"), h = !strcmp(k, "height");
        if (!strcmp(k, "id")) {
            WANT(T_NUM, "a number");
            p->seen |= F_ID;
            return parse_int(p, s, len, INT64_MIN, INT64_MAX, &im->id);
        }
        if (w || h) {
            WANT(T_NUM, "a number");
            p->seen |= w ? F_W : F_H;
            if (!parse_int(p, s, len, 1, 1 << 20, &v)) return 0;
            *(w ? &im->width : &im->height) = (int32_t)v;
            return 1;
        }
        if (!strcmp(k, "file_name")) {
            WANT(T_STR, "a string");
            p->seen |= F_FILE;
            return add_string(p, (const unsigned char *)s, len, &p->img_name[c->n_images]);
        }
        return 1;
    }
    case C_CAT: {
        jx_coco_category *cat = &c->cats[c->n_cats];
        if (!strcmp(k, "id")) {
            WANT(T_NUM, "a number");
            p->seen |= F_ID;
            return parse_int(p, s, len, INT64_MIN, INT64_MAX, &cat->id);
        }
        if (!strcmp(k, "name") || !strcmp(k, "supercategory")) {
            WANT(T_STR, "a string");
            int name = k[0] == 'n';
            p->seen |= name ? F_NAME : 0;
            return add_string(p, (const unsigned char *)s, len, name ? &p->cat_name[c->n_cats] : &p->cat_super[c->n_cats]);
        }
        return 1;
    }
    case C_ANN: {
        jx_coco_ann *a = &c->anns[c->n_anns];
        if (!strcmp(k, "id") || !strcmp(k, "image_id") || !strcmp(k, "category_id")) {
            WANT(T_NUM, "a number");
            p->seen |= k[0] == 'i' ? (k[1] == 'd' ? F_ID : F_IMG) : F_CAT;
            return parse_int(p, s, len, INT64_MIN, INT64_MAX, k[0] == 'c' ? &a->category_id : k[1] == 'd' ? &a->id : &a->image_id);
        }
        if (!strcmp(k, "iscrowd")) {
            WANT(T_NUM, "a number");
            if (!parse_int(p, s, len, 0, 1, &v)) return 0;
            a->iscrowd = (int)v;
            return 1;
        }
        if (!strcmp(k, "area")) {
            WANT(T_NUM, "a number");
            return jx__data_parse_double(s, len, &a->area) ? 1 : fail(p, 0, "not a number");
        }
        if (!strcmp(k, "bbox")) { WANT(T_ARR, "an array"); *child = C_BBOX; }
        else if (!strcmp(k, "segmentation")) {
            if (type != T_ARR && type != T_MAP)
                return fail(p, 0, "expected a list of polygons or an RLE object, found %s", type_name(type));
            if (a->kind != JX_COCO_SEG_NONE) return fail(p, 0, "a second segmentation");
            a->kind = type == T_ARR ? JX_COCO_SEG_POLYGONS : JX_COCO_SEG_RLE;
            *child = type == T_ARR ? C_POLYS : C_RLE;
            p->seen &= ~(unsigned)(F_SIZE | F_COUNTS); /* the RLE's fields share the annotation's flags */
        }
        return 1;
    }
    case C_BBOX:
        WANT(T_NUM, "a number");
        if (f->index >= 4) return fail(p, 1, "a box has 4 numbers (x, y, width, height), found more");
        return jx__data_parse_double(s, len, &c->anns[c->n_anns].bbox[f->index]) ? 1 : fail(p, 0, "not a number");
    case C_POLYS:
        WANT(T_ARR, "a polygon (an array of numbers)");
        *child = C_POLY;
        p->poly_start = p->n_coord;
        return 1;
    case C_POLY: {
        double d;
        WANT(T_NUM, "a number");
        if (!jx__data_parse_double(s, len, &d) || !(d > -1e6 && d < 1e6))
            return fail(p, 0, "coordinate %.*s is not a number within +-1e6", (int)(len > 40 ? 40 : len), s);
        if (!RESERVE(p, c->coords, p->cap_coord, p->n_coord + 1)) return 0;
        c->coords[p->n_coord++] = d;
        return 1;
    }
    case C_RLE:
        if (!strcmp(k, "size")) {
            WANT(T_ARR, "an array [height, width]");
            p->seen |= F_SIZE;
            *child = C_SIZE;
        } else if (!strcmp(k, "counts")) {
            jx_coco_ann *a = &c->anns[c->n_anns];
            if (p->seen & F_COUNTS) return fail(p, 0, "a second counts");
            p->seen |= F_COUNTS;
            if (type == T_ARR) *child = C_COUNTS;
            else if (type == T_STR) {
                jx_rle r;
                if (jx_rle_from_string(s, len, 0, 0, &r))
                    return fail_as(p, jx_errcode() == JX_ERR_NOMEM ? JX_ERR_NOMEM : JX_ERR_PARSE, 0, "%s",
                                   strstr(jx_errmsg(), ": ") ? strstr(jx_errmsg(), ": ") + 2 : jx_errmsg());
                int ok = RESERVE(p, c->counts, p->cap_cnt, p->n_cnt + r.m);
                if (ok && r.m) memcpy(c->counts + p->n_cnt, r.counts, r.m * sizeof *r.counts); /* none: counts may be NULL */
                p->n_cnt += ok ? r.m : 0;
                a->kind = JX_COCO_SEG_RLE_STRING;
                jx_rle_free(&r);
                return ok;
            } else return fail(p, 0, "expected an array or a string, found %s", type_name(type));
        }
        return 1;
    case C_SIZE:
        WANT(T_NUM, "a number");
        if (f->index >= 2) return fail(p, 1, "expected [height, width], found more numbers");
        if (!parse_int(p, s, len, 1, 1 << 20, &v)) return 0;
        *(f->index ? &c->anns[c->n_anns].rle.w : &c->anns[c->n_anns].rle.h) = (uint32_t)v;
        return 1;
    case C_COUNTS:
        WANT(T_NUM, "a number");
        if (!parse_int(p, s, len, 0, UINT32_MAX, &v) || !RESERVE(p, c->counts, p->cap_cnt, p->n_cnt + 1)) return 0;
        c->counts[p->n_cnt++] = (uint32_t)v;
        return 1;
    }
#undef WANT
    return 1;
}

/* A container ends: check the object is whole and count it. */
static int on_close(parser *p) {
    frame *f = top(p);
    jx_coco *c = p->c;
    unsigned need = 0;
    const char *names = "";
    switch (f->c) {
    case C_IMAGE: need = F_ID | F_W | F_H | F_FILE, names = "id, width, height, file_name"; break;
    case C_CAT: need = F_ID | F_NAME, names = "id, name"; break;
    case C_ANN: need = F_ID | F_IMG | F_CAT, names = "id, image_id, category_id"; break;
    case C_RLE: need = F_SIZE | F_COUNTS, names = "size, counts"; break;
    case C_SIZE:
        if (f->index != 2) return fail(p, 1, "expected [height, width], found %zu numbers", f->index);
        return 1;
    case C_POLY: {
        size_t n = p->n_coord - p->poly_start;
        if (n == 0) return fail(p, 1, "an empty polygon");
        if (n % 2) return fail(p, 1, "a polygon has an odd number of coordinates (%zu)", n);
        if (!RESERVE(p, c->poly_len, p->cap_poly, p->n_poly + 1)) return 0;
        c->poly_len[p->n_poly++] = (uint32_t)n;
        c->anns[c->n_anns].n_polys++;
        return 1;
    }
    default: return 1;
    }
    if ((p->seen & need) != need) {
        char missing[80] = "";
        const char *s = names;
        for (unsigned bit = 1, k = 0; bit <= need; bit <<= 1) {
            if (!(need & bit)) continue;
            size_t n = strcspn(s, ",");
            if (!(p->seen & bit)) snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s\"%.*s\"", k++ ? ", " : "", (int)n, s);
            s += n + (s[n] ? 2 : 0);
        }
        return fail(p, 1, "missing %s", missing);
    }
    if (f->c == C_IMAGE) c->n_images++;
    else if (f->c == C_CAT) c->n_cats++;
    else if (f->c == C_ANN) c->n_anns++;
    else if (f->c == C_RLE) c->anns[c->n_anns].rle.m = p->n_cnt - p->offs[c->n_anns].count;
    return 1;
}

/* ---- YAJL callbacks: skip what nobody reads, keep the frames and indices right */

static void after_value(parser *p) {
    if (p->depth && !p->skip) {
        frame *f = top(p);
        if (f->c != C_ROOT && f->c != C_IMAGE && f->c != C_CAT && f->c != C_ANN && f->c != C_RLE) f->index++;
    }
}

static int scalar(parser *p, int type, const char *s, size_t len) {
    if (p->skip) return 1;
    ctx child;
    if (!on_value(p, type, s, len, &child)) return 0;
    after_value(p);
    return 1;
}

static int open_container(void *ctxp, int type) {
    parser *p = ctxp;
    if (p->skip) return p->skip++, 1;
    ctx child;
    if (!on_value(p, type, NULL, 0, &child)) return 0;
    if ((int)child < 0) return p->skip = 1, 1;
    if (p->depth == MAX_DEPTH) return fail(p, 0, "nested too deep");
    frame *f = &p->st[p->depth++];
    f->c = child, f->index = 0, f->key[0] = 0;
    return 1;
}

static int close_container(void *ctxp) {
    parser *p = ctxp;
    if (p->skip) {
        if (--p->skip) return 1; /* still inside the skipped value */
    } else {
        if (!on_close(p)) return 0;
        p->depth--;
    }
    after_value(p);
    return 1;
}

static int cb_null(void *p) { return scalar(p, T_NULL, NULL, 0); }
static int cb_bool(void *p, int b) { (void)b; return scalar(p, T_BOOL, NULL, 0); }
static int cb_num(void *p, const char *s, size_t n) { return scalar(p, T_NUM, s, n); }
static int cb_str(void *p, const unsigned char *s, size_t n) { return scalar(p, T_STR, (const char *)s, n); }
static int cb_start_map(void *p) { return open_container(p, T_MAP); }
static int cb_start_arr(void *p) { return open_container(p, T_ARR); }
static int cb_key(void *ctxp, const unsigned char *s, size_t n) {
    parser *p = ctxp;
    if (p->skip) return 1;
    frame *f = top(p);
    size_t k = n < sizeof f->key - 1 ? n : sizeof f->key - 1;
    memcpy(f->key, s, k);
    f->key[k] = 0;
    return 1;
}

static const yajl_callbacks callbacks = {cb_null, cb_bool, NULL, NULL, cb_num, cb_str, cb_start_map, cb_key,
                                         close_container, cb_start_arr, close_container};

/* ---- driving the parser over a buffer or a file */

typedef struct feed {
    yajl_handle h;
    parser *p;
    size_t line, line_start, offset; /* for syntax errors */
} feed;

static jx_status syntax_error(feed *fd, const unsigned char *chunk, size_t n) {
    size_t at = n ? yajl_get_bytes_consumed(fd->h) : 0;
    at -= at > 0; /* consumed counts the offending character */
    for (size_t i = 0; i < at && i < n; i++)
        if (chunk[i] == '\n') fd->line++, fd->line_start = fd->offset + i + 1;
    unsigned char *e = yajl_get_error(fd->h, 0, chunk, n);
    char *msg = (char *)e;
    if (!strncmp(msg, "parse error: ", 13)) msg += 13;
    msg[strcspn(msg, "\n")] = 0;
    char where[256];
    jx__data_fail(JX_ERR_PARSE, "%s: line %zu, column %zu: malformed JSON (%s) in %s", fd->p->name, fd->line,
                  fd->offset + at - fd->line_start + 1, msg, path(fd->p, 0, where, sizeof where));
    yajl_free_error(fd->h, e);
    return JX_ERR_PARSE;
}

static jx_status feed_chunk(feed *fd, const unsigned char *chunk, size_t n) {
    yajl_status s = n ? yajl_parse(fd->h, chunk, n) : yajl_complete_parse(fd->h);
    if (fd->p->failed) return jx_errcode();
    if (s == yajl_status_error) return syntax_error(fd, chunk, n);
    for (const unsigned char *q = chunk, *e = chunk + n; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        fd->line++, fd->line_start = fd->offset + (size_t)(q - chunk) + 1;
    fd->offset += n;
    return JX_OK;
}

static void parser_free(parser *p) { free(p->img_name), free(p->cat_name), free(p->cat_super); }

static jx_status load(const char *name, FILE *f, const unsigned char *data, size_t len, jx_coco **out) {
    *out = NULL;
    jx_coco *c = calloc(1, sizeof *c);
    parser p = {.name = name, .c = c};
    feed fd = {.p = &p, .line = 1};
    if (!c || !(fd.h = yajl_alloc(&callbacks, NULL, &p))) {
        free(c);
        return jx__data_nomem(name);
    }
    jx_status st = JX_OK;
    size_t total = 0;
    if (f) {
        enum { CHUNK = 1 << 20 };
        unsigned char *buf = malloc(CHUNK);
        if (!buf) st = jx__data_nomem(name);
        size_t n;
        while (!st && (n = fread(buf, 1, CHUNK, f)) > 0) st = feed_chunk(&fd, buf, n), total += n;
        if (!st && ferror(f)) st = jx__data_fail(JX_ERR_IO, "%s: read error: %s", name, strerror(errno));
        free(buf);
    } else if (len) {
        st = feed_chunk(&fd, data, len), total = len;
    }
    if (!st && total == 0) st = jx__data_fail(JX_ERR_PARSE, "%s: the file is empty", name);
    if (!st) st = feed_chunk(&fd, (const unsigned char *)"", 0);
    yajl_free(fd.h);
    if (!st) st = jx__coco_finish(c, p.offs, p.img_name, p.cat_name, p.cat_super, name);
    else free(p.offs);
    parser_free(&p);
    if (st) jx_coco_free(c);
    else *out = c;
    return st;
}

jx_status jx_coco_load(const char *path, jx_coco **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return jx__data_fail(JX_ERR_IO, "%s: %s", path, strerror(errno));
    jx_status st = load(path, f, NULL, 0, out);
    fclose(f);
    return st;
}

jx_status jx_coco_load_buffer(const char *name, const void *data, size_t len, jx_coco **out) {
    return load(name, NULL, data, len, out);
}
