/* arena.c: the bump allocator that owns a trace's or a function's memory. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct jx__chunk {
    jx__chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *jx__arena_alloc(jx__arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    jx__chunk *c = a->head;
    if (!c || c->used + n > c->cap) {
        size_t cap = n > 16384 ? n : 16384;
        if (c && c->cap * 2 > cap && c->cap < (1u << 20)) cap = c->cap * 2;
        jx__chunk *nc = malloc(sizeof *nc + cap);
        if (!nc) return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void *jx__arena_dup(jx__arena *a, const void *p, size_t n) {
    void *q = jx__arena_alloc(a, n);
    if (q && p && n) memcpy(q, p, n);
    return q;
}

char *jx__arena_strdup(jx__arena *a, const char *s) {
    if (!s) return NULL;
    return jx__arena_dup(a, s, strlen(s) + 1);
}

static bool grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int nc = *cap ? *cap * 2 : 8;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

bool jx__arena_keep_fn(jx__arena *a, jx_fn *f) {
    if (!grow((void **)&a->fns, &a->capfns, a->nfns + 1, sizeof *a->fns)) return false;
    a->fns[a->nfns++] = jx_fn_retain(f);
    return true;
}

bool jx__arena_keep_array(jx__arena *a, jx_array *x) {
    if (!grow((void **)&a->arrs, &a->caparrs, a->narrs + 1, sizeof *a->arrs)) return false;
    a->arrs[a->narrs++] = jx_array_retain(x);
    return true;
}

void jx__arena_free(jx__arena *a) {
    for (int i = 0; i < a->nfns; i++) jx_fn_release(a->fns[i]);
    for (int i = 0; i < a->narrs; i++) jx_array_release(a->arrs[i]);
    free(a->fns);
    free(a->arrs);
    jx__chunk *c = a->head;
    while (c) {
        jx__chunk *n = c->next;
        free(c);
        c = n;
    }
    memset(a, 0, sizeof *a);
}

jx__attr *jx__attrs_copy(jx__arena *a, int n, const jx__attr *attrs) {
    if (n == 0) return NULL;
    jx__attr *out = jx__arena_dup(a, attrs, sizeof *attrs * (size_t)n);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        jx__attr *t = &out[i];
        if (t->kind == JX_AK_INTS && t->n > 0) {
            t->u.ints = jx__arena_dup(a, attrs[i].u.ints, sizeof(int64_t) * (size_t)t->n);
            if (!t->u.ints) return NULL;
        } else if (t->kind == JX_AK_INTS) {
            t->u.ints = NULL;
        } else if (t->kind == JX_AK_FNS) {
            jx_fn **fs = jx__arena_alloc(a, sizeof *fs * (size_t)(t->n ? t->n : 1));
            if (!fs) return NULL;
            for (int j = 0; j < t->n; j++) {
                fs[j] = attrs[i].u.fns[j];
                if (!jx__arena_keep_fn(a, fs[j])) return NULL;
            }
            t->u.fns = fs;
        } else if (t->kind == JX_AK_ARRAY) {
            if (!jx__arena_keep_array(a, t->u.arr)) return NULL;
        } else if (t->kind == JX_AK_STR) {
            t->u.s = jx__arena_strdup(a, attrs[i].u.s ? attrs[i].u.s : "");
            if (!t->u.s) return NULL;
        }
    }
    return out;
}
