/* blas.c: dot_general on OpenBLAS sgemm/dgemm for the CPU backend, and the GEMM layer
 * conv.c shares (see blas.h for why OpenBLAS runs single-threaded under jx's tiling).
 * An operand already in GEMM order (batch dims leading, contracting dims contiguous at
 * one end) is passed as it is, with a transpose flag; any other is first copied into
 * (batch, m, k) / (batch, k, n) order. A product with a vector (n or m 1) is a gemv:
 * sgemm would pack the whole matrix on every call. */
#include "blas.h"
#include "../dims.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the GEMM layer */

void jx__cpu_blas_single(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

bool jx__cpu_gemm_onednn(void) {
    static _Atomic int v = -1;
    int x = atomic_load_explicit(&v, memory_order_acquire);
    if (x < 0) {
        const char *s = getenv("JX_GEMM");
        x = !(s && strcmp(s, "openblas") == 0);
        int expect = -1;
        if (atomic_compare_exchange_strong(&v, &expect, x) && s && *s && x && strcmp(s, "onednn") != 0)
            fprintf(stderr, "jx: warning: JX_GEMM=%s is not onednn or openblas; using onednn\n", s);
    }
    return x;
}

void jx__cpu_gemm(jx_dtype t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,
                  int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc) {
    size_t esz = jx_dtype_size(t);
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++) memset((char *)c + (size_t)(i * ldc) * esz, 0, (size_t)n * esz);
        return;
    }
    enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    if (n == 1 && !ta) { /* matrix . vector, rows of a contiguous: one dot of length k per row
                          * (gemm would pack all of a on every call) */
        int incb = tb ? 1 : (int)ldb;
        if (t == JX_F32)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, a, (int)lda, b, incb, 0.0f, c, (int)ldc);
        else
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0, a, (int)lda, b, incb, 0.0, c, (int)ldc);
        return;
    }
    if (m == 1) { /* vector . matrix: c = op(b)^T a, the same without packing b */
        int inca = ta ? (int)lda : 1;
        enum CBLAS_TRANSPOSE op = tb ? CblasNoTrans : CblasTrans;
        int rows = tb ? (int)n : (int)k, cols = tb ? (int)k : (int)n;
        if (t == JX_F32)
            cblas_sgemv(CblasRowMajor, op, rows, cols, 1.0f, b, (int)ldb, a, inca, 0.0f, c, 1);
        else
            cblas_dgemv(CblasRowMajor, op, rows, cols, 1.0, b, (int)ldb, a, inca, 0.0, c, 1);
        return;
    }
    if (t == JX_F32 && jx__cpu_gemm_onednn() && jx__dnnl_sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc)) return;
    if (t == JX_F32)
        cblas_sgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, 0.0f, c,
                    (int)ldc);
    else
        cblas_dgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, 0.0, c,
                    (int)ldc);
}

/* ------------------------------------------------------------------ the plan */

typedef jx__dot_plan dot_plan;

static bool is_identity(const int *perm, int r) {
    for (int i = 0; i < r; i++)
        if (perm[i] != i) return false;
    return true;
}

bool jx__dot_plan_make(const jx__eqn *e, const jx_aval *l, const jx_aval *r, dot_plan *p) {
    jx_ints lc = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_CONTRACT);
    jx_ints rc = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_CONTRACT);
    jx_ints lb = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_BATCH);
    jx_ints rb = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_BATCH);
    if (lc.n != rc.n || lb.n != rb.n || lc.n + lb.n > l->rank || rc.n + rb.n > r->rank) return false;
    for (int i = 0; i < lc.n; i++)
        if (lc.v[i] < 0 || lc.v[i] >= l->rank || rc.v[i] < 0 || rc.v[i] >= r->rank) return false;
    for (int i = 0; i < lb.n; i++)
        if (lb.v[i] < 0 || lb.v[i] >= l->rank || rb.v[i] < 0 || rb.v[i] >= r->rank) return false;
    p->nb = p->k = 1;
    for (int i = 0; i < lb.n; i++) p->nb *= l->shape[lb.v[i]];
    for (int i = 0; i < lc.n; i++) p->k *= l->shape[lc.v[i]];
    int alt[JX_MAX_RANK];
    p->m = jx__dot_layout(l, lb, lc, false, p->lperm);
    jx__dot_layout(l, lb, lc, true, alt);
    p->ta = !is_identity(p->lperm, l->rank) && is_identity(alt, l->rank);
    p->lcopy = !is_identity(p->lperm, l->rank) && !p->ta;
    p->n = jx__dot_layout(r, rb, rc, true, p->rperm);
    jx__dot_layout(r, rb, rc, false, alt);
    p->tb = !is_identity(p->rperm, r->rank) && is_identity(alt, r->rank);
    p->rcopy = !is_identity(p->rperm, r->rank) && !p->tb;
    return true;
}

static bool float_pair(const jx_aval *l, const jx_aval *r) {
    return l->dtype == r->dtype && (l->dtype == JX_F32 || l->dtype == JX_F64);
}

bool jx__cpu_dot_ok(const jx_fn *f, const jx__eqn *e) {
    if (e->prim != JX_PRIM_DOT_GENERAL || e->nin != 2) return false;
    jx_aval l = jx__atom_aval(f, &e->in[0]), r = jx__atom_aval(f, &e->in[1]);
    dot_plan p;
    if (!float_pair(&l, &r) || !jx__dot_plan_make(e, &l, &r, &p)) return false;
    return p.m <= JX__BLAS_DIM_MAX && p.n <= JX__BLAS_DIM_MAX && p.k <= JX__BLAS_DIM_MAX;
}

/* ------------------------------------------------------------------ transposing copies */

typedef struct perm_job {
    const char *src;
    char *dst;
    int rank;
    int64_t shape[JX_MAX_RANK];  /* the copy's shape */
    int64_t stride[JX_MAX_RANK]; /* src stride (elements) of each of its dims */
} perm_job;

/* dst[i] = src[offset of the multi-index i] for flat i in [begin, end). */
#define DEF_PERM_CHUNK(NAME, T)                                                                 \
    static void NAME(void *ctx, int64_t begin, int64_t end) {                                   \
        const perm_job *j = ctx;                                                                \
        int64_t idx[JX_MAX_RANK], off = 0, rest = begin;                                        \
        for (int d = j->rank - 1; d >= 0; d--) {                                                \
            idx[d] = rest % j->shape[d];                                                        \
            rest /= j->shape[d];                                                                \
            off += idx[d] * j->stride[d];                                                       \
        }                                                                                       \
        const T *s = (const T *)j->src;                                                         \
        T *o = (T *)j->dst;                                                                     \
        for (int64_t i = begin; i < end; i++) {                                                 \
            o[i] = s[off];                                                                      \
            for (int d = j->rank - 1; d >= 0; d--) {                                            \
                off += j->stride[d];                                                            \
                if (++idx[d] < j->shape[d]) break;                                              \
                off -= j->stride[d] * j->shape[d];                                              \
                idx[d] = 0;                                                                     \
            }                                                                                   \
        }                                                                                       \
    }
DEF_PERM_CHUNK(perm_chunk32, uint32_t)
DEF_PERM_CHUNK(perm_chunk64, uint64_t)

/* A malloc'd copy of x's data (aval a) with dims reordered by perm (copy dim i = x dim
 * perm[i]); NULL when out of memory. */
static void *permute_copy(jx__pool *p, const void *x, const jx_aval *a, const int *perm) {
    size_t esz = jx_dtype_size(a->dtype);
    int64_t total = jx_aval_size(a);
    void *dst = malloc(total ? (size_t)total * esz : 1);
    if (!dst) return NULL;
    perm_job j = {x, dst, a->rank, {0}, {0}};
    int64_t xstride[JX_MAX_RANK], acc = 1;
    for (int d = a->rank - 1; d >= 0; d--) xstride[d] = acc, acc *= a->shape[d];
    for (int i = 0; i < a->rank; i++) j.shape[i] = a->shape[perm[i]], j.stride[i] = xstride[perm[i]];
    jx__pool_for(p, total, 1 << 14, esz == 4 ? perm_chunk32 : perm_chunk64, &j);
    return dst;
}

/* ------------------------------------------------------------------ tiled, batched GEMM */

/* Tiles depend on the shape only, never on the pool, so results do not depend on the
 * thread count. 64x64 tiles cost the MNIST step's GEMMs ~13% against one call (128x128:
 * ~3%), so tiles stay at 128 or more: a 128x512 output gives 4 tiles. */
enum {
    TILE_TARGET = 8,     /* tiles enough to keep a small pool busy */
    TILE_BIG = 256,      /* tile dims split down to this first, */
    TILE_SMALL = 128,    /* then, if there are still too few tiles, to this */
    TILE_WORK = 1 << 19  /* no split leaves a tile below this many multiply-adds */
};

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Halves the larger splittable tile dim until there are TILE_TARGET tiles or no split
 * is worth it. Depends only on the shape, so results do not depend on the pool. */
static void choose_tiles(int64_t nb, int64_t m, int64_t n, int64_t k, int64_t *bm, int64_t *bn) {
    *bm = m;
    *bn = n;
    for (int64_t least = TILE_BIG; least >= TILE_SMALL; least /= 2)
        while (nb * cdiv(m, *bm) * cdiv(n, *bn) < TILE_TARGET &&
               (double)*bm * (double)*bn * (double)k >= 2.0 * TILE_WORK) {
            int64_t *big = *bm >= *bn ? bm : bn, *small = big == bm ? bn : bm;
            int64_t *d = *big >= 2 * least ? big : *small >= 2 * least ? small : NULL;
            if (!d) break;
            *d = (cdiv(*d, 2) + 15) / 16 * 16;
        }
}

typedef struct dot_job {
    jx_dtype t;
    size_t esz;
    bool ta, tb;
    int64_t m, n, k, lda, ldb;
    int64_t sa, sb;         /* batch strides of a and b, elements */
    int64_t bm, bn, tm, tn; /* tile sizes and counts along m and n */
    const char *a, *b;
    char *c;                /* (nb, m, n) */
} dot_job;

/* Tiles [begin, end) of the (batch, tile row, tile column) space. */
static void dot_tiles(void *ctx, int64_t begin, int64_t end) {
    const dot_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        int64_t q = i / (j->tm * j->tn), r = i % (j->tm * j->tn);
        int64_t i0 = r / j->tn * j->bm, j0 = r % j->tn * j->bn;
        int64_t mm = j->m - i0 < j->bm ? j->m - i0 : j->bm, nn = j->n - j0 < j->bn ? j->n - j0 : j->bn;
        const char *a = j->a + (size_t)(q * j->sa + (j->ta ? i0 : i0 * j->lda)) * j->esz;
        const char *b = j->b + (size_t)(q * j->sb + (j->tb ? j0 * j->ldb : j0)) * j->esz;
        char *c = j->c + (size_t)(q * j->m * j->n + i0 * j->n + j0) * j->esz;
        jx__cpu_gemm(j->t, j->ta, j->tb, mm, nn, j->k, a, j->lda, b, j->ldb, c, j->n);
    }
}

jx_status jx__cpu_dot(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                      const jx_aval *oav, void *out) {
    dot_plan pl;
    if (!float_pair(&av[0], &av[1]) || !jx__dot_plan_make(e, &av[0], &av[1], &pl))
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "dot_general", "no BLAS kernel for %s . %s",
                        jx__avs(&av[0]), jx__avs(&av[1]));
    if (pl.m > JX__BLAS_DIM_MAX || pl.n > JX__BLAS_DIM_MAX || pl.k > JX__BLAS_DIM_MAX)
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "dot_general", "dimensions too large for BLAS: %s . %s",
                        jx__avs(&av[0]), jx__avs(&av[1]));
    if (jx_aval_size(oav) == 0) return JX_OK;
    jx__cpu_blas_single();
    void *lown = pl.lcopy ? permute_copy(p, in[0], &av[0], pl.lperm) : NULL;
    void *rown = pl.rcopy ? permute_copy(p, in[1], &av[1], pl.rperm) : NULL;
    if ((pl.lcopy && !lown) || (pl.rcopy && !rown)) {
        free(lown);
        free(rown);
        return jx__fail(JX_ERR_NOMEM, e->loc, "dot_general", "out of memory copying %s . %s", jx__avs(&av[0]),
                        jx__avs(&av[1]));
    }
    dot_job j = {av[0].dtype, jx_dtype_size(av[0].dtype), pl.ta, pl.tb, pl.m, pl.n, pl.k,
                 pl.ta ? pl.m : pl.k, pl.tb ? pl.k : pl.n, pl.m * pl.k, pl.k * pl.n, 0, 0, 0, 0,
                 lown ? lown : in[0], rown ? rown : in[1], out};
    choose_tiles(pl.nb, pl.m, pl.n, pl.k, &j.bm, &j.bn);
    j.tm = cdiv(pl.m, j.bm);
    j.tn = cdiv(pl.n, j.bn);
    jx__pool_for(p, pl.nb * j.tm * j.tn, 1, dot_tiles, &j);
    free(lown);
    free(rown);
    return JX_OK;
}
