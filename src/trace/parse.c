/* parse.c: reads the text form that print.c writes back into a jx_fn (jx_fn_parse).
 *
 * The function is rebuilt through the tracer: every equation is bound with jx__bind,
 * so its shape rule runs and the declared output avals are checked against what the
 * rule computes; a parsed function is therefore always well typed. Nested functions
 * (attribute values in braces) are parsed recursively, each as its own closed trace
 * that is ended before the enclosing equation is bound.
 *
 * Errors: JX_ERR_PARSE "line L, column C: <what was expected>" for bad text; a failing
 * bind keeps the rule's code (JX_ERR_SHAPE, ...) with its message after the place;
 * JX_ERR_TYPECHECK when declared output avals differ from the computed ones. On any
 * error every trace begun is aborted and every temporary freed. Nesting is limited to
 * JX__MAX_DEPTH functions, dimensions to JX__MAX_DIM elements. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

#define JX__MAX_DEPTH 64
#define JX__MAX_DIM (INT64_C(1) << 48) /* product of an aval's nonzero dims */

typedef struct parser {
    const char *src;
    const char *p; /* next unread character */
    size_t len;
    int depth;
    jx_status code;
    char err[600];
} parser;

/* Shown names are cut to keep messages short. */
#define SHOWN(t) (int)((t).n < 40 ? (t).n : 40), (t).s

static bool fail(parser *P, const char *at, jx_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail(parser *P, const char *at, jx_status code, const char *fmt, ...) {
    if (P->code != JX_OK) return false;
    int line = 1;
    const char *ls = P->src;
    for (const char *q = P->src; q < at; q++)
        if (*q == '\n') line++, ls = q + 1;
    int n = snprintf(P->err, sizeof P->err, "line %d, column %d: ", line, (int)(at - ls) + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err + n, sizeof P->err - (size_t)n, fmt, ap);
    va_end(ap);
    P->code = code;
    return false;
}
#define SYNTAX(P, at, ...) fail((P), (at), JX_ERR_PARSE, __VA_ARGS__)
#define NOMEM(P) fail((P), (P)->p, JX_ERR_NOMEM, "out of memory")

static jx__tok peek(parser *P) { return jx__lex(P->p); }
static jx__tok next(parser *P) {
    jx__tok t = jx__lex(P->p);
    P->p = t.s + t.n;
    return t;
}
static bool accept(parser *P, const char *s) {
    jx__tok t = peek(P);
    if (!jx__tok_is(t, s)) return false;
    P->p = t.s + t.n;
    return true;
}
static bool expect(parser *P, const char *s, const char *what) {
    return accept(P, s) || SYNTAX(P, peek(P).s, "expected %s", what);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap * 2 : 8;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}
#define PUSH(vec, n, cap, item) \
    (grow((void **)&(vec), &(cap), (n) + 1, sizeof *(vec)) ? ((vec)[(n)++] = (item), true) : false)

/* ------------------------------------------------------------------ names */

typedef struct sym {
    const char *s; /* into the source text; NULL for an empty slot */
    size_t n;
    jx_val v;
} sym;

typedef struct scope {
    sym *tab;
    size_t cap, count; /* cap a power of two */
} scope;

static sym *scope_slot(const scope *sc, const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    for (size_t i = (size_t)h & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
        sym *y = &sc->tab[i];
        if (!y->s || (y->n == n && memcmp(y->s, s, n) == 0)) return y;
    }
}

static const sym *scope_find(const scope *sc, jx__tok t) {
    if (!sc->cap) return NULL;
    const sym *y = scope_slot(sc, t.s, t.n);
    return y->s ? y : NULL;
}

static bool scope_add(scope *sc, jx__tok t, jx_val v) {
    if (2 * (sc->count + 1) > sc->cap) {
        scope big = {calloc(sc->cap ? sc->cap * 2 : 64, sizeof(sym)), sc->cap ? sc->cap * 2 : 64, 0};
        if (!big.tab) return false;
        for (size_t i = 0; i < sc->cap; i++)
            if (sc->tab[i].s) *scope_slot(&big, sc->tab[i].s, sc->tab[i].n) = sc->tab[i];
        big.count = sc->count;
        free(sc->tab);
        *sc = big;
    }
    *scope_slot(sc, t.s, t.n) = (sym){t.s, t.n, v};
    sc->count++;
    return true;
}

static bool is_name(jx__tok t) {
    if (t.kind != JX__T_WORD || t.s[0] == '-' || jx__word_reserved(t.s, t.n)) return false;
    for (size_t i = 0; i < t.n; i++)
        if (t.s[i] == '(') return false; /* nan(0x...) */
    return true;
}

/* Words that start a literal rather than name a variable. */
static bool is_literal_word(jx__tok t) {
    return t.kind == JX__T_WORD && (t.s[0] == '-' || jx__tok_is(t, "true") || jx__tok_is(t, "false") ||
                                    jx__tok_is(t, "inf") || jx__tok_is(t, "nan") ||
                                    (t.n > 4 && memcmp(t.s, "nan(", 4) == 0));
}

/* ------------------------------------------------------------------ numbers, avals */

/* The value of a sign and magnitude already checked to fit. */
static int64_t signed_of(bool neg, uint64_t m) { return neg ? (m ? -(int64_t)(m - 1) - 1 : 0) : (int64_t)m; }

static bool is_int_text(jx__tok t) {
    return t.kind == JX__T_NUM && !memchr(t.s, '.', t.n) && !memchr(t.s, 'e', t.n) && !memchr(t.s, 'E', t.n);
}

static bool tok_int(parser *P, jx__tok t, int64_t *v) {
    bool neg;
    uint64_t m;
    if (!is_int_text(t)) return SYNTAX(P, t.s, "expected an integer");
    if (!jx__int_parse(t.s, t.n, &neg, &m) || m > (neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX))
        return SYNTAX(P, t.s, "integer %.*s out of range", SHOWN(t));
    *v = signed_of(neg, m);
    return true;
}

/* An integer of dtype t (not bool) from a token, range checked. */
static bool tok_int_of(parser *P, jx__tok tk, jx_dtype t, int64_t *v) {
    bool neg;
    uint64_t m, max;
    if (!is_int_text(tk)) return SYNTAX(P, tk.s, "expected an integer for %s", jx_dtype_name(t));
    if (!jx__int_parse(tk.s, tk.n, &neg, &m)) m = UINT64_MAX; /* beyond 64 bits */
    switch (t) {
    case JX_U8: max = neg ? 0 : 255; break;
    case JX_U32: max = neg ? 0 : UINT32_MAX; break;
    case JX_I32: max = neg ? (uint64_t)1 << 31 : INT32_MAX; break;
    default: max = neg ? (uint64_t)1 << 63 : INT64_MAX; break;
    }
    if (m > max) return SYNTAX(P, tk.s, "%.*s is out of range for %s", SHOWN(tk), jx_dtype_name(t));
    *v = signed_of(neg, m);
    return true;
}

static bool tok_dtype(parser *P, jx__tok t, jx_dtype *d) {
    int k = t.kind == JX__T_WORD ? jx__dtype_lookup(t.s, t.n) : -1;
    if (k < 0) return SYNTAX(P, t.s, "expected a dtype (f32, i32, bool, ...)");
    *d = (jx_dtype)k;
    return true;
}

/* "[d0,d1,...]" after a dtype. */
static bool parse_dims(parser *P, jx_dtype d, jx_aval *a) {
    memset(a, 0, sizeof *a);
    a->dtype = d;
    if (!expect(P, "[", "'[' and the dimensions after the dtype")) return false;
    if (accept(P, "]")) return true;
    int64_t size = 1;
    for (;;) {
        jx__tok t = next(P);
        int64_t v;
        if (!tok_int(P, t, &v)) return false;
        if (v < 0) return SYNTAX(P, t.s, "negative dimension %lld", (long long)v);
        if (a->rank == JX_MAX_RANK) return SYNTAX(P, t.s, "more than %d dimensions", JX_MAX_RANK);
        if (v > 1 && size > JX__MAX_DIM / v)
            return SYNTAX(P, t.s, "shape too large (more than 2^48 elements)");
        if (v > 1) size *= v;
        a->shape[a->rank++] = v;
        if (accept(P, "]")) return true;
        if (!expect(P, ",", "',' or ']' in the dimensions")) return false;
    }
}

static bool parse_aval(parser *P, jx_aval *a) {
    jx_dtype d = JX_F32;
    return tok_dtype(P, next(P), &d) && parse_dims(P, d, a);
}

/* A literal: the value token v (already read), then ":dtype". */
static bool parse_literal(parser *P, jx__tok v, jx__atom *a) {
    jx_dtype d = JX_F32;
    if (!expect(P, ":", "':' and a dtype after the literal") || !tok_dtype(P, next(P), &d)) return false;
    memset(a, 0, sizeof *a);
    a->var = -1;
    a->dtype = d;
    if (jx_dtype_is_float(d)) {
        uint64_t bits;
        if (!jx__real_parse(d, v.s, v.n, &bits))
            return SYNTAX(P, v.s, "bad %s literal '%.*s'", jx_dtype_name(d), SHOWN(v));
        a->lit.f = jx__real_value(d, bits);
    } else if (d == JX_BOOL) {
        if (!jx__tok_is(v, "true") && !jx__tok_is(v, "false"))
            return SYNTAX(P, v.s, "expected true or false for a bool literal");
        a->lit.i = jx__tok_is(v, "true");
    } else {
        return tok_int_of(P, v, d, &a->lit.i);
    }
    return true;
}

/* ------------------------------------------------------------------ attributes */

static jx_fn *parse_fn(parser *P);

static void attr_free(jx__attr *a) {
    if (a->kind == JX_AK_INTS) free((void *)a->u.ints);
    if (a->kind == JX_AK_ARRAY) jx_array_release(a->u.arr);
    if (a->kind == JX_AK_STR) free((void *)a->u.s);
    if (a->kind == JX_AK_FNS) {
        for (int i = 0; i < a->n; i++) jx_fn_release(a->u.fns[i]);
        free((void *)a->u.fns);
    }
}

/* One element of an array of dtype t, stored at p. */
static bool parse_elem(parser *P, jx_dtype t, unsigned char *p) {
    jx__tok tk = next(P);
    if (jx_dtype_is_float(t)) {
        uint64_t bits;
        if (!jx__real_parse(t, tk.s, tk.n, &bits))
            return SYNTAX(P, tk.s, "expected a %s value", jx_dtype_name(t));
        uint16_t h = (uint16_t)bits;
        uint32_t u = (uint32_t)bits;
        size_t w = jx_dtype_size(t);
        memcpy(p, w == 2 ? (void *)&h : w == 4 ? (void *)&u : (void *)&bits, w);
        return true;
    }
    int64_t v;
    if (t == JX_BOOL) {
        if (!jx__tok_is(tk, "true") && !jx__tok_is(tk, "false"))
            return SYNTAX(P, tk.s, "expected true or false");
        *p = jx__tok_is(tk, "true");
        return true;
    }
    if (!tok_int_of(P, tk, t, &v)) return false;
    if (t == JX_U8) *p = (uint8_t)v;
    else if (t == JX_I32) { int32_t q = (int32_t)v; memcpy(p, &q, 4); }
    else if (t == JX_U32) { uint32_t q = (uint32_t)v; memcpy(p, &q, 4); }
    else memcpy(p, &v, 8);
    return true;
}

/* "dtype[dims]{e0,e1,...}", the dtype already read. */
static bool parse_array(parser *P, jx_dtype d, jx_array **out) {
    jx_aval a;
    if (!parse_dims(P, d, &a)) return false;
    const char *open = peek(P).s;
    if (!expect(P, "{", "'{' and the elements of the array")) return false;
    int64_t n = jx_aval_size(&a);
    /* every element takes at least a character: refuse before allocating */
    if (n > (int64_t)(P->len - (size_t)(P->p - P->src)))
        return SYNTAX(P, open, "%s needs %lld elements; the text is shorter", jx__avs(&a), (long long)n);
    jx_array *x = jx__array_alloc(&a);
    if (!x) return NOMEM(P);
    size_t w = jx_dtype_size(d);
    for (int64_t i = 0; i < n; i++) {
        if (jx__tok_is(peek(P), "}")) {
            jx_array_release(x);
            return SYNTAX(P, peek(P).s, "%s needs %lld elements, got %lld", jx__avs(&a), (long long)n,
                          (long long)i);
        }
        if ((i && !expect(P, ",", "',' between array elements")) ||
            !parse_elem(P, d, (unsigned char *)x->data + (size_t)i * w)) {
            jx_array_release(x);
            return false;
        }
    }
    if (!accept(P, "}")) {
        jx_array_release(x);
        return SYNTAX(P, peek(P).s, "expected '}' after the %lld elements of %s", (long long)n,
                      jx__avs(&a));
    }
    *out = x;
    return true;
}

/* "{ lambda ... }" or "({ lambda ... }, ...)", the '(' already read when list. */
static bool parse_fns(parser *P, bool list, jx__attr *a) {
    jx_fn **fs = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        jx_fn *f = parse_fn(P);
        if (!f || !PUSH(fs, n, cap, f)) {
            if (f) jx_fn_release(f), NOMEM(P);
            break;
        }
        if (!list) break;
        if (accept(P, ")")) break;
        if (!expect(P, ",", "',' or ')' after a function")) break;
    }
    *a = jx__a_fns((jx__akey)0, (int)n, fs);
    return P->code == JX_OK;
}

/* "(1,2,3)", the '(' already read. */
static bool parse_ints(parser *P, jx__attr *a) {
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    *a = jx__a_ints((jx__akey)0, (jx_ints){NULL, 0});
    if (accept(P, ")")) return true;
    for (;;) {
        int64_t x;
        if (!tok_int(P, next(P), &x)) break;
        if (!PUSH(v, n, cap, x)) {
            NOMEM(P);
            break;
        }
        if (n > INT32_MAX / 2) {
            SYNTAX(P, P->p, "list too long");
            break;
        }
        if (accept(P, ")")) break;
        if (!expect(P, ",", "',' or ')' in the list")) break;
    }
    *a = jx__a_ints((jx__akey)0, (jx_ints){v, (int)n});
    return P->code == JX_OK;
}

/* A value after "key=". On failure, *a still owns what was built (attr_free it). */
static bool parse_value(parser *P, jx__attr *a) {
    *a = jx__a_int((jx__akey)0, 0);
    jx__tok t = peek(P);
    if (jx__tok_is(t, "{")) return parse_fns(P, false, a);
    if (jx__tok_is(t, "(")) {
        next(P);
        return jx__tok_is(peek(P), "{") ? parse_fns(P, true, a) : parse_ints(P, a);
    }
    next(P);
    if (t.kind == JX__T_STR) {
        bool bad;
        char *str = jx__str_decode(t.s, t.n, &bad);
        if (!str) return bad ? SYNTAX(P, t.s, "bad escape in the string %.*s", SHOWN(t)) : NOMEM(P);
        *a = jx__a_str((jx__akey)0, str);
        return true;
    }
    if (is_int_text(t)) return tok_int(P, t, &a->u.i);
    uint64_t bits;
    if (jx__real_parse(JX_F64, t.s, t.n, &bits)) {
        *a = jx__a_f64((jx__akey)0, jx__real_value(JX_F64, bits));
        return true;
    }
    int d = t.kind == JX__T_WORD ? jx__dtype_lookup(t.s, t.n) : -1;
    if (d < 0) return SYNTAX(P, t.s, "expected an attribute value");
    *a = jx__a_dtype((jx__akey)0, (jx_dtype)d);
    if (!jx__tok_is(peek(P), "[")) return true;
    jx_array *x = NULL;
    if (!parse_array(P, (jx_dtype)d, &x)) return false;
    *a = jx__a_array((jx__akey)0, x);
    return true;
}

/* "[key=value ...]", the '[' already read. attrs has room for every key. */
static bool parse_attrs(parser *P, jx__attr *attrs, int *nattr) {
    while (!accept(P, "]")) {
        jx__tok k = next(P);
        int key = k.kind == JX__T_WORD ? jx__attr_lookup(k.s, k.n) : -1;
        if (key < 0)
            return k.kind == JX__T_WORD ? SYNTAX(P, k.s, "unknown attribute '%.*s'", SHOWN(k))
                                        : SYNTAX(P, k.s, "expected an attribute name or ']'");
        if (jx__attr_get(*nattr, attrs, (jx__akey)key))
            return SYNTAX(P, k.s, "attribute '%.*s' given twice", SHOWN(k));
        if (!expect(P, "=", "'=' after the attribute name")) return false;
        jx__attr *a = &attrs[(*nattr)++];
        bool ok = parse_value(P, a);
        a->key = (uint16_t)key;
        if (!ok) return false;
    }
    return true;
}

/* ------------------------------------------------------------------ functions */

typedef struct fnstate {
    jx__trace *t;
    scope sc;
    const char *file; /* the last location's file, in t's arena */
} fnstate;

typedef struct decl {
    jx__tok name;
    jx_aval aval;
} decl;

/* "name:aval" defining a new variable (not yet in scope; nor among prior[0..nprior)). */
static bool parse_decl(parser *P, const fnstate *F, const decl *prior, size_t nprior, decl *d) {
    jx__tok t = next(P);
    if (!is_name(t))
        return t.kind == JX__T_WORD && jx__word_reserved(t.s, t.n)
                   ? SYNTAX(P, t.s, "'%.*s' is a reserved word, not a variable name", SHOWN(t))
                   : SYNTAX(P, t.s, "expected a variable name");
    bool dup = scope_find(&F->sc, t) != NULL;
    for (size_t i = 0; i < nprior && !dup; i++)
        dup = prior[i].name.n == t.n && memcmp(prior[i].name.s, t.s, t.n) == 0;
    if (dup) return SYNTAX(P, t.s, "variable '%.*s' defined twice", SHOWN(t));
    d->name = t;
    char what[80];
    snprintf(what, sizeof what, "':' and an aval after '%.*s'", SHOWN(t));
    return expect(P, ":", what) && parse_aval(P, &d->aval);
}

/* An operand or function output: a variable of this function or a literal. */
static bool parse_atom(parser *P, fnstate *F, jx_val *v) {
    jx__tok t = next(P);
    if (t.kind == JX__T_NUM || is_literal_word(t)) {
        jx__atom a;
        if (!parse_literal(P, t, &a)) return false;
        *v = jx__lit_val(F->t, a);
        return v->id >= 0 || NOMEM(P);
    }
    if (!is_name(t)) return SYNTAX(P, t.s, "expected a variable or a literal");
    const sym *y = scope_find(&F->sc, t);
    if (!y) return SYNTAX(P, t.s, "undefined variable '%.*s'", SHOWN(t));
    *v = y->v;
    return true;
}

/* Whether the next token starts an operand (a variable not followed by ':', which
 * would begin the next equation, or a literal). */
static bool at_operand(parser *P) {
    jx__tok t = peek(P);
    if (t.kind == JX__T_NUM || is_literal_word(t)) return true;
    return is_name(t) && !jx__tok_is(jx__lex(t.s + t.n), ":");
}

/* "# file:line" right after an equation, on its line: the equation's place. */
static bool parse_loc(parser *P, fnstate *F, jx_loc *loc) {
    *loc = jx__noloc;
    const char *c = P->p;
    while (*c == ' ' || *c == '\t') c++;
    if (*c != '#') return true;
    c++;
    if (*c == ' ') c++;
    const char *end = c;
    while (*end && *end != '\n') end++;
    while (end > c && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
    const char *num = end;
    while (num > c && num[-1] >= '0' && num[-1] <= '9') num--;
    if (num == end || end - num > 10) return true; /* a plain comment */
    if (num > c && num[-1] == '-') num--;
    if (num == c || num[-1] != ':') return true;
    bool neg;
    uint64_t m;
    if (!jx__int_parse(num, (size_t)(end - num), &neg, &m) || m > (neg ? 2147483648u : 2147483647u))
        return true;
    size_t flen = (size_t)(num - 1 - c);
    if (!F->file || strlen(F->file) != flen || memcmp(F->file, c, flen) != 0) {
        char *s = jx__arena_alloc(&F->t->arena, flen + 1);
        if (!s) return NOMEM(P);
        memcpy(s, c, flen);
        F->file = s;
    }
    loc->file = F->file;
    loc->line = (int)signed_of(neg, m);
    return true;
}

/* Binds the equation and checks its outputs against the declared ones. */
static bool bind_eqn(parser *P, fnstate *F, jx__tok pt, int prim, const decl *outs, size_t nout,
                     const jx_val *ops, size_t nops, const jx__attr *attrs, int nattr, jx_loc loc) {
    int maxout = (int)nout + 16, got = 0;
    jx_val *res = malloc(sizeof *res * (size_t)maxout);
    if (!res) return NOMEM(P);
    jx_status st = jx__bind(loc, (jx_prim)prim, (int)nops, ops, nattr, attrs, maxout, res, &got);
    const char *name = jx__prims[prim].name;
    if (st != JX_OK)
        fail(P, pt.s, st, "%s", F->t->errmsg ? F->t->errmsg : jx_errmsg());
    else if ((size_t)got != nout)
        fail(P, pt.s, JX_ERR_TYPECHECK, "%s gives %d outputs, declared %d", name, got, (int)nout);
    for (size_t i = 0; i < nout && P->code == JX_OK; i++) {
        jx_aval a = jx__val_aval(res[i]);
        if (!jx_aval_equal(&a, &outs[i].aval))
            fail(P, outs[i].name.s, JX_ERR_TYPECHECK, "%s gives %s, declared %s", name, jx__avs(&a),
                 jx__avs(&outs[i].aval));
        else if (!scope_add(&F->sc, outs[i].name, res[i]))
            NOMEM(P);
    }
    free(res);
    return P->code == JX_OK;
}

/* "outs = prim[attrs] operands  # file:line" */
static bool parse_eqn(parser *P, fnstate *F) {
    decl *outs = NULL;
    jx_val *ops = NULL;
    size_t nout = 0, capout = 0, nops = 0, capops = 0;
    jx__attr attrs[JX_A_COUNT];
    int nattr = 0, prim = -1;
    jx__tok pt = peek(P);
    jx_loc loc;
    if (pt.kind != JX__T_WORD && !jx__tok_is(pt, "=")) {
        SYNTAX(P, pt.s, "expected an equation or 'in'");
        goto done;
    }
    /* after the first output, a word without ':' is a misplaced primitive */
    while (peek(P).kind == JX__T_WORD && (nout == 0 || jx__tok_is(jx__lex(peek(P).s + peek(P).n), ":"))) {
        decl d;
        if (!parse_decl(P, F, outs, nout, &d)) goto done;
        if (!PUSH(outs, nout, capout, d)) {
            NOMEM(P);
            goto done;
        }
    }
    if (!expect(P, "=", "'=' after the outputs")) goto done;
    pt = next(P);
    prim = pt.kind == JX__T_WORD ? jx__prim_lookup(pt.s, pt.n) : -1;
    if (prim < 0) {
        if (pt.kind == JX__T_WORD) SYNTAX(P, pt.s, "unknown primitive '%.*s'", SHOWN(pt));
        else SYNTAX(P, pt.s, "expected a primitive after '='");
        goto done;
    }
    if (accept(P, "[") && !parse_attrs(P, attrs, &nattr)) goto done;
    while (at_operand(P)) {
        jx_val v;
        if (!parse_atom(P, F, &v)) goto done;
        if (!PUSH(ops, nops, capops, v)) {
            NOMEM(P);
            goto done;
        }
    }
    if (parse_loc(P, F, &loc)) bind_eqn(P, F, pt, prim, outs, nout, ops, nops, attrs, nattr, loc);
done:
    for (int i = 0; i < nattr; i++) attr_free(&attrs[i]);
    free(outs);
    free(ops);
    return P->code == JX_OK;
}

/* "in (atom, ...) }" then ends the trace. */
static jx_fn *parse_outputs(parser *P, fnstate *F) {
    jx_val *outs = NULL;
    size_t n = 0, cap = 0;
    jx_fn *f = NULL;
    if (!expect(P, "(", "'(' after 'in'")) goto done;
    if (!accept(P, ")")) {
        for (;;) {
            jx_val v;
            if (!parse_atom(P, F, &v)) goto done;
            if (!PUSH(outs, n, cap, v)) {
                NOMEM(P);
                goto done;
            }
            if (accept(P, ")")) break;
            if (!expect(P, ",", "',' or ')' after an output")) goto done;
        }
    }
    if (!expect(P, "}", "'}' to close the function")) goto done;
    f = jx__trace_end(F->t, (int)n, outs, NULL, NULL);
    F->t = NULL; /* ended either way */
    if (!f) fail(P, P->p, jx_errcode(), "%s", jx_errmsg());
done:
    free(outs);
    return f;
}

static jx_fn *parse_fn(parser *P) {
    fnstate F = {NULL, {NULL, 0, 0}, NULL};
    decl *ins = NULL;
    jx_aval *avals = NULL;
    jx_val *vals = NULL;
    size_t nin = 0, cap = 0;
    jx_fn *f = NULL;
    jx__tok open = peek(P);
    if (P->depth >= JX__MAX_DEPTH) {
        SYNTAX(P, open.s, "functions nested more than %d deep", JX__MAX_DEPTH);
        return NULL;
    }
    P->depth++;
    if (!expect(P, "{", "'{' to open a function") || !expect(P, "lambda", "'lambda' after '{'"))
        goto done;
    while (peek(P).kind == JX__T_WORD) {
        decl d;
        if (!parse_decl(P, &F, ins, nin, &d)) goto done;
        if (!PUSH(ins, nin, cap, d)) {
            NOMEM(P);
            goto done;
        }
    }
    if (!expect(P, ".", "'.' after the inputs")) goto done;
    avals = malloc(sizeof *avals * (nin ? nin : 1));
    vals = malloc(sizeof *vals * (nin ? nin : 1));
    if (!avals || !vals) {
        NOMEM(P);
        goto done;
    }
    for (size_t i = 0; i < nin; i++) avals[i] = ins[i].aval;
    F.t = jx__trace_begin(jx__noloc, "parsed", (int)nin, avals, vals, false);
    if (!F.t) {
        NOMEM(P);
        goto done;
    }
    for (size_t i = 0; i < nin; i++)
        if (vals[i].id < 0 || !scope_add(&F.sc, ins[i].name, vals[i])) {
            NOMEM(P);
            goto done;
        }
    accept(P, "let");
    while (!jx__tok_is(peek(P), "in"))
        if (!parse_eqn(P, &F)) goto done;
    next(P);
    f = parse_outputs(P, &F);
done:
    if (F.t) jx__trace_abort(F.t);
    free(F.sc.tab);
    free(ins);
    free(avals);
    free(vals);
    P->depth--;
    return f;
}

jx_fn *jx_fn_parse(const char *text) {
    if (!text) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_parse", "text is NULL");
        return NULL;
    }
    parser P = {text, text, strlen(text), 0, JX_OK, {0}};
    jx_fn *f = parse_fn(&P);
    if (f && peek(&P).kind != JX__T_EOF) {
        SYNTAX(&P, peek(&P).s, "expected the end of the text after the function");
        jx_fn_release(f);
        f = NULL;
    }
    if (!f) jx__fail(P.code != JX_OK ? P.code : JX_ERR_INTERNAL, jx__noloc, NULL, "%s", P.err);
    return f;
}
