/* fake_cublaslt.c: the cuBLASLt entry points jx loads (JX_CUBLASLT;
 * src/backends/cuda/dot_lt.c), in the fake driver's library (fake_cuda.c). Descriptors
 * hold what they are set to; the heuristic and cublasLtMatmul check them as cuBLASLt
 * documents them (column-major layouts, op(A) rows x k, op(B) k x cols of D, the compute
 * type of the data type, C the same matrix as D). cublasLtMatmul computes D = op(A) op(B)
 * on the host, queued on the given stream like the driver's own work (so captured and
 * replayed by graphs), with the epilogues jx uses: BIAS adds bias[i] to row i of D,
 * BGRADA writes the sums of op(A)'s rows over k (one per row of D), BGRADB the sums of
 * op(B)'s columns (one per column of D). The heuristic offers an unsupported algorithm
 * first, then one that needs a workspace (filled by the fake, so a workspace shared with
 * live data shows); a test may make it refuse (stats.lt_refuse). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define API __attribute__((visibility("default")))

enum { OK = 0, INVALID = 7, NOT_SUPPORTED = 15, WS_BYTES = 1024, ALGO_ID = 42 };
enum { R32F = 0, R64F = 1, C32F = 68, C64F = 70, C32F_TF32 = 77 };
enum { EPI_DEFAULT = 1, EPI_BIAS = 4, EPI_BGRADA = 256, EPI_BGRADB = 512 };

typedef struct mdesc {
    int compute, scale, ta, tb, epi;
    void *bias;
} mdesc;
typedef struct layout {
    int type;
    uint64_t rows, cols;
    int64_t ld;
} layout;
typedef struct pref {
    uint64_t ws;
} pref;
typedef struct algo {
    uint64_t data[8];
} algo;
typedef struct result {
    algo a;
    size_t ws;
    int state;
    float waves;
    int reserved[4];
} result;

/* What one matmul needs, copied into the queued work. */
typedef struct lt_job {
    mdesc d;
    layout a, b, c;
    const void *ap, *bp;
    void *dp, *ws;
} lt_job;

API int cublasLtCreate(void **h) { return (*h = calloc(1, 8)) ? OK : 3; }
API int cublasLtDestroy(void *h) { return free(h), OK; }

API int cublasLtMatmulDescCreate(void **d, int compute, int scale) {
    mdesc *m = calloc(1, sizeof *m);
    if (!m) return 3;
    *m = (mdesc){compute, scale, 0, 0, EPI_DEFAULT, NULL};
    return *d = m, OK;
}
API int cublasLtMatmulDescDestroy(void *d) { return free(d), OK; }
API int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf, size_t n) {
    mdesc *m = d;
    if (attr == 3 && n == 4) memcpy(&m->ta, buf, 4);
    else if (attr == 4 && n == 4) memcpy(&m->tb, buf, 4);
    else if (attr == 7 && n == 4) memcpy(&m->epi, buf, 4);
    else if (attr == 8 && n == sizeof(void *)) memcpy(&m->bias, buf, n);
    else return INVALID;
    return OK;
}

API int cublasLtMatrixLayoutCreate(void **l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (ld < (int64_t)rows || (type != R32F && type != R64F)) return INVALID;
    layout *p = malloc(sizeof *p);
    if (!p) return 3;
    *p = (layout){type, rows, cols, ld};
    return *l = p, OK;
}
API int cublasLtMatrixLayoutDestroy(void *l) { return free(l), OK; }

API int cublasLtMatmulPreferenceCreate(void **p) { return (*p = calloc(1, sizeof(pref))) ? OK : 3; }
API int cublasLtMatmulPreferenceDestroy(void *p) { return free(p), OK; }
API int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf, size_t n) {
    if (attr != 1 || n != 8) return INVALID;
    memcpy(&((pref *)p)->ws, buf, 8);
    return OK;
}

/* op(A) rows x k, op(B) k x cols, D rows x cols; the types and compute type agree. */
static int check(const mdesc *m, const layout *a, const layout *b, const layout *c, const layout *d) {
    uint64_t ar = m->ta ? a->cols : a->rows, ak = m->ta ? a->rows : a->cols;
    uint64_t bk = m->tb ? b->cols : b->rows, bc = m->tb ? b->rows : b->cols;
    int ct = a->type == R64F ? C64F : C32F;
    if (ar != d->rows || bc != d->cols || ak != bk) return INVALID;
    if (c->type != d->type || c->rows != d->rows || c->cols != d->cols || c->ld != d->ld) return INVALID;
    if (a->type != b->type || a->type != d->type || m->scale != a->type) return INVALID;
    if (m->compute != ct && !(a->type == R32F && m->compute == C32F_TF32)) return INVALID;
    if (m->epi != EPI_DEFAULT && m->epi != EPI_BIAS && m->epi != EPI_BGRADA && m->epi != EPI_BGRADB)
        return NOT_SUPPORTED;
    return OK;
}

API int cublasLtMatmulAlgoGetHeuristic(void *h, void *md, void *a, void *b, void *c, void *d, void *p, int want,
                                       result *res, int *got) {
    (void)h;
    int st = check(md, a, b, c, d);
    jxfake_stats *s = jxfake_stats_get();
    if (st == OK && s->lt_refuse) st = NOT_SUPPORTED;
    if (st != OK || ((pref *)p)->ws < WS_BYTES) return *got = 0, st == OK ? NOT_SUPPORTED : st;
    result all[2] = {{{{7}}, 0, NOT_SUPPORTED, 0, {0}}, {{{ALGO_ID}}, WS_BYTES, OK, 1, {0}}};
    *got = want < 2 ? want : 2;
    memcpy(res, all, sizeof(result) * (size_t)*got);
    return OK;
}

static double ld_at(const layout *l, const void *p, uint64_t r, uint64_t c, int tf32) {
    uint64_t off = r + c * (uint64_t)l->ld;
    if (l->type == R64F) return ((const double *)p)[off];
    return tf32 ? jxfake__tf32(((const float *)p)[off]) : ((const float *)p)[off];
}
static void ld_put(const layout *l, void *p, uint64_t off, double v) {
    if (l->type == R64F) ((double *)p)[off] = v;
    else ((float *)p)[off] = (float)v;
}

static void run_matmul(const void *arg, int replayed) {
    const lt_job *j = arg;
    const mdesc *m = &j->d;
    uint64_t rows = j->c.rows, cols = j->c.cols, k = m->ta ? j->a.rows : j->a.cols;
    int rnd = m->compute == C32F_TF32;
    memset(j->ws, 0xa5, WS_BYTES);
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
            double acc = 0;
            for (uint64_t q = 0; q < k; q++) {
                double x = m->ta ? ld_at(&j->a, j->ap, q, r, rnd) : ld_at(&j->a, j->ap, r, q, rnd);
                double y = m->tb ? ld_at(&j->b, j->bp, c, q, rnd) : ld_at(&j->b, j->bp, q, c, rnd);
                acc += x * y;
            }
            if (m->epi == EPI_BIAS) /* the product rounded to the type first, as the kernel's accumulator is */
                acc = j->c.type == R64F ? acc + ((const double *)m->bias)[r]
                                        : (double)(float)acc + ((const float *)m->bias)[r];
            ld_put(&j->c, j->dp, r + c * (uint64_t)j->c.ld, acc);
        }
    if (m->epi == EPI_BGRADA)
        for (uint64_t r = 0; r < rows; r++) {
            double acc = 0;
            for (uint64_t q = 0; q < k; q++) acc += m->ta ? ld_at(&j->a, j->ap, q, r, 0) : ld_at(&j->a, j->ap, r, q, 0);
            ld_put(&j->c, m->bias, r, acc);
        }
    if (m->epi == EPI_BGRADB)
        for (uint64_t c = 0; c < cols; c++) {
            double acc = 0;
            for (uint64_t q = 0; q < k; q++) acc += m->tb ? ld_at(&j->b, j->bp, c, q, 0) : ld_at(&j->b, j->bp, q, c, 0);
            ld_put(&j->c, m->bias, c, acc);
        }
    jxfake_stats *s = jxfake_stats_get();
    if (replayed) s->lt_matmuls_replayed++;
    else s->lt_matmuls++;
    s->last_lt_epilogue = m->epi;
}

API int cublasLtMatmul(void *h, void *md, const void *alpha, const void *a, void *ad, const void *b, void *bd,
                       const void *beta, const void *c, void *cd, void *d, void *dd, const algo *al, void *ws,
                       size_t ws_bytes, CUstream stream) {
    (void)h;
    const mdesc *m = md;
    lt_job j = {*m, *(layout *)ad, *(layout *)bd, *(layout *)dd, a, b, d, ws};
    int st = check(m, ad, bd, cd, dd);
    if (st != OK) return st;
    double one = j.c.type == R64F ? *(const double *)alpha : *(const float *)alpha;
    double zero = j.c.type == R64F ? *(const double *)beta : *(const float *)beta;
    if (one != 1 || zero != 0 || c != d || !a || !b || !d || !al || al->data[0] != ALGO_ID || !ws || ws_bytes < WS_BYTES)
        return INVALID;
    if (m->epi != EPI_DEFAULT && !m->bias) return INVALID;
    return jxfake__submit_host(stream, run_matmul, &j, sizeof j) == CUDA_SUCCESS ? OK : 14;
}
