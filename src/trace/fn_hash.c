/* fn_hash.c: structural hash and equality of jx_fn, the jit cache's key (src/jit/jit.c).
 * Before it the cache keyed on the printed text, which cost ~250 us per jx_jit of a
 * training step; the hash walks the IR once per function (cached in the jx_fn, which is
 * immutable once traced) and equality walks two of them without formatting anything.
 * Both look at exactly what the printed text shows: the name, every variable's aval, the
 * equations (primitive, operands, literal bits, results, attributes, source file and
 * line) and the outputs; nested functions compare structurally, arrays by content. */
#include <string.h>

#include "ir.h"

static uint64_t mix(uint64_t h, uint64_t v) {
    v *= 0x9e3779b97f4a7c15ull;
    v ^= v >> 29;
    return (h ^ v) * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

static uint64_t mix_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t w;
    for (; n >= 8; n -= 8, c += 8) {
        memcpy(&w, c, 8);
        h = mix(h, w);
    }
    w = 0;
    memcpy(&w, c, n);
    return mix(h, w ^ ((uint64_t)n << 56));
}

static uint64_t mix_str(uint64_t h, const char *s) { return s ? mix_bytes(h, s, strlen(s)) : mix(h, 1); }

static uint64_t mix_aval(uint64_t h, const jx_aval *a) {
    h = mix(h, ((uint64_t)(uint32_t)a->dtype << 32) | (uint32_t)a->rank);
    for (int d = 0; d < a->rank && d < JX_MAX_RANK; d++) h = mix(h, (uint64_t)a->shape[d]);
    return h;
}

static uint64_t mix_atom(uint64_t h, const jx__atom *a) {
    if (a->var >= 0) return mix(h, (uint64_t)a->var);
    uint64_t bits;
    memcpy(&bits, &a->lit, 8);
    return mix(mix(h, ((uint64_t)1 << 40) | (uint32_t)a->dtype), bits);
}

static uint64_t mix_attr(uint64_t h, const jx__attr *a) {
    h = mix(h, ((uint64_t)a->key << 48) | ((uint64_t)a->kind << 32) | (uint32_t)a->n);
    switch ((jx__akind)a->kind) {
    case JX_AK_INT:
    case JX_AK_DTYPE: return mix(h, (uint64_t)a->u.i);
    case JX_AK_F64: return mix_bytes(h, &a->u.f, 8);
    case JX_AK_INTS: return a->n ? mix_bytes(h, a->u.ints, 8 * (size_t)a->n) : h;
    case JX_AK_FNS:
        for (int i = 0; i < a->n; i++) h = mix(h, a->u.fns[i] ? jx__fn_hash(a->u.fns[i]) : 0);
        return h;
    case JX_AK_ARRAY:
        if (!a->u.arr) return mix(h, 0);
        return mix_bytes(mix_aval(h, &a->u.arr->aval), a->u.arr->data, a->u.arr->nbytes);
    case JX_AK_STR: return mix_str(h, a->u.s);
    }
    return h;
}

static uint64_t compute(const jx_fn *f) {
    uint64_t h = mix_str(0x6a782d666e2d3031ull, f->name);
    h = mix(h, ((uint64_t)(uint32_t)f->nvars << 32) | (uint32_t)f->neqn);
    for (int v = 0; v < f->nvars; v++) h = mix_aval(h, &f->vars[v]);
    h = mix_bytes(h, f->in, sizeof *f->in * (size_t)f->nin);
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        h = mix(h, ((uint64_t)(uint16_t)e->prim << 48) | ((uint64_t)(uint16_t)e->nattr << 32) | (uint32_t)e->nin);
        for (int i = 0; i < e->nin; i++) h = mix_atom(h, &e->in[i]);
        h = mix_bytes(h, e->out, sizeof *e->out * (size_t)e->nout);
        for (int a = 0; a < e->nattr; a++) h = mix_attr(h, &e->attrs[a]);
        h = mix(mix_str(h, e->loc.file), (uint64_t)(uint32_t)e->loc.line);
    }
    h = mix(h, (uint64_t)f->nout);
    for (int i = 0; i < f->nout; i++) h = mix_atom(h, &f->out[i]);
    return h ? h : 1; /* 0 means "not computed" */
}

uint64_t jx__fn_hash(const jx_fn *f) {
    uint64_t h = atomic_load_explicit(&f->shash, memory_order_relaxed);
    if (!h) {
        h = compute(f); /* two threads may both compute it: the same value */
        atomic_store_explicit(&((jx_fn *)f)->shash, h, memory_order_relaxed);
    }
    return h;
}

static bool str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool atom_eq(const jx__atom *a, const jx__atom *b) {
    if (a->var != b->var) return false;
    return a->var >= 0 || (a->dtype == b->dtype && memcmp(&a->lit, &b->lit, 8) == 0);
}

static bool attr_eq(const jx__attr *a, const jx__attr *b) {
    if (a->key != b->key || a->kind != b->kind || a->n != b->n) return false;
    switch ((jx__akind)a->kind) {
    case JX_AK_INT:
    case JX_AK_DTYPE: return a->u.i == b->u.i;
    case JX_AK_F64: return memcmp(&a->u.f, &b->u.f, 8) == 0;
    case JX_AK_INTS: return a->n == 0 || memcmp(a->u.ints, b->u.ints, 8 * (size_t)a->n) == 0;
    case JX_AK_FNS:
        for (int i = 0; i < a->n; i++)
            if (!jx__fn_equal(a->u.fns[i], b->u.fns[i])) return false;
        return true;
    case JX_AK_ARRAY: {
        const jx_array *x = a->u.arr, *y = b->u.arr;
        if (x == y) return true;
        return x && y && jx_aval_equal(&x->aval, &y->aval) && x->nbytes == y->nbytes &&
               memcmp(x->data, y->data, x->nbytes) == 0;
    }
    case JX_AK_STR: return str_eq(a->u.s, b->u.s);
    }
    return false;
}

static bool eqn_eq(const jx__eqn *a, const jx__eqn *b) {
    if (a->prim != b->prim || a->nattr != b->nattr || a->nin != b->nin || a->nout != b->nout ||
        a->loc.line != b->loc.line || !str_eq(a->loc.file, b->loc.file))
        return false;
    for (int i = 0; i < a->nin; i++)
        if (!atom_eq(&a->in[i], &b->in[i])) return false;
    if (a->nout && memcmp(a->out, b->out, sizeof *a->out * (size_t)a->nout) != 0) return false;
    for (int i = 0; i < a->nattr; i++)
        if (!attr_eq(&a->attrs[i], &b->attrs[i])) return false;
    return true;
}

bool jx__fn_equal(const jx_fn *a, const jx_fn *b) {
    if (a == b) return true;
    if (!a || !b || jx__fn_hash(a) != jx__fn_hash(b)) return false;
    if (a->nvars != b->nvars || a->nin != b->nin || a->neqn != b->neqn || a->nout != b->nout ||
        !str_eq(a->name, b->name))
        return false;
    for (int v = 0; v < a->nvars; v++)
        if (!jx_aval_equal(&a->vars[v], &b->vars[v])) return false;
    if (a->nin && memcmp(a->in, b->in, sizeof *a->in * (size_t)a->nin) != 0) return false;
    for (int k = 0; k < a->neqn; k++)
        if (!eqn_eq(&a->eqns[k], &b->eqns[k])) return false;
    for (int i = 0; i < a->nout; i++)
        if (!atom_eq(&a->out[i], &b->out[i])) return false;
    return true;
}
