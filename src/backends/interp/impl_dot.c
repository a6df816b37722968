/* impl_dot.c: the reference dot_general. Operands are permuted into (batch, m, k) and
 * (batch, k, n) and multiplied with an i-k-j loop (rows of b and c stream through the
 * inner loop). f32 accumulates in f32 as XLA on CPU does; ints wrap via unsigned math. */
#include <stdlib.h>
#include <string.h>

#include "../../trace/reduce_util.h"
#include "../dims.h"

/* c (nb,m,n) += a (nb,m,k) . b (nb,k,n); c starts zeroed. */
#define DEF_GEMM(NAME, U)                                                                  \
    static void NAME(const void *av, const void *bv, void *cv, int64_t nb, int64_t m,       \
                     int64_t k, int64_t n) {                                                \
        for (int64_t q = 0; q < nb; q++) {                                                  \
            const U *restrict a = (const U *)av + q * m * k;                                \
            const U *restrict b = (const U *)bv + q * k * n;                                \
            U *restrict c = (U *)cv + q * m * n;                                            \
            for (int64_t i = 0; i < m; i++) {                                               \
                U *restrict crow = c + i * n;                                               \
                for (int64_t p = 0; p < k; p++) {                                           \
                    const U aip = a[i * k + p];                                             \
                    const U *restrict brow = b + p * n;                                     \
                    for (int64_t j = 0; j < n; j++) crow[j] += aip * brow[j];               \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
DEF_GEMM(gemm_f32, float)
DEF_GEMM(gemm_f64, double)
DEF_GEMM(gemm_u32, uint32_t)
DEF_GEMM(gemm_u64, uint64_t)

/* Copies x with its dims reordered (output dim i = x dim perm[i]); W is the element width. */
#define DEF_PERMUTE(NAME, W)                                                               \
    static void NAME(const void *src, void *dst, const jx_aval *x, const int *perm) {       \
        int r = x->rank;                                                                    \
        int64_t istride[JX_MAX_RANK], st[JX_MAX_RANK], sz[JX_MAX_RANK], idx[JX_MAX_RANK];   \
        int64_t total = jx_aval_size(x), acc = 1;                                           \
        for (int d = r - 1; d >= 0; d--) istride[d] = acc, acc *= x->shape[d];              \
        for (int i = 0; i < r; i++) st[i] = istride[perm[i]], sz[i] = x->shape[perm[i]];     \
        const W *s = src;                                                                   \
        W *o = dst;                                                                         \
        int64_t off = 0;                                                                    \
        for (int i = 0; i < r; i++) idx[i] = 0;                                             \
        for (int64_t e = 0; e < total; e++) {                                               \
            o[e] = s[off];                                                                  \
            for (int d = r - 1; d >= 0; d--) {                                              \
                off += st[d];                                                               \
                if (++idx[d] < sz[d]) break;                                                \
                off -= st[d] * sz[d];                                                       \
                idx[d] = 0;                                                                 \
            }                                                                               \
        }                                                                                   \
    }
DEF_PERMUTE(permute32, uint32_t)
DEF_PERMUTE(permute64, uint64_t)

/* x's data in the order of perm: borrowed when perm is the identity, else a malloc'd
 * copy stored in *owned too. NULL when out of memory. */
static const void *permuted(const jx_array *x, const int *perm, void **owned) {
    *owned = NULL;
    bool ident = true;
    for (int i = 0; i < x->aval.rank; i++) ident = ident && perm[i] == i;
    if (ident) return x->data;
    void *p = malloc(x->nbytes ? x->nbytes : 1);
    if (!p) return NULL;
    if (jx_dtype_size(x->aval.dtype) == 4)
        permute32(x->data, p, &x->aval, perm);
    else
        permute64(x->data, p, &x->aval, perm);
    *owned = p;
    return p;
}

jx_status jx__impl_dot_general(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    jx_ints lc = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_CONTRACT);
    jx_ints rc = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_CONTRACT);
    jx_ints lb = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_BATCH);
    jx_ints rb = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_BATCH);
    const jx_array *l = in[0], *r = in[1];
    void (*gemm)(const void *, const void *, void *, int64_t, int64_t, int64_t, int64_t) = NULL;
    switch (l->aval.dtype) {
    case JX_F32: gemm = gemm_f32; break;
    case JX_F64: gemm = gemm_f64; break;
    case JX_I32: gemm = gemm_u32; break; /* same bits as wrapping signed arithmetic */
    case JX_I64: gemm = gemm_u64; break;
    default:
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "dot_general", "no kernel for %s", jx__avs(&l->aval));
    }
    int lperm[JX_MAX_RANK], rperm[JX_MAX_RANK];
    int64_t nb = 1, k = 1;
    for (int i = 0; i < lb.n; i++) nb *= l->aval.shape[lb.v[i]];
    for (int i = 0; i < lc.n; i++) k *= l->aval.shape[lc.v[i]];
    int64_t m = jx__dot_layout(&l->aval, lb, lc, false, lperm);
    int64_t n = jx__dot_layout(&r->aval, rb, rc, true, rperm);
    jx_array *y = jx__array_alloc(&oav[0]);
    if (!y) return jx_errcode();
    void *lown, *rown;
    const void *a = permuted(l, lperm, &lown), *b = permuted(r, rperm, &rown);
    if (!a || !b) {
        free(lown);
        free(rown);
        jx_array_release(y);
        return jx__fail(JX_ERR_NOMEM, e->loc, "dot_general", "out of memory");
    }
    gemm(a, b, y->data, nb, m, k, n);
    free(lown);
    free(rown);
    out[0] = y;
    return JX_OK;
}
