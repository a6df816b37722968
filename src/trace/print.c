/* print.c: the jaxpr-like text form of a jx_fn (jx_fn_print, jx_fn_to_string).
 *
 *   { lambda a:f32[128,784] b:f32[784,512] .
 *     let c:f32[128,512] = dot_general[lhs_contract=(1) rhs_contract=(0) lhs_batch=() rhs_batch=()] a b  # model.c:41
 *         d:f32[128,512] = max c 0.0:f32  # model.c:42
 *     in (d) }
 *
 * Variables are named per function in order of definition (inputs, then equation
 * outputs): a..z, ba..bz, ca.., skipping the words the parser reserves (in, let, ...).
 * Literals carry their dtype. Attributes print in their stored order as key=value:
 * ints 3, int lists (1,2) / () / (5), floats always with '.' or an exponent, dtypes by
 * name, arrays as f32[2,2]{1,2,3,4}, and nested functions as { lambda ... } when the
 * attribute holds one, as ({ lambda ... }, { lambda ... }) otherwise; a nested function's
 * lines are indented to its '{'. Reals print in the shortest form that reads back to the
 * same bits (NaN payloads other than the canonical quiet NaN as nan(0x<bits>)), so
 * parse(print(f)) prints identically. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

typedef struct buf {
    char *s;
    size_t n, cap;
    size_t line_start; /* offset of the current line, for indentation */
    bool oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            for (size_t i = b->n; i < b->n + (size_t)k; i++)
                if (b->s[i] == '\n') b->line_start = i + 1;
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap ? b->cap : 256;
        while (nc <= b->n + (size_t)k) nc *= 2;
        char *q = realloc(b->s, nc);
        if (!q) {
            b->oom = true;
            return;
        }
        b->s = q;
        b->cap = nc;
    }
}

static int column(const buf *b) { return (int)(b->n - b->line_start); }
static void newline_to(buf *b, int col) { put(b, "\n%*s", col, ""); }

/* ------------------------------------------------------------------ names */

typedef struct names {
    int64_t *of; /* var id -> name number, -1 while unnamed */
    int32_t nvars;
    int64_t next;
} names;

static size_t name_text(int64_t k, char *out) {
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = (char)('a' + k % 26);
        k /= 26;
    } while (k && n < sizeof tmp);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

static void define(names *nm, int32_t var) {
    if (var < 0 || var >= nm->nvars || nm->of[var] >= 0) return;
    char s[17];
    while (jx__word_reserved(s, name_text(nm->next, s))) nm->next++;
    nm->of[var] = nm->next++;
}

static void put_var(buf *b, names *nm, int32_t var) {
    if (var < 0 || var >= nm->nvars) {
        put(b, "?");
        return;
    }
    define(nm, var); /* a variable used before any definition (malformed IR) */
    char s[17];
    name_text(nm->of[var], s);
    put(b, "%s", s);
}

/* ------------------------------------------------------------------ values */

static void put_aval(buf *b, const jx_aval *a) {
    char s[160];
    put(b, "%s", jx_aval_str(a, s, sizeof s));
}

static void put_real(buf *b, jx_dtype t, uint64_t bits, bool mark) {
    char s[64];
    jx__real_format(t, bits, mark, s, sizeof s);
    put(b, "%s", s);
}

/* An integer or bool element value, as the dtype holds it. */
static void put_int(buf *b, jx_dtype t, int64_t v) {
    switch (t) {
    case JX_BOOL: put(b, "%s", v ? "true" : "false"); break;
    case JX_U8: put(b, "%u", (unsigned)(uint8_t)v); break;
    case JX_I32: put(b, "%d", (int)(int32_t)v); break;
    case JX_U32: put(b, "%lu", (unsigned long)(uint32_t)v); break;
    default: put(b, "%lld", (long long)v); break;
    }
}

static void put_atom(buf *b, names *nm, const jx__atom *a) {
    if (a->var >= 0) {
        put_var(b, nm, a->var);
        return;
    }
    if (jx_dtype_is_float(a->dtype))
        put_real(b, a->dtype, jx__real_bits(a->dtype, a->lit.f), true);
    else
        put_int(b, a->dtype, a->lit.i);
    put(b, ":%s", jx_dtype_name(a->dtype));
}

static void put_array(buf *b, const jx_array *x) {
    put_aval(b, &x->aval);
    put(b, "{");
    jx_dtype t = x->aval.dtype;
    size_t w = jx_dtype_size(t);
    int64_t n = jx_aval_size(&x->aval);
    const unsigned char *p = x->data;
    for (int64_t i = 0; i < n && !b->oom; i++, p += w) {
        if (i) put(b, ",");
        if (jx_dtype_is_float(t)) {
            uint64_t bits = 0;
            uint16_t h;
            uint32_t u;
            if (w == 2) memcpy(&h, p, 2), bits = h;
            else if (w == 4) memcpy(&u, p, 4), bits = u;
            else memcpy(&bits, p, 8);
            put_real(b, t, bits, false);
            continue;
        }
        int64_t v = 0;
        switch (t) {
        case JX_BOOL:
        case JX_U8: v = *p; break;
        case JX_I32: { int32_t q; memcpy(&q, p, 4); v = q; break; }
        case JX_U32: { uint32_t q; memcpy(&q, p, 4); v = q; break; }
        default: memcpy(&v, p, 8); break;
        }
        put_int(b, t, v);
    }
    put(b, "}");
}

/* ------------------------------------------------------------------ functions */

static void put_fn(buf *b, const jx_fn *f, int col);

static void put_attr(buf *b, const jx__attr *a) {
    put(b, "%s=", a->key < JX_A_COUNT ? jx__attr_names[a->key] : "?");
    switch ((jx__akind)a->kind) {
    case JX_AK_INT: put(b, "%lld", (long long)a->u.i); break;
    case JX_AK_F64: put_real(b, JX_F64, jx__real_bits(JX_F64, a->u.f), true); break;
    case JX_AK_DTYPE: put(b, "%s", jx_dtype_name((jx_dtype)a->u.i)); break;
    case JX_AK_INTS:
        put(b, "(");
        for (int i = 0; i < a->n; i++) put(b, i ? ",%lld" : "%lld", (long long)a->u.ints[i]);
        put(b, ")");
        break;
    case JX_AK_ARRAY:
        if (a->u.arr) put_array(b, a->u.arr);
        else put(b, "?");
        break;
    case JX_AK_FNS:
        if (a->n == 1) {
            put_fn(b, a->u.fns[0], column(b));
            break;
        }
        put(b, "(");
        int col = column(b);
        for (int i = 0; i < a->n; i++) {
            if (i) {
                put(b, ",");
                newline_to(b, col);
            }
            put_fn(b, a->u.fns[i], col);
        }
        put(b, ")");
        break;
    case JX_AK_STR:
        put(b, "\"");
        for (const unsigned char *c = (const unsigned char *)a->u.s; c && *c; c++)
            if (!jx__str_escaped(*c)) put(b, "%c", *c);
            else if (*c == '"' || *c == '\\') put(b, "\\%c", *c);
            else put(b, "\\x%02x", *c);
        put(b, "\"");
        break;
    default: put(b, "?"); break;
    }
}

/* "name:aval " for a variable being defined. */
static void put_decl(buf *b, names *nm, const jx_fn *f, int32_t var) {
    define(nm, var);
    put_var(b, nm, var);
    put(b, ":");
    if (var >= 0 && var < f->nvars) put_aval(b, &f->vars[var]);
    put(b, " ");
}

static void put_fn(buf *b, const jx_fn *f, int col) {
    if (!f) {
        put(b, "?");
        return;
    }
    names nm = {calloc((size_t)(f->nvars ? f->nvars : 1), sizeof(int64_t)), f->nvars, 0};
    if (!nm.of) {
        b->oom = true;
        return;
    }
    for (int32_t i = 0; i < f->nvars; i++) nm.of[i] = -1;
    put(b, "{ lambda ");
    for (int i = 0; i < f->nin; i++) put_decl(b, &nm, f, f->in[i]);
    put(b, ".");
    for (int k = 0; k < f->neqn && !b->oom; k++) {
        const jx__eqn *e = &f->eqns[k];
        newline_to(b, col + (k ? 6 : 2));
        if (!k) put(b, "let ");
        for (int i = 0; i < e->nout; i++) put_decl(b, &nm, f, e->out[i]);
        put(b, "= %s", (unsigned)e->prim < JX_PRIM_COUNT ? jx__prims[e->prim].name : "?");
        if (e->nattr > 0) {
            put(b, "[");
            int acol = column(b);
            for (int i = 0; i < e->nattr; i++) {
                if (i && e->attrs[i - 1].kind == JX_AK_FNS) newline_to(b, acol);
                else if (i) put(b, " ");
                put_attr(b, &e->attrs[i]);
            }
            put(b, "]");
        }
        for (int i = 0; i < e->nin; i++) {
            put(b, " ");
            put_atom(b, &nm, &e->in[i]);
        }
        /* A file name with a line break cannot sit in a comment: leave the place out. */
        if (e->loc.file && !strpbrk(e->loc.file, "\r\n"))
            put(b, "  # %s:%d", e->loc.file, e->loc.line);
    }
    newline_to(b, col + 2);
    put(b, "in (");
    for (int i = 0; i < f->nout; i++) {
        if (i) put(b, ", ");
        put_atom(b, &nm, &f->out[i]);
    }
    put(b, ") }");
    free(nm.of);
}

char *jx_fn_to_string(const jx_fn *f) {
    if (!f) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_to_string", "function is NULL");
        return NULL;
    }
    buf b = {0};
    put_fn(&b, f, 0);
    put(&b, "\n");
    if (b.oom) {
        free(b.s);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_fn_to_string", "out of memory");
        return NULL;
    }
    return b.s;
}

jx_status jx_fn_print(FILE *out, const jx_fn *f) {
    if (!out) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_print", "stream is NULL");
    char *s = jx_fn_to_string(f);
    if (!s) return jx_errcode();
    int r = fputs(s, out);
    free(s);
    if (r < 0) return jx__fail(JX_ERR_IO, jx__noloc, "jx_fn_print", "write failed");
    return JX_OK;
}
