/* dot_lt.c: dot_general with an epilogue on cuBLASLt (libcublasLt.so.13 or .12, or the
 * path in JX_CUBLASLT: the tests' fake), loaded with dlopen on first use like cuBLAS.
 *
 * Fusion gives a DOT group the bias add after its dot, or the sum of an operand over its
 * contracting dim (src/jit/fuse_epilogue.c), where jx__cuda_dot_epilogue_ok says that
 * cuBLASLt computes it in the GEMM's own call: CUBLASLT_EPILOGUE_BIAS, BGRADA, BGRADB.
 * The mapping is dot.c's: row-major y (m,n) = a . b is column-major y^T (n,m) = b^T a^T,
 * so cuBLASLt's A is jx's b and its B is jx's a. Its bias has one value per row of its D
 * (n: per column of y), which is the broadcast_in_dim (dims (1)) that the add reads; its
 * BGRADA sums its A over k (jx's operand 1 over its contracting dim: n values), BGRADB
 * its B (operand 0: m values).
 *
 * Precision is dot.c's: f32 in full f32 (CUBLAS_COMPUTE_32F), TF32 only with
 * JX_MATMUL_TF32, f64 in f64. The algorithm is cuBLASLt's heuristic's first choice for
 * the shape, made once per shape and kept for the process, so a dot gives the same bits
 * run to run. Fusion asks before it fuses (the heuristic runs nothing on the GPU), so an
 * epilogue cuBLASLt does not take for a shape stays a kernel of its own, and so does
 * every epilogue with JX_CUDA_EPILOGUES=0 (to compare). No relu
 * epilogue: cuBLASLt's maps NaN to 0 where jx's max keeps it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu/blas.h"
#include "../debug.h"
#include "../dl_table.h"
#include "cuda.h"

/* cuBLASLt's values (cublasLt.h, cublas_api.h, library_types.h), declared here so that
 * the build needs no CUDA headers beyond the driver's. */
enum {
    LT_R_32F = 0,
    LT_R_64F = 1,
    LT_COMPUTE_32F = 68,
    LT_COMPUTE_64F = 70,
    LT_COMPUTE_32F_TF32 = 77,
    LT_DESC_TRANSA = 3,
    LT_DESC_TRANSB = 4,
    LT_DESC_EPILOGUE = 7,
    LT_DESC_BIAS_POINTER = 8,
    LT_PREF_MAX_WORKSPACE = 1,
    LT_EPI_BIAS = 4,
    LT_EPI_BGRADA = 256,
    LT_EPI_BGRADB = 512,
    NRESULTS = 8,
};
enum { LT_WORKSPACE = 32 << 20 }; /* the most workspace an algorithm may ask for */
typedef struct lt_algo {
    uint64_t data[8];
} lt_algo;
typedef struct lt_result { /* cublasLtMatmulHeuristicResult_t */
    lt_algo algo;
    size_t ws;
    int state;
    float waves;
    int reserved[4];
} lt_result;

typedef struct lt_api {
    void *handle;
    int (*DescCreate)(void **, int, int), (*DescDestroy)(void *), (*DescSet)(void *, int, const void *, size_t);
    int (*LayoutCreate)(void **, int, uint64_t, uint64_t, int64_t), (*LayoutDestroy)(void *);
    int (*PrefCreate)(void **), (*PrefDestroy)(void *), (*PrefSet)(void *, int, const void *, size_t);
    int (*Heuristic)(void *, void *, void *, void *, void *, void *, void *, int, lt_result *, int *);
    int (*Matmul)(void *, void *, const void *, const void *, void *, const void *, void *, const void *,
                  const void *, void *, void *, void *, const lt_algo *, void *, size_t, CUstream);
} lt_api;

static lt_api lt;
static char lt_error[512];
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;

static void lt_init(void) {
    static const char *const names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so", NULL};
    void *h = jx__dl_open("JX_CUBLASLT", names);
    if (!h) {
        snprintf(lt_error, sizeof lt_error, "cuBLASLt not found: %s", dlerror());
        return;
    }
    int (*create)(void **) = NULL;
    const jx__dl_fn fns[] = {
        {(void **)&create, "cublasLtCreate"},
        {(void **)&lt.DescCreate, "cublasLtMatmulDescCreate"},
        {(void **)&lt.DescDestroy, "cublasLtMatmulDescDestroy"},
        {(void **)&lt.DescSet, "cublasLtMatmulDescSetAttribute"},
        {(void **)&lt.LayoutCreate, "cublasLtMatrixLayoutCreate"},
        {(void **)&lt.LayoutDestroy, "cublasLtMatrixLayoutDestroy"},
        {(void **)&lt.PrefCreate, "cublasLtMatmulPreferenceCreate"},
        {(void **)&lt.PrefDestroy, "cublasLtMatmulPreferenceDestroy"},
        {(void **)&lt.PrefSet, "cublasLtMatmulPreferenceSetAttribute"},
        {(void **)&lt.Heuristic, "cublasLtMatmulAlgoGetHeuristic"},
        {(void **)&lt.Matmul, "cublasLtMatmul"},
    };
    const char *missing = jx__dl_resolve(h, fns, sizeof fns / sizeof fns[0]);
    if (missing) {
        snprintf(lt_error, sizeof lt_error, "cuBLASLt lacks %s", missing);
        return;
    }
    void *handle = NULL;
    int st = create(&handle);
    if (st != 0) {
        snprintf(lt_error, sizeof lt_error, "cublasLtCreate failed (status %d)", st);
        return;
    }
    lt.handle = handle;
}

/* cuBLASLt, or NULL (nothing set: fusion leaves the epilogue a kernel; JX_DUMP=plan says
 * why, once). */
static const lt_api *lt_get(void) {
    if (!jx__cu_get()) {
        jx_clear_error();
        return NULL;
    }
    pthread_once(&lt_once, lt_init);
    static atomic_bool told;
    if (!lt.handle && (jx__dump_flags() & JX__DUMP_PLAN) && !atomic_exchange(&told, true))
        fprintf(stderr, "cuda: %s: GEMM epilogues run as kernels\n", lt_error);
    return lt.handle ? &lt : NULL;
}

/* ------------------------------------------------------------------ plans */

/* A GEMM with an epilogue as cuBLASLt sees it. */
typedef struct lkey {
    int dtype, tf32, kind, ta, tb;
    int64_t m, n, k;
} lkey;

/* The descriptors and algorithm of one lkey, made once and kept for the process (one
 * cuBLASLt does not take keeps no plan, its descriptors destroyed). The bias pointer is
 * set on the descriptor per call, under call_mu. */
typedef struct lplan {
    lkey k;
    void *desc, *la, *lb, *ld;
    lt_algo algo;
    size_t ws;
} lplan;

static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;

static bool plan_make(void *plan) {
    lplan *p = plan;
    const lt_api *a = &lt;
    const lkey *k = &p->k;
    int dt = k->dtype == JX_F64 ? LT_R_64F : LT_R_32F;
    int ct = k->dtype == JX_F64 ? LT_COMPUTE_64F : k->tf32 ? LT_COMPUTE_32F_TF32 : LT_COMPUTE_32F;
    int opa = k->tb, opb = k->ta; /* cuBLASLt's A is jx's b, its B jx's a */
    int epi = k->kind == JX__EPI_BIAS ? LT_EPI_BIAS : k->kind == JX__EPI_BGRAD1 ? LT_EPI_BGRADA : LT_EPI_BGRADB;
    if (a->DescCreate(&p->desc, ct, dt) || a->DescSet(p->desc, LT_DESC_TRANSA, &opa, sizeof opa) ||
        a->DescSet(p->desc, LT_DESC_TRANSB, &opb, sizeof opb) || a->DescSet(p->desc, LT_DESC_EPILOGUE, &epi, sizeof epi))
        return false;
    /* the stored matrices, column-major: jx's b is (k,n) row-major, (n,k) column-major,
     * or (k,n) column-major when stored transposed; likewise a; D is y^T (n,m) */
    if (a->LayoutCreate(&p->la, dt, (uint64_t)(k->tb ? k->k : k->n), (uint64_t)(k->tb ? k->n : k->k),
                        k->tb ? k->k : k->n) ||
        a->LayoutCreate(&p->lb, dt, (uint64_t)(k->ta ? k->m : k->k), (uint64_t)(k->ta ? k->k : k->m),
                        k->ta ? k->m : k->k) ||
        a->LayoutCreate(&p->ld, dt, (uint64_t)k->n, (uint64_t)k->m, k->n))
        return false;
    void *pref = NULL;
    uint64_t most = LT_WORKSPACE;
    lt_result res[NRESULTS];
    int got = 0;
    bool ok = !a->PrefCreate(&pref) && !a->PrefSet(pref, LT_PREF_MAX_WORKSPACE, &most, sizeof most) &&
              !a->Heuristic(a->handle, p->desc, p->la, p->lb, p->ld, p->ld, pref, NRESULTS, res, &got);
    if (pref) a->PrefDestroy(pref);
    for (int i = 0; ok && i < got; i++)
        if (res[i].state == 0) {
            p->algo = res[i].algo, p->ws = res[i].ws;
            return true;
        }
    return false;
}

static void plan_undo(void *plan) {
    lplan *p = plan;
    if (p->desc) lt.DescDestroy(p->desc);
    if (p->la) lt.LayoutDestroy(p->la);
    if (p->lb) lt.LayoutDestroy(p->lb);
    if (p->ld) lt.LayoutDestroy(p->ld);
}

static jx__plan_cache plans = {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(lkey), sizeof(lplan), plan_make, plan_undo};

/* The plan of k, made on first use; NULL when cuBLASLt is missing or does not take it. */
static const lplan *plan_get(const lkey *k) { return lt_get() ? jx__plan_cache_get(&plans, k) : NULL; }

static bool key_make(const jx_fn *f, const jx__eqn *e, int kind, bool tf32, lkey *k) {
    if (!jx__cuda_dot_ok(f, e)) return false;
    jx_aval l = jx__atom_aval(f, &e->in[0]), r = jx__atom_aval(f, &e->in[1]);
    jx__dot_plan p;
    if (l.rank != 2 || r.rank != 2 || !jx__dot_plan_make(e, &l, &r, &p) || p.nb != 1) return false;
    memset(k, 0, sizeof *k); /* the padding too: keys are compared by memcmp */
    k->dtype = l.dtype, k->tf32 = tf32 && l.dtype == JX_F32, k->kind = kind, k->ta = p.ta, k->tb = p.tb;
    k->m = p.m, k->n = p.n, k->k = p.k;
    return p.m > 0 && p.n > 0 && p.k > 0;
}

bool jx__cuda_dot_epilogue_ok(const jx_fn *f, const jx__eqn *e, int kind) {
    const char *env = getenv("JX_CUDA_EPILOGUES"); /* 0: none, to compare */
    lkey k;
    return !(env && !strcmp(env, "0")) && key_make(f, e, kind, false, &k) && plan_get(&k) != NULL;
}

const jx__cuda_lt_plan *jx__cuda_lt_plan_get(const jx_fn *f, const jx__dot_epi *ep, bool tf32) {
    lkey k;
    if (!key_make(f, ep->dot, ep->kind, tf32, &k)) return NULL;
    const lplan *p = plan_get(&k);
    if (!p && k.tf32) { /* no TF32 algorithm: full f32, which fusion checked */
        k.tf32 = 0;
        p = plan_get(&k);
    }
    if (!p && !lt.handle) jx__fail(JX_ERR_UNSUPPORTED, ep->dot->loc, "dot_general", "%s", lt_error);
    else if (!p)
        jx__fail(JX_ERR_UNSUPPORTED, ep->dot->loc, "dot_general",
                 "cuBLASLt has no algorithm for a GEMM of m %lld, n %lld, k %lld with its epilogue", (long long)k.m,
                 (long long)k.n, (long long)k.k);
    return (const jx__cuda_lt_plan *)p;
}

size_t jx__cuda_lt_workspace(const jx__cuda_lt_plan *p) { return ((const lplan *)p)->ws; }

jx_status jx__cuda_dot_lt(const jx__cuda_lt_plan *plan, const jx__dot_epi *ep, CUdeviceptr a, CUdeviceptr b,
                          CUdeviceptr out, CUdeviceptr vec, CUdeviceptr ws) {
    const lplan *p = (const lplan *)plan;
    const jx__cu_dev *d = jx__cu_get();
    if (!d) return jx_errcode();
    double one64 = 1, zero64 = 0;
    float one32 = 1, zero32 = 0;
    const void *one = p->k.dtype == JX_F64 ? (const void *)&one64 : &one32;
    const void *zero = p->k.dtype == JX_F64 ? (const void *)&zero64 : &zero32;
    void *bias = (void *)(uintptr_t)vec;
    pthread_mutex_lock(&call_mu); /* the bias pointer lives on the shared descriptor */
    int st = lt.DescSet(p->desc, LT_DESC_BIAS_POINTER, &bias, sizeof bias);
    if (st == 0)
        st = lt.Matmul(lt.handle, p->desc, one, (const void *)(uintptr_t)b, p->la, (const void *)(uintptr_t)a, p->lb,
                       zero, (const void *)(uintptr_t)out, p->ld, (void *)(uintptr_t)out, p->ld, &p->algo,
                       (void *)(uintptr_t)ws, p->ws, d->stream);
    pthread_mutex_unlock(&call_mu);
    if (st != 0)
        return jx__fail(JX_ERR_RUNTIME, ep->dot->loc, "dot_general",
                        "cublasLtMatmul failed (status %d) on a GEMM of m %lld, n %lld, k %lld with an epilogue", st,
                        (long long)p->k.m, (long long)p->k.n, (long long)p->k.k);
    return JX_OK;
}
