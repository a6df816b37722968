/* prims.c: the primitive and attribute tables generated from prims.def and attrs.def,
 * attribute helpers, and literal atoms. */
#include <math.h>
#include <string.h>

#include "ir.h"

const jx__prim_info jx__prims[JX_PRIM_COUNT] = {
#define JX_PRIM(E, name, nin, nout, cls) {name, nin, nout, JX__##cls},
#include "prims.def"
#undef JX_PRIM
};

const char *const jx__attr_names[JX_A_COUNT] = {
#define JX_ATTR(E, name) name,
#include "attrs.def"
#undef JX_ATTR
};

int jx__prim_lookup(const char *name, size_t len) {
    for (int p = 0; p < JX_PRIM_COUNT; p++)
        if (strlen(jx__prims[p].name) == len && memcmp(jx__prims[p].name, name, len) == 0) return p;
    return -1;
}

int jx__attr_lookup(const char *name, size_t len) {
    for (int k = 0; k < JX_A_COUNT; k++)
        if (strlen(jx__attr_names[k]) == len && memcmp(jx__attr_names[k], name, len) == 0) return k;
    return -1;
}

const jx__attr *jx__attr_get(int nattr, const jx__attr *attrs, jx__akey key) {
    for (int i = 0; i < nattr; i++)
        if (attrs[i].key == key) return &attrs[i];
    return NULL;
}

const jx_fn *jx__eqn_fn(const jx__eqn *e, jx__akey key, int i) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, key);
    return a && a->kind == JX_AK_FNS && i >= 0 && i < a->n ? a->u.fns[i] : NULL;
}

int64_t jx__attr_int(int nattr, const jx__attr *attrs, jx__akey key, int64_t def) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    return a && (a->kind == JX_AK_INT || a->kind == JX_AK_DTYPE) ? a->u.i : def;
}

jx_ints jx__attr_ints(int nattr, const jx__attr *attrs, jx__akey key) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    jx_ints r = {NULL, 0};
    if (a && a->kind == JX_AK_INTS) {
        r.v = a->u.ints;
        r.n = a->n;
    }
    return r;
}

const char *jx__attr_str(int nattr, const jx__attr *attrs, jx__akey key) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    return a && a->kind == JX_AK_STR ? a->u.s : NULL;
}

static bool attr_equal(const jx__attr *a, const jx__attr *b) {
    if (a->key != b->key || a->kind != b->kind || a->n != b->n) return false;
    switch ((jx__akind)a->kind) {
    case JX_AK_INT:
    case JX_AK_DTYPE: return a->u.i == b->u.i;
    case JX_AK_F64: return memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0;
    case JX_AK_INTS: return a->n == 0 || memcmp(a->u.ints, b->u.ints, sizeof(int64_t) * (size_t)a->n) == 0;
    case JX_AK_FNS:
        for (int i = 0; i < a->n; i++)
            if (a->u.fns[i] != b->u.fns[i]) return false;
        return true;
    case JX_AK_ARRAY: return a->u.arr == b->u.arr;
    case JX_AK_STR: return strcmp(a->u.s, b->u.s) == 0;
    }
    return false;
}

bool jx__attrs_equal(int n, const jx__attr *a, int m, const jx__attr *b) {
    if (n != m) return false;
    for (int i = 0; i < n; i++)
        if (!attr_equal(&a[i], &b[i])) return false;
    return true;
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

uint64_t jx__attrs_hash(int n, const jx__attr *a) {
    uint64_t h = (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h = mix(h, ((uint64_t)a[i].key << 16) | a[i].kind);
        switch ((jx__akind)a[i].kind) {
        case JX_AK_INT:
        case JX_AK_DTYPE: h = mix(h, (uint64_t)a[i].u.i); break;
        case JX_AK_F64: {
            uint64_t b;
            memcpy(&b, &a[i].u.f, 8);
            h = mix(h, b);
            break;
        }
        case JX_AK_INTS:
            for (int j = 0; j < a[i].n; j++) h = mix(h, (uint64_t)a[i].u.ints[j]);
            break;
        case JX_AK_FNS:
            for (int j = 0; j < a[i].n; j++) h = mix(h, (uint64_t)(uintptr_t)a[i].u.fns[j]);
            break;
        case JX_AK_ARRAY: h = mix(h, (uint64_t)(uintptr_t)a[i].u.arr); break;
        case JX_AK_STR:
            for (const char *c = a[i].u.s; *c; c++) h = mix(h, (unsigned char)*c);
            break;
        }
    }
    return h;
}

double jx__lit_f64(const jx__atom *a) {
    return jx_dtype_is_float(a->dtype) ? a->lit.f : (double)a->lit.i;
}

int64_t jx__lit_i64(const jx__atom *a) {
    return jx_dtype_is_float(a->dtype) ? (int64_t)a->lit.f : a->lit.i;
}

/* v truncated toward zero and clamped into [lo, hi]; NaN gives 0 (as convert does). */
static double sat(double v, double lo, double hi) {
    if (isnan(v)) return 0;
    return v < lo ? lo : v > hi ? hi : trunc(v);
}

/* A literal of dtype t holding v, rounded as the dtype would store it. */
jx__atom jx__lit_make(jx_dtype t, double v) {
    jx__atom a;
    memset(&a, 0, sizeof a);
    a.var = -1;
    a.dtype = t;
    switch (t) {
    case JX_F32: a.lit.f = (double)(float)v; break;
    case JX_F16: a.lit.f = (double)jx_f16_to_f32(jx_f32_to_f16((float)v)); break;
    case JX_BF16: a.lit.f = (double)jx_bf16_to_f32(jx_f32_to_bf16((float)v)); break;
    case JX_F64: a.lit.f = v; break;
    case JX_BOOL: a.lit.i = v != 0; break;
    case JX_U8: a.lit.i = (int64_t)sat(v, 0, 255); break;
    case JX_I32: a.lit.i = (int64_t)sat(v, -2147483648.0, 2147483647.0); break;
    case JX_U32: a.lit.i = (int64_t)sat(v, 0, 4294967295.0); break;
    case JX_I64:
        a.lit.i = isnan(v) ? 0 : v >= 9223372036854775807.0 ? INT64_MAX : v <= -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
        break;
    default: a.lit.i = 0; break;
    }
    return a;
}
