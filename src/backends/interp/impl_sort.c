/* impl_sort.c: reference implementations of sort (stable, multi-key, NaNs last) and
 * top_k. Both sort a permutation of one lane with a stable merge sort, then gather. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"

void jx__impl_register_sort(jx__impl_rule *t);

/* Compares elements i and j of a key lane: -1, 0 or 1; NaN above everything (and
 * equal to NaN), -0.0 equal to +0.0. */
typedef int (*cmp_fn)(const void *data, int64_t i, int64_t j);

#define CMP_INT(name, T)                                             \
    static int name(const void *data, int64_t i, int64_t j) {        \
        T a = ((const T *)data)[i], b = ((const T *)data)[j];        \
        return (a > b) - (a < b);                                    \
    }
#define CMP_FLOAT(name, T)                                           \
    static int name(const void *data, int64_t i, int64_t j) {        \
        T a = ((const T *)data)[i], b = ((const T *)data)[j];        \
        if (isnan(a) || isnan(b)) return (int)isnan(a) - (int)isnan(b); \
        return (a > b) - (a < b);                                    \
    }
CMP_INT(cmp_u8, uint8_t)
CMP_INT(cmp_i32, int32_t)
CMP_INT(cmp_u32, uint32_t)
CMP_INT(cmp_i64, int64_t)
CMP_FLOAT(cmp_f32, float)
CMP_FLOAT(cmp_f64, double)

static cmp_fn cmp_for(jx_dtype t) {
    switch (t) {
    case JX_BOOL:
    case JX_U8: return cmp_u8;
    case JX_I32: return cmp_i32;
    case JX_U32: return cmp_u32;
    case JX_I64: return cmp_i64;
    case JX_F32: return cmp_f32;
    case JX_F64: return cmp_f64;
    default: return NULL; /* storage types are rejected as keys by the shape rule */
    }
}

/* The keys of one lane: element p of key k is at data[k] index base + p * stride. */
typedef struct lane {
    int nkeys;
    const void *const *data;
    const cmp_fn *cmp;
    int64_t base, stride;
    int descending;
} lane;

static int lane_cmp(const lane *l, int64_t p, int64_t q) {
    for (int k = 0; k < l->nkeys; k++) {
        int c = l->cmp[k](l->data[k], l->base + p * l->stride, l->base + q * l->stride);
        if (c) return l->descending ? -c : c;
    }
    return 0;
}

/* Stable merge sort of perm[0..n) by the lane's keys; tmp has room for n. Ties keep
 * their order, so descending ranks tied elements by lower index first. */
static void merge_sort(const lane *l, int64_t *perm, int64_t *tmp, int64_t n) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) tmp[o++] = lane_cmp(l, perm[b], perm[a]) < 0 ? perm[b++] : perm[a++];
            while (a < mid) tmp[o++] = perm[a++];
            while (b < hi) tmp[o++] = perm[b++];
        }
        memcpy(perm, tmp, sizeof *perm * (size_t)n);
    }
}

/* Lanes of a (outer, n, inner) view: lane (o, s) holds elements base + p * inner. */
static void sorted_lane(lane *l, int64_t o, int64_t s, int64_t n, int64_t inner, int64_t *perm,
                        int64_t *tmp) {
    l->base = o * n * inner + s;
    l->stride = inner;
    for (int64_t p = 0; p < n; p++) perm[p] = p;
    merge_sort(l, perm, tmp, n);
}

/* Copies element perm[p] of a lane of src to position p of the same lane of dst, for
 * the first m positions; dst lanes are m long. */
static void permute_lane(char *dst, const char *src, size_t es, const int64_t *perm, int64_t m,
                         int64_t o, int64_t s, int64_t n, int64_t inner) {
    for (int64_t p = 0; p < m; p++)
        memcpy(dst + (size_t)((o * m + p) * inner + s) * es,
               src + (size_t)((o * n + perm[p]) * inner + s) * es, es);
}

static jx_status nomem(const jx__eqn *e) {
    return jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
}

static jx_status impl_sort(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                           jx_array **out) {
    int nin = e->nin, axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int nkeys = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_KEYS, 1);
    const jx_aval *av = &in[0]->aval;
    int64_t outer = 1, n = av->shape[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= av->shape[i];
    for (int i = axis + 1; i < av->rank; i++) inner *= av->shape[i];
    const void **data = malloc(sizeof *data * (size_t)nkeys);
    cmp_fn *cmp = malloc(sizeof *cmp * (size_t)nkeys);
    int64_t *perm = malloc(sizeof *perm * (size_t)(n ? 2 * n : 1));
    jx_status st = data && cmp && perm ? JX_OK : nomem(e);
    for (int i = 0; i < nin && st == JX_OK; i++)
        if (!(out[i] = jx__array_alloc(&out_avals[i]))) st = jx_errcode();
    if (st == JX_OK) {
        for (int k = 0; k < nkeys; k++) {
            data[k] = in[k]->data;
            cmp[k] = cmp_for(in[k]->aval.dtype);
        }
        lane l = {nkeys, data, cmp, 0, 0, 0};
        for (int64_t o = 0; o < outer; o++)
            for (int64_t s = 0; s < inner; s++) {
                sorted_lane(&l, o, s, n, inner, perm, perm + n);
                for (int i = 0; i < nin; i++)
                    permute_lane(out[i]->data, in[i]->data, jx_dtype_size(in[i]->aval.dtype), perm, n,
                                 o, s, n, inner);
            }
    } else {
        for (int i = 0; i < nin; i++) {
            jx_array_release(out[i]);
            out[i] = NULL;
        }
    }
    free(data);
    free(cmp);
    free(perm);
    return st;
}

static jx_status impl_top_k(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                            jx_array **out) {
    const jx_array *x = in[0];
    int64_t n = x->aval.shape[x->aval.rank - 1], k = out_avals[0].shape[out_avals[0].rank - 1];
    int64_t rows = n ? jx_aval_size(&x->aval) / n : 0; /* n == 0 forces k == 0 */
    int64_t *perm = malloc(sizeof *perm * (size_t)(n ? 2 * n : 1));
    jx_array *vals = perm ? jx__array_alloc(&out_avals[0]) : NULL;
    jx_array *idx = vals ? jx__array_alloc(&out_avals[1]) : NULL;
    if (!idx) {
        jx_status st = perm ? jx_errcode() : nomem(e);
        free(perm);
        jx_array_release(vals);
        return st;
    }
    cmp_fn cmp = cmp_for(x->aval.dtype);
    const void *data = x->data;
    lane l = {1, &data, &cmp, 0, 0, 1};
    size_t es = jx_dtype_size(x->aval.dtype);
    int32_t *io = idx->data;
    for (int64_t r = 0; r < rows && k > 0; r++) {
        sorted_lane(&l, r, 0, n, 1, perm, perm + n);
        permute_lane(vals->data, x->data, es, perm, k, r, 0, n, 1);
        for (int64_t p = 0; p < k; p++) io[r * k + p] = (int32_t)perm[p];
    }
    free(perm);
    out[0] = vals;
    out[1] = idx;
    return JX_OK;
}

void jx__impl_register_sort(jx__impl_rule *t) {
    t[JX_PRIM_SORT] = impl_sort;
    t[JX_PRIM_TOP_K] = impl_top_k;
}
