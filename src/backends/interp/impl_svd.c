/* impl_svd.c: the svd primitive on LAPACK's gesdd (divide and conquer, JAX's CPU
 * default), one call per matrix of the batch. A row-major (m, n) matrix is the
 * column-major (n, m) matrix a^T, whose decomposition a^T = U' S VT' gives a = VT'^T S
 * U'^T: gesdd runs on jx's memory as it is, and its column-major VT' (k or m rows) is
 * u row-major, its column-major U' is vt row-major, so nothing is relaid. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"

void sgesdd_(const char *jobz, const blasint *m, const blasint *n, float *a, const blasint *lda, float *s, float *u,
             const blasint *ldu, float *vt, const blasint *ldvt, float *work, const blasint *lwork, blasint *iwork,
             blasint *info);
void dgesdd_(const char *jobz, const blasint *m, const blasint *n, double *a, const blasint *lda, double *s, double *u,
             const blasint *ldu, double *vt, const blasint *ldvt, double *work, const blasint *lwork, blasint *iwork,
             blasint *info);

static void gesdd(bool f32, char jobz, blasint m, blasint n, void *a, void *s, void *u, blasint ldu, void *vt,
                  blasint ldvt, void *work, blasint lwork, blasint *iwork, blasint *info) {
    blasint lda = m > 1 ? m : 1;
    if (f32) sgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, info);
    else dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, info);
}

/* count elements of dtype f32/f64 at p set to v */
static void fill(bool f32, void *p, size_t count, double v) {
    for (size_t i = 0; i < count; i++) {
        if (f32) ((float *)p)[i] = (float)v;
        else ((double *)p)[i] = v;
    }
}

jx_status jx__impl_svd(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out);
jx_status jx__impl_svd(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_aval *xa = &in[0]->aval;
    int r = xa->rank;
    int64_t batch = 1;
    for (int d = 0; d < r - 2; d++) batch *= xa->shape[d];
    if (xa->shape[r - 1] > INT_MAX / 8 || xa->shape[r - 2] > INT_MAX / 8)
        return jx__fail(JX_ERR_ARG, e->loc, "svd", "matrices of %s are too large for LAPACK", jx__avs(xa));
    int m = (int)xa->shape[r - 2], n = (int)xa->shape[r - 1], k = m < n ? m : n;
    bool uv = e->nout == 3, full = jx__attr_int(e->nattr, e->attrs, JX_A_FULL_MATRICES, 0), f32 = xa->dtype == JX_F32;
    int ucols = full ? m : k, vrows = full ? n : k; /* u (m, ucols), vt (vrows, n) */
    char jobz = !uv ? 'N' : full ? 'A' : 'S';
    size_t es = jx_dtype_size(xa->dtype), mat = (size_t)m * (size_t)n;
    size_t umat = (size_t)m * (size_t)ucols, vmat = (size_t)vrows * (size_t)n;
    jx_array *y[3] = {NULL, NULL, NULL};
    for (int i = 0; i < e->nout; i++) y[i] = jx__array_alloc_uninit(&oav[i]);
    double dummy[2] = {0, 0}, query[2] = {0, 0};
    blasint info = 0, lwork = 1, ldu = uv ? n : 1, ldvt = uv && ucols > 0 ? ucols : 1;
    if (k > 0) { /* workspace query (on the first matrix's shape: all are the same) */
        gesdd(f32, jobz, n, m, dummy, dummy, dummy, ldu, dummy, ldvt, query, -1, NULL, &info);
        float qf;
        memcpy(&qf, query, sizeof qf);
        lwork = (blasint)(f32 ? (double)qf : query[0]) + 1;
    }
    void *a = malloc(mat * es + 1), *work = malloc((size_t)lwork * es + 1);
    blasint *iwork = malloc(sizeof(blasint) * 8 * (size_t)k + 1);
    bool ok = a && work && iwork && y[0] && (!uv || (y[1] && y[2]));
    for (int64_t b = 0; ok && b < batch; b++) {
        char *sb = (char *)y[0]->data + (size_t)b * (size_t)k * es;
        char *ub = uv ? (char *)y[1]->data + (size_t)b * umat * es : (char *)dummy;
        char *vb = uv ? (char *)y[2]->data + (size_t)b * vmat * es : (char *)dummy;
        if (k == 0) { /* no values; full u and vt are the identity, as JAX gives them */
            if (!uv || !full) continue;
            fill(f32, ub, umat, 0), fill(f32, vb, vmat, 0);
            for (int i = 0; i < m; i++) fill(f32, ub + ((size_t)i * (size_t)m + (size_t)i) * es, 1, 1);
            for (int i = 0; i < n; i++) fill(f32, vb + ((size_t)i * (size_t)n + (size_t)i) * es, 1, 1);
            continue;
        }
        memcpy(a, (const char *)in[0]->data + (size_t)b * mat * es, mat * es);
        info = 0;
        /* a^T = U' S VT': U' (n, vrows) column-major is vt, VT' (ucols, m) column-major is u */
        gesdd(f32, jobz, n, m, a, sb, vb, ldu, ub, ldvt, work, lwork, iwork, &info);
        if (info != 0) { /* NaNs where gesdd fails, like JAX */
            fill(f32, sb, (size_t)k, NAN);
            if (uv) fill(f32, ub, umat, NAN), fill(f32, vb, vmat, NAN);
        }
    }
    free(a), free(work), free(iwork);
    if (!ok) {
        for (int i = 0; i < 3; i++) jx_array_release(y[i]);
        return jx__fail(JX_ERR_NOMEM, e->loc, "svd", "no memory for %s", jx__avs(xa));
    }
    for (int i = 0; i < e->nout; i++) out[i] = y[i];
    return JX_OK;
}
