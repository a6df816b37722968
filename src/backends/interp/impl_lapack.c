/* impl_lapack.c: the linear-algebra primitives on LAPACK/BLAS from OpenBLAS (potrf,
 * trsm, getrf, syevd, geqrf/orgqr; gesdd in impl_svd.c), one call per matrix of the
 * batch. jx's arrays are row-major: a row-major lower factor is the column-major upper
 * one, so potrf runs with uplo 'U'. The CPU jit runs these equations through the
 * interpreter (its OPAQUE steps). */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"

jx_status jx__impl_svd(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out); /* impl_svd.c */

/* LAPACK's Cholesky (Fortran interface, 32-bit integers: OpenBLAS's default build) */
void spotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info);
void dpotrf_(const char *uplo, const blasint *n, double *a, const blasint *lda, blasint *info);
/* LAPACK's symmetric eigensolver (divide and conquer) */
void ssyevd_(const char *jobz, const char *uplo, const blasint *n, float *a, const blasint *lda, float *w,
             float *work, const blasint *lwork, blasint *iwork, const blasint *liwork, blasint *info);
void dsyevd_(const char *jobz, const char *uplo, const blasint *n, double *a, const blasint *lda, double *w,
             double *work, const blasint *lwork, blasint *iwork, const blasint *liwork, blasint *info);
/* LAPACK's Householder QR and the forming of its Q */
void sgeqrf_(const blasint *m, const blasint *n, float *a, const blasint *lda, float *tau, float *work,
             const blasint *lwork, blasint *info);
void dgeqrf_(const blasint *m, const blasint *n, double *a, const blasint *lda, double *tau, double *work,
             const blasint *lwork, blasint *info);
void sorgqr_(const blasint *m, const blasint *n, const blasint *k, float *a, const blasint *lda, const float *tau,
             float *work, const blasint *lwork, blasint *info);
void dorgqr_(const blasint *m, const blasint *n, const blasint *k, double *a, const blasint *lda, const double *tau,
             double *work, const blasint *lwork, blasint *info);
/* LAPACK's LU with partial pivoting */
void sgetrf_(const blasint *m, const blasint *n, float *a, const blasint *lda, blasint *ipiv, blasint *info);
void dgetrf_(const blasint *m, const blasint *n, double *a, const blasint *lda, blasint *ipiv, blasint *info);

/* The number of matrices (the product of the leading dims) and their rows and columns;
 * an error when a matrix dim does not fit LAPACK's int. */
static jx_status dims(const jx__eqn *e, const jx_aval *a, int64_t *batch, int *rows, int *cols) {
    int r = a->rank;
    *batch = 1;
    for (int d = 0; d < r - 2; d++) *batch *= a->shape[d];
    if (a->shape[r - 1] > INT_MAX / 2 || a->shape[r - 2] > INT_MAX / 2)
        return jx__fail(JX_ERR_ARG, e->loc, jx__prims[e->prim].name, "matrices of %s are too large for LAPACK",
                        jx__avs(a));
    *rows = (int)a->shape[r - 2];
    *cols = (int)a->shape[r - 1];
    return JX_OK;
}

static jx_status impl_cholesky(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *xa = &in[0]->aval;
    int64_t batch;
    int n, cols;
    if (dims(e, xa, &batch, &n, &cols) != JX_OK) return jx_errcode();
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    size_t es = jx_dtype_size(xa->dtype), mat = (size_t)n * (size_t)n;
    memcpy(y->data, in[0]->data, (size_t)batch * mat * es);
    for (int64_t b = 0; b < batch; b++) {
        blasint nn = n, info = 0;
        char *m = (char *)y->data + (size_t)b * mat * es;
        if (n > 0) {
            if (xa->dtype == JX_F32) spotrf_("U", &nn, (float *)m, &nn, &info);
            else dpotrf_("U", &nn, (double *)m, &nn, &info);
        }
        /* zero the row-major upper triangle; NaNs in the lower one where the matrix is not
         * positive definite (JAX's values) */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                if (j <= i && info == 0) continue;
                double v = j > i ? 0 : NAN;
                size_t k = (size_t)i * (size_t)n + (size_t)j;
                if (xa->dtype == JX_F32) ((float *)m)[k] = (float)v;
                else ((double *)m)[k] = v;
            }
    }
    out[0] = y;
    return JX_OK;
}

static jx_status impl_triangular_solve(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *aa = &in[0]->aval, *ba = &in[1]->aval;
    int64_t batch;
    int m, mc, rows, cols;
    if (dims(e, aa, &batch, &m, &mc) != JX_OK || dims(e, ba, &batch, &rows, &cols) != JX_OK) return jx_errcode();
    bool left = jx__attr_int(e->nattr, e->attrs, JX_A_LEFT_SIDE, 0), lower = jx__attr_int(e->nattr, e->attrs, JX_A_LOWER, 0);
    bool trans = jx__attr_int(e->nattr, e->attrs, JX_A_TRANSPOSE_A, 0);
    bool unit = jx__attr_int(e->nattr, e->attrs, JX_A_UNIT_DIAGONAL, 0);
    jx_array *y = jx__array_alloc_uninit(&oav[0]);
    if (!y) return jx_errcode();
    size_t es = jx_dtype_size(aa->dtype), amat = (size_t)m * (size_t)m, bmat = (size_t)rows * (size_t)cols;
    memcpy(y->data, in[1]->data, (size_t)batch * bmat * es);
    if (rows > 0 && cols > 0)
        for (int64_t b = 0; b < batch; b++) {
            const char *a = (const char *)in[0]->data + (size_t)b * amat * es;
            char *x = (char *)y->data + (size_t)b * bmat * es;
            enum CBLAS_SIDE side = left ? CblasLeft : CblasRight;
            enum CBLAS_UPLO uplo = lower ? CblasLower : CblasUpper;
            enum CBLAS_TRANSPOSE ta = trans ? CblasTrans : CblasNoTrans;
            enum CBLAS_DIAG diag = unit ? CblasUnit : CblasNonUnit;
            if (aa->dtype == JX_F32)
                cblas_strsm(CblasRowMajor, side, uplo, ta, diag, rows, cols, 1.0f, (const float *)a, m, (float *)x, cols);
            else
                cblas_dtrsm(CblasRowMajor, side, uplo, ta, diag, rows, cols, 1.0, (const double *)a, m, (double *)x, cols);
        }
    out[0] = y;
    return JX_OK;
}

/* Copies an (r, c) matrix of doubles or floats from row-major src to column-major dst
 * (to_col) or back. */
static void relayout(bool f32, int r, int c, const void *src, void *dst, bool to_col) {
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            size_t rm = (size_t)i * (size_t)c + (size_t)j, cm = (size_t)j * (size_t)r + (size_t)i;
            size_t s = to_col ? rm : cm, d = to_col ? cm : rm;
            if (f32) ((float *)dst)[d] = ((const float *)src)[s];
            else ((double *)dst)[d] = ((const double *)src)[s];
        }
}

/* getrf on a column-major copy of each matrix (a row-major call would factor a^T). A
 * singular matrix is factored all the same (zeros on U's diagonal), as in JAX. */
static jx_status impl_lu(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *xa = &in[0]->aval;
    int64_t batch;
    int m, n;
    if (dims(e, xa, &batch, &m, &n) != JX_OK) return jx_errcode();
    int k = m < n ? m : n;
    bool f32 = xa->dtype == JX_F32;
    size_t es = jx_dtype_size(xa->dtype), mat = (size_t)m * (size_t)n;
    jx_array *y[3] = {jx__array_alloc_uninit(&oav[0]), jx__array_alloc_uninit(&oav[1]),
                      jx__array_alloc_uninit(&oav[2])};
    void *col = malloc(mat * es + 1);
    blasint *ipiv = malloc(sizeof(blasint) * (size_t)k + 1);
    if (!y[0] || !y[1] || !y[2] || !col || !ipiv) {
        for (int i = 0; i < 3; i++) jx_array_release(y[i]);
        free(col);
        free(ipiv);
        return jx__fail(JX_ERR_NOMEM, e->loc, "lu", "no memory for %s", jx__avs(xa));
    }
    for (int64_t b = 0; b < batch; b++) {
        const char *src = (const char *)in[0]->data + (size_t)b * mat * es;
        int32_t *piv = (int32_t *)y[1]->data + b * k, *perm = (int32_t *)y[2]->data + b * m;
        relayout(f32, m, n, src, col, true);
        blasint mm = m, nn = n, lda = m > 1 ? m : 1, info = 0;
        if (k > 0) {
            if (f32) sgetrf_(&mm, &nn, (float *)col, &lda, ipiv, &info);
            else dgetrf_(&mm, &nn, (double *)col, &lda, ipiv, &info);
        }
        relayout(f32, m, n, col, (char *)y[0]->data + (size_t)b * mat * es, false);
        for (int i = 0; i < m; i++) perm[i] = i;
        for (int i = 0; i < k; i++) { /* ipiv is 1-based: row i was swapped with row ipiv[i] - 1 */
            piv[i] = (int32_t)ipiv[i] - 1;
            int32_t t = perm[i];
            perm[i] = perm[piv[i]];
            perm[piv[i]] = t;
        }
    }
    free(col);
    free(ipiv);
    for (int i = 0; i < 3; i++) out[i] = y[i];
    return JX_OK;
}

/* syevd on each matrix, reading the row-major lower triangle (column-major 'U'); the
 * column-major eigenvectors are copied out row-major (v's columns). Workspace sizes
 * for n: LAPACK's documented minimum with jobz 'V'. Where syevd fails: NaNs, like JAX. */
static jx_status impl_eigh(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *xa = &in[0]->aval;
    int64_t batch;
    int n, cols;
    if (dims(e, xa, &batch, &n, &cols) != JX_OK) return jx_errcode();
    bool f32 = xa->dtype == JX_F32;
    size_t es = jx_dtype_size(xa->dtype), mat = (size_t)n * (size_t)n;
    blasint nn = n, lda = n > 1 ? n : 1, lwork = 1 + 6 * nn + 2 * nn * nn, liwork = 3 + 5 * nn, info = 0;
    jx_array *v = jx__array_alloc_uninit(&oav[0]), *w = jx__array_alloc_uninit(&oav[1]);
    void *col = malloc(mat * es + 1), *work = malloc((size_t)lwork * es);
    blasint *iwork = malloc(sizeof(blasint) * (size_t)liwork);
    if (!v || !w || !col || !work || !iwork) {
        jx_array_release(v);
        jx_array_release(w);
        free(col), free(work), free(iwork);
        return jx__fail(JX_ERR_NOMEM, e->loc, "eigh", "no memory for %s", jx__avs(xa));
    }
    for (int64_t b = 0; b < batch && n > 0; b++) {
        char *wb = (char *)w->data + (size_t)b * (size_t)n * es;
        memcpy(col, (const char *)in[0]->data + (size_t)b * mat * es, mat * es);
        if (f32) ssyevd_("V", "U", &nn, col, &lda, (float *)wb, work, &lwork, iwork, &liwork, &info);
        else dsyevd_("V", "U", &nn, col, &lda, (double *)wb, work, &lwork, iwork, &liwork, &info);
        char *vb = (char *)v->data + (size_t)b * mat * es;
        relayout(f32, n, n, col, vb, false);
        for (int i = 0; info != 0 && i < n * (n + 1); i++) { /* v's then w's entries */
            char *p = i < n * n ? vb + (size_t)i * es : wb + (size_t)(i - n * n) * es;
            if (f32) *(float *)p = NAN;
            else *(double *)p = NAN;
        }
    }
    free(col), free(work), free(iwork);
    out[0] = v;
    out[1] = w;
    return JX_OK;
}

/* geqrf then orgqr on a column-major copy of each (m, n) matrix, k = min(m, n): r (k, n)
 * is the upper triangle (trapezoid when m < n) of geqrf's first k rows, q the m x k
 * orgqr forms from the first k columns (workspace 64 max(m, n), above both routines'
 * minimum). */
static jx_status impl_qr(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *xa = &in[0]->aval;
    int64_t batch;
    int m, n;
    if (dims(e, xa, &batch, &m, &n) != JX_OK) return jx_errcode();
    int k = m < n ? m : n;
    bool f32 = xa->dtype == JX_F32;
    size_t es = jx_dtype_size(xa->dtype), mat = (size_t)m * (size_t)n;
    blasint mm = m, nn = n, kk = k, lda = m > 1 ? m : 1, lwork = 64 * (m > n ? (mm > 1 ? mm : 1) : (nn > 1 ? nn : 1));
    blasint info = 0;
    jx_array *q = jx__array_alloc_uninit(&oav[0]), *r = jx__array_alloc_uninit(&oav[1]);
    void *col = malloc(mat * es + 1), *tau = malloc((size_t)k * es + 1), *work = malloc((size_t)lwork * es);
    if (!q || !r || !col || !tau || !work) {
        jx_array_release(q);
        jx_array_release(r);
        free(col), free(tau), free(work);
        return jx__fail(JX_ERR_NOMEM, e->loc, "qr", "no memory for %s", jx__avs(xa));
    }
    for (int64_t b = 0; b < batch; b++) {
        char *rb = (char *)r->data + (size_t)b * (size_t)k * (size_t)n * es;
        relayout(f32, m, n, (const char *)in[0]->data + (size_t)b * mat * es, col, true);
        if (k > 0) {
            if (f32) sgeqrf_(&mm, &nn, col, &lda, tau, work, &lwork, &info);
            else dgeqrf_(&mm, &nn, col, &lda, tau, work, &lwork, &info);
        }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++) {
                size_t d = (size_t)i * (size_t)n + (size_t)j, s = (size_t)j * (size_t)m + (size_t)i;
                if (f32) ((float *)rb)[d] = j >= i ? ((float *)col)[s] : 0;
                else ((double *)rb)[d] = j >= i ? ((double *)col)[s] : 0;
            }
        if (k > 0) {
            if (f32) sorgqr_(&mm, &kk, &kk, col, &lda, tau, work, &lwork, &info);
            else dorgqr_(&mm, &kk, &kk, col, &lda, tau, work, &lwork, &info);
        }
        relayout(f32, m, k, col, (char *)q->data + (size_t)b * (size_t)m * (size_t)k * es, false);
    }
    free(col), free(tau), free(work);
    out[0] = q;
    out[1] = r;
    return JX_OK;
}

void jx__impl_register_lapack(jx__impl_rule *t) {
    t[JX_PRIM_QR] = impl_qr;
    t[JX_PRIM_SVD] = jx__impl_svd;
    t[JX_PRIM_EIGH] = impl_eigh;
    t[JX_PRIM_LU] = impl_lu;
    t[JX_PRIM_CHOLESKY] = impl_cholesky;
    t[JX_PRIM_TRIANGULAR_SOLVE] = impl_triangular_solve;
}
