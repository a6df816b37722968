/* impl_index.c: reference implementations of gather, scatter_add and threefry2x32;
 * sort and top_k live in impl_sort.c and are registered from here. */
#include <string.h>

#include "../../trace/ir.h"

void jx__impl_register_sort(jx__impl_rule *t); /* impl_sort.c */

/* gather/scatter_add geometry. x is (B, P, A, S) flattened: B the nbatch shared batch
 * dims, P the other dims before axis, A the indexed axis, S the dims after it;
 * indices is (B, I); gather's output (and scatter's updates) is (B, P, I, S). */
typedef struct geom {
    int64_t nb, np, na, ni, ns;
} geom;

static geom geom_of(const jx__eqn *e, const jx_aval *x, const jx_aval *idx) {
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int nbatch = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0);
    geom g = {1, 1, x->shape[axis], 1, 1};
    for (int i = 0; i < nbatch; i++) g.nb *= x->shape[i];
    for (int i = nbatch; i < axis; i++) g.np *= x->shape[i];
    for (int i = axis + 1; i < x->rank; i++) g.ns *= x->shape[i];
    for (int i = nbatch; i < idx->rank; i++) g.ni *= idx->shape[i];
    return g;
}

/* Index element k of an i32/i64/u32 array, widened exactly. */
static int64_t index_at(const jx_array *idx, int64_t k) {
    switch (idx->aval.dtype) {
    case JX_I32: return ((const int32_t *)idx->data)[k];
    case JX_U32: return ((const uint32_t *)idx->data)[k];
    default: return ((const int64_t *)idx->data)[k];
    }
}

static jx_status impl_gather(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                             jx_array **out) {
    const jx_array *x = in[0], *idx = in[1];
    jx_array *y = jx__array_alloc(&out_avals[0]);
    if (!y) return jx_errcode();
    geom g = geom_of(e, &x->aval, &idx->aval);
    size_t es = jx_dtype_size(x->aval.dtype), row = (size_t)g.ns * es;
    /* An empty axis has nothing to clamp into: the result stays zero. */
    if (g.na > 0 && row > 0) {
        const char *src = x->data;
        char *dst = y->data;
        for (int64_t b = 0; b < g.nb; b++)
            for (int64_t p = 0; p < g.np; p++)
                for (int64_t i = 0; i < g.ni; i++) {
                    int64_t a = index_at(idx, b * g.ni + i);
                    a = a < 0 ? 0 : a >= g.na ? g.na - 1 : a;
                    int64_t xo = ((b * g.np + p) * g.na + a) * g.ns;
                    int64_t yo = ((b * g.np + p) * g.ni + i) * g.ns;
                    memcpy(dst + (size_t)yo * es, src + (size_t)xo * es, row);
                }
    }
    out[0] = y;
    return JX_OK;
}

/* dst[0..n) += src[0..n) in type T, accumulated as U: integers go through their
 * unsigned type so overflow wraps instead of being undefined. */
#define ADD_ROW(T, U, dst, src, n)                                               \
    do {                                                                         \
        T *d_ = (T *)(dst);                                                      \
        const T *s_ = (const T *)(src);                                          \
        for (int64_t s = 0; s < (n); s++) d_[s] = (T)((U)d_[s] + (U)s_[s]);      \
    } while (0)

static void add_row(jx_dtype t, void *dst, const void *src, int64_t n) {
    switch (t) {
    case JX_F32: ADD_ROW(float, float, dst, src, n); break;
    case JX_F64: ADD_ROW(double, double, dst, src, n); break;
    case JX_I32: ADD_ROW(int32_t, uint32_t, dst, src, n); break;
    case JX_U32: ADD_ROW(uint32_t, uint32_t, dst, src, n); break;
    case JX_I64: ADD_ROW(int64_t, uint64_t, dst, src, n); break;
    case JX_U8: ADD_ROW(uint8_t, unsigned, dst, src, n); break;
    default: break; /* the shape rule admits no other dtype */
    }
}

static jx_status impl_scatter_add(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                                  jx_array **out) {
    const jx_array *x = in[0], *idx = in[1], *upd = in[2];
    jx_array *y = jx__array_alloc(&out_avals[0]);
    if (!y) return jx_errcode();
    memcpy(y->data, x->data, x->nbytes);
    geom g = geom_of(e, &x->aval, &idx->aval);
    size_t es = jx_dtype_size(x->aval.dtype);
    char *dst = y->data;
    const char *src = upd->data;
    for (int64_t b = 0; b < g.nb; b++)
        for (int64_t p = 0; p < g.np; p++)
            for (int64_t i = 0; i < g.ni; i++) {
                int64_t a = index_at(idx, b * g.ni + i);
                if (a < 0 || a >= g.na) continue; /* out of range: dropped */
                int64_t yo = ((b * g.np + p) * g.na + a) * g.ns;
                int64_t uo = ((b * g.np + p) * g.ni + i) * g.ns;
                add_row(x->aval.dtype, dst + (size_t)yo * es, src + (size_t)uo * es, g.ns);
            }
    out[0] = y;
    return JX_OK;
}

static uint32_t rotl32(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

/* Threefry-2x32 with 20 rounds, as jax.random's threefry2x32 (Random123's kat vectors). */
static void threefry2x32(uint32_t k0, uint32_t k1, uint32_t *x0, uint32_t *x1) {
    static const int rot[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
    uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
    uint32_t a = *x0 + ks[0], b = *x1 + ks[1];
    for (int blk = 0; blk < 5; blk++) {
        for (int r = 0; r < 4; r++) {
            a += b;
            b = rotl32(b, rot[blk & 1][r]);
            b ^= a;
        }
        /* key injection after every 4 rounds */
        a += ks[(blk + 1) % 3];
        b += ks[(blk + 2) % 3] + (uint32_t)(blk + 1);
    }
    *x0 = a;
    *x1 = b;
}

static jx_status impl_threefry(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                               jx_array **out) {
    (void)e;
    jx_array *y0 = jx__array_alloc(&out_avals[0]);
    jx_array *y1 = y0 ? jx__array_alloc(&out_avals[1]) : NULL;
    if (!y1) {
        jx_array_release(y0);
        return jx_errcode();
    }
    const uint32_t *k0 = in[0]->data, *k1 = in[1]->data, *x0 = in[2]->data, *x1 = in[3]->data;
    /* a rank-0 key is broadcast: stride 0 */
    int64_t s0 = in[0]->aval.rank ? 1 : 0, s1 = in[1]->aval.rank ? 1 : 0;
    uint32_t *o0 = y0->data, *o1 = y1->data;
    int64_t n = jx_aval_size(&out_avals[0]);
    for (int64_t i = 0; i < n; i++) {
        o0[i] = x0[i];
        o1[i] = x1[i];
        threefry2x32(k0[i * s0], k1[i * s1], &o0[i], &o1[i]);
    }
    out[0] = y0;
    out[1] = y1;
    return JX_OK;
}

void jx__impl_register_index(jx__impl_rule *t) {
    t[JX_PRIM_GATHER] = impl_gather;
    t[JX_PRIM_SCATTER_ADD] = impl_scatter_add;
    t[JX_PRIM_THREEFRY2X32] = impl_threefry;
    jx__impl_register_sort(t);
}
