/* fake_cuda.c: a fake CUDA driver and cuBLAS (cuDNN: fake_cudnn.c) for tests on machines without a GPU, loaded
 * by jx through JX_CUDA_DRIVER and JX_CUBLAS (the entry points jx resolves, under the
 * names it resolves). Device pointers are host pointers, so copies and memsets are real
 * and cuBLAS's strided-batched GEMM is computed (column-major, as cuBLAS); generated
 * kernels are parsed from the PTX only for their parameter count, and a launch is
 * counted and its parameters kept, not run.
 *
 * The rules jx's CUDA graphs depend on are the driver's: work queued on a capturing
 * stream is recorded into the capture's graph instead of run; the legacy null stream's
 * synchronous copies, a context synchronisation, and (unless the capture is relaxed) an
 * allocation during a capture are refused and invalidate it, so that ending it fails;
 * an instantiated graph runs its recorded work again on each launch. */
#define _POSIX_C_SOURCE 200809L
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define API __attribute__((visibility("default")))

static jxfake_stats stats;
API jxfake_stats *jxfake_stats_get(void) { return &stats; }

typedef enum { N_KERNEL, N_GEMM, N_COPY, N_SET, N_HOST } nkind;

typedef struct gemm {
    int dbl, ta, tb, m, n, k, lda, ldb, ldc, batch;
    int tf32; /* f32 operands rounded to TF32 first (CUBLAS_COMPUTE_32F_FAST_TF32) */
    long long sa, sb, sc;
    double alpha, beta;
    const void *a, *b;
    void *c;
} gemm;

typedef struct node {
    nkind kind;
    int np;
    uint64_t params[JXFAKE_MAX_PARAMS];
    gemm g;
    CUdeviceptr dst, src;
    size_t bytes;
    unsigned char val;
    void (*host)(const void *arg, int replayed); /* N_HOST: work of another fake library */
    _Alignas(8) unsigned char arg[JXFAKE_HOST_ARG];
} node;

struct CUgraph_st {
    node *nodes;
    long n, cap;
};
struct CUgraphExec_st {
    node *nodes;
    int n;
};
struct CUstream_st {
    CUgraph capture;  /* the graph being captured, or NULL */
    int invalid;      /* the capture was invalidated */
    CUstreamCaptureMode mode;
    int deferred;     /* non-blocking: its work waits in q until ordered */
    node *q;
    long nq, capq, ran; /* queued so far, and how many of them have run */
};
struct CUevent_st {
    CUstream s;   /* where it was last recorded (NULL: never) */
    long at;      /* deferred stream: the work queued before it; else its record number */
};
static long records;        /* events recorded on blocking streams so far */
static long synced_records; /* every such record up to this one has completed */
struct CUfunc_st {
    int np;
};
struct CUmod_st {
    char *ptx;
    struct CUfunc_st *fns[256];
    int nfns;
};

static struct CUstream_st *capturing; /* the one stream under capture, if any */
static int ctx_dummy;

/* Work on stream s: NULL to run it now, or the graph it is recorded into. Refused on
 * the legacy stream while a capture is on (and the capture invalidated). */
static CUresult where(CUstream s, CUgraph *into) {
    *into = NULL;
    if (s == NULL || s == CU_STREAM_LEGACY) {
        if (!capturing) return CUDA_SUCCESS;
        capturing->invalid = 1;
        stats.capture_violations++;
        return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
    }
    *into = s->capture;
    return CUDA_SUCCESS;
}

/* Appends x to the list *v of *n nodes (room for *cap). */
static CUresult push(node **v, long *n, long *cap, const node *x) {
    if (*n == *cap) {
        long c = *cap ? 2 * *cap : 16;
        node *w = realloc(*v, sizeof *w * (size_t)c);
        if (!w) return CUDA_ERROR_OUT_OF_MEMORY;
        *v = w, *cap = c;
    }
    (*v)[(*n)++] = *x;
    return CUDA_SUCCESS;
}

static CUresult record(CUgraph g, const node *n) { return push(&g->nodes, &g->n, &g->cap, n); }

double jxfake__tf32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
    memcpy(&x, &u, 4);
    return x;
}

static void run_gemm(const gemm *g) {
    for (int b = 0; b < g->batch; b++)
        for (int j = 0; j < g->n; j++)
            for (int i = 0; i < g->m; i++) {
                double acc = 0;
                for (int l = 0; l < g->k; l++) {
                    long long ia = b * g->sa + (g->ta ? l + (long long)i * g->lda : i + (long long)l * g->lda);
                    long long ib = b * g->sb + (g->tb ? j + (long long)l * g->ldb : l + (long long)j * g->ldb);
                    const float *fa = g->a, *fb = g->b;
                    acc += g->dbl    ? ((const double *)g->a)[ia] * ((const double *)g->b)[ib]
                           : g->tf32 ? jxfake__tf32(fa[ia]) * jxfake__tf32(fb[ib])
                                     : (double)fa[ia] * fb[ib];
                }
                long long ic = b * g->sc + i + (long long)j * g->ldc;
                if (g->dbl) {
                    double *c = g->c;
                    c[ic] = g->alpha * acc + (g->beta != 0 ? g->beta * c[ic] : 0);
                } else {
                    float *c = g->c;
                    c[ic] = (float)(g->alpha * acc + (g->beta != 0 ? g->beta * c[ic] : 0));
                }
            }
}

static void run_node(const node *n, int replayed) {
    switch (n->kind) {
    case N_KERNEL:
        if (replayed) stats.launches_replayed++;
        else stats.launches++;
        stats.last_nparams = n->np;
        memcpy(stats.last_params, n->params, sizeof n->params);
        break;
    case N_GEMM:
        if (replayed) stats.gemms_replayed++;
        else stats.gemms++;
        run_gemm(&n->g);
        break;
    case N_COPY: memmove((void *)(uintptr_t)n->dst, (const void *)(uintptr_t)n->src, n->bytes); break;
    case N_SET: memset((void *)(uintptr_t)n->dst, n->val, n->bytes); break;
    case N_HOST: n->host(n->arg, replayed); break;
    }
}

/* Runs the deferred stream s's work up to position upto. */
static void flush(CUstream s, long upto) {
    for (; s->ran < upto && s->ran < s->nq; s->ran++) {
        run_node(&s->q[s->ran], 0);
        stats.deferred_pending--;
    }
}

/* Runs n now, queues it on a deferred stream, or records it when s is capturing. */
static CUresult submit(CUstream s, const node *n) {
    CUgraph g;
    CUresult r = where(s, &g);
    if (r != CUDA_SUCCESS) return r;
    if (g) return record(g, n);
    if (s && s != CU_STREAM_LEGACY && s->deferred) {
        if ((r = push(&s->q, &s->nq, &s->capq, n)) == CUDA_SUCCESS) stats.deferred_pending++;
        return r;
    }
    run_node(n, 0);
    return CUDA_SUCCESS;
}

int jxfake__submit_host(CUstream s, void (*fn)(const void *arg, int replayed), const void *arg, size_t bytes) {
    if (bytes > JXFAKE_HOST_ARG) return CUDA_ERROR_INVALID_VALUE;
    node n = {.kind = N_HOST, .host = fn};
    memcpy(n.arg, arg, bytes);
    return submit(s, &n);
}

/* ------------------------------------------------------------------ device, context */

API CUresult cuInit(unsigned flags) { return flags ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS; }
API CUresult cuDeviceGetCount(int *n) { return *n = 1, CUDA_SUCCESS; }
API CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    return ordinal == 0 ? (*d = 0, CUDA_SUCCESS) : CUDA_ERROR_INVALID_DEVICE;
}
API CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
    (void)d;
    *v = a == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT ? 132 : a == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ? 9 : 0;
    return CUDA_SUCCESS;
}
API CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    (void)d;
    snprintf(name, (size_t)len, "jx fake GPU");
    return CUDA_SUCCESS;
}
API CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
    (void)d;
    *c = (CUcontext)&ctx_dummy;
    return CUDA_SUCCESS;
}
API CUresult cuCtxSetCurrent(CUcontext c) { return c == (CUcontext)&ctx_dummy ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }
static CUstream deferred_streams[8];
static int ndeferred;
API CUresult cuCtxSynchronize(void) {
    for (int i = 0; !capturing && i < ndeferred; i++) flush(deferred_streams[i], deferred_streams[i]->nq);
    if (!capturing) synced_records = records;
    if (!capturing) return CUDA_SUCCESS;
    capturing->invalid = 1;
    stats.capture_violations++;
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

static const char *names[][2] = {
    {"CUDA_SUCCESS", "no error"},
    {"CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {"CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {"CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {"CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {"CUDA_ERROR_NOT_READY", "device not ready"},
    {"CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
    {"CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
    {"CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "operation would make the legacy stream depend on a capturing blocking stream"},
    {"CUDA_ERROR_UNKNOWN", "unknown error"},
};
static int name_index(CUresult r) {
    switch (r) {
    case CUDA_SUCCESS: return 0;
    case CUDA_ERROR_INVALID_VALUE: return 1;
    case CUDA_ERROR_OUT_OF_MEMORY: return 2;
    case CUDA_ERROR_NOT_FOUND: return 3;
    case CUDA_ERROR_NOT_SUPPORTED: return 4;
    case CUDA_ERROR_NOT_READY: return 5;
    case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: return 6;
    case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: return 7;
    case CUDA_ERROR_STREAM_CAPTURE_IMPLICIT: return 8;
    default: return 9;
    }
}
API CUresult cuGetErrorName(CUresult r, const char **s) { return *s = names[name_index(r)][0], CUDA_SUCCESS; }
API CUresult cuGetErrorString(CUresult r, const char **s) { return *s = names[name_index(r)][1], CUDA_SUCCESS; }

/* ------------------------------------------------------------------ memory */

API CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) {
    if (capturing && capturing->mode != CU_STREAM_CAPTURE_MODE_RELAXED) {
        capturing->invalid = 1;
        stats.capture_violations++;
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    void *m = calloc(1, bytes ? bytes : 1);
    if (!m) return CUDA_ERROR_OUT_OF_MEMORY;
    stats.live_allocs++;
    *p = (CUdeviceptr)(uintptr_t)m;
    return CUDA_SUCCESS;
}
API CUresult cuMemFree(CUdeviceptr p) {
    if (p) stats.live_allocs--;
    free((void *)(uintptr_t)p);
    return CUDA_SUCCESS;
}
API CUresult cuMemGetInfo(size_t *free_bytes, size_t *total) {
    *free_bytes = *total = (size_t)80 << 30;
    return CUDA_SUCCESS;
}
/* A synchronous copy on the legacy stream: it waits for the blocking streams' work, so
 * every event recorded there has completed once it returns (not the non-blocking's). */
static CUresult copy_sync(CUdeviceptr d, CUdeviceptr s, size_t n) {
    CUresult r = submit(NULL, &(node){.kind = N_COPY, .dst = d, .src = s, .bytes = n});
    if (r == CUDA_SUCCESS) synced_records = records;
    return r;
}
API CUresult cuMemcpyHtoD(CUdeviceptr d, const void *h, size_t n) { return copy_sync(d, (CUdeviceptr)(uintptr_t)h, n); }
API CUresult cuMemcpyDtoH(void *h, CUdeviceptr d, size_t n) {
    stats.copies_to_host++;
    return copy_sync((CUdeviceptr)(uintptr_t)h, d, n);
}
API CUresult cuMemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n) { return copy_sync(d, s, n); }
API CUresult cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) {
    stats.copies_async++;
    return submit(st, &(node){.kind = N_COPY, .dst = d, .src = s, .bytes = n});
}
/* as the driver: not on the legacy stream; every copy covered by an attribute whose
 * source order is valid, the first attribute applying from copy 0 */
API CUresult cuMemcpyBatchAsync(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes, size_t count,
                                CUmemcpyAttributes *attrs, size_t *attrs_idx, size_t nattrs, CUstream st) {
    if (!st || st == CU_STREAM_LEGACY || !count || !nattrs || nattrs > count || attrs_idx[0] != 0)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t a = 0; a < nattrs; a++)
        if (attrs[a].srcAccessOrder < CU_MEMCPY_SRC_ACCESS_ORDER_STREAM ||
            attrs[a].srcAccessOrder > CU_MEMCPY_SRC_ACCESS_ORDER_ANY || (a && attrs_idx[a] <= attrs_idx[a - 1]))
            return CUDA_ERROR_INVALID_VALUE;
    if (stats.fail_batch > 0) return stats.fail_batch--, CUDA_ERROR_NOT_SUPPORTED;
    stats.batches++;
    for (size_t i = 0; i < count; i++) {
        stats.batched_copies++;
        CUresult r = submit(st, &(node){.kind = N_COPY, .dst = dsts[i], .src = srcs[i], .bytes = sizes[i]});
        if (r != CUDA_SUCCESS) return r;
    }
    return CUDA_SUCCESS;
}
API CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream st) {
    return submit(st, &(node){.kind = N_SET, .dst = d, .val = v, .bytes = n});
}

/* ------------------------------------------------------------------ modules, kernels */

API CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned n, CUjit_option *o, void **v) {
    (void)n, (void)o, (void)v;
    struct CUmod_st *mod = calloc(1, sizeof *mod);
    if (!mod || !(mod->ptx = strdup(image))) return free(mod), CUDA_ERROR_OUT_OF_MEMORY;
    if (!strstr(mod->ptx, ".version") || !strstr(mod->ptx, ".entry")) {
        free(mod->ptx), free(mod);
        return CUDA_ERROR_INVALID_VALUE; /* CUDA_ERROR_INVALID_PTX in spirit */
    }
    *m = mod;
    return CUDA_SUCCESS;
}
API CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
    char key[512];
    snprintf(key, sizeof key, ".entry %s(", name);
    const char *at = strstr(m->ptx, key);
    if (!at || m->nfns == 256) return CUDA_ERROR_NOT_FOUND;
    const char *end = strchr(at, ')');
    struct CUfunc_st *fn = calloc(1, sizeof *fn);
    if (!fn) return CUDA_ERROR_OUT_OF_MEMORY;
    for (const char *p = at; (p = strstr(p, ".param")) && p < end; p += 6) fn->np++;
    m->fns[m->nfns++] = fn;
    *f = fn;
    return CUDA_SUCCESS;
}
API CUresult cuModuleUnload(CUmodule m) {
    for (int i = 0; i < m->nfns; i++) free(m->fns[i]);
    free(m->ptx);
    free(m);
    return CUDA_SUCCESS;
}
API CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                            unsigned shared, CUstream s, void **params, void **extra) {
    (void)shared;
    if (!f || !gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024 || extra || f->np > JXFAKE_MAX_PARAMS)
        return CUDA_ERROR_INVALID_VALUE;
    node n = {.kind = N_KERNEL, .np = f->np};
    for (int i = 0; i < f->np; i++) memcpy(&n.params[i], params[i], 8); /* every parameter of jx's kernels is 8 bytes */
    return submit(s, &n);
}

/* ------------------------------------------------------------------ streams, graphs */

API CUresult cuStreamCreate(CUstream *s, unsigned flags) {
    if (flags & ~(unsigned)CU_STREAM_NON_BLOCKING) return CUDA_ERROR_INVALID_VALUE;
    if (!(*s = calloc(1, sizeof **s))) return CUDA_ERROR_OUT_OF_MEMORY;
    (*s)->deferred = flags == CU_STREAM_NON_BLOCKING;
    if ((*s)->deferred && ndeferred < 8) deferred_streams[ndeferred++] = *s;
    return CUDA_SUCCESS;
}

API CUresult cuEventCreate(CUevent *e, unsigned flags) {
    if (flags & ~(unsigned)(CU_EVENT_DISABLE_TIMING | CU_EVENT_BLOCKING_SYNC)) return CUDA_ERROR_INVALID_VALUE;
    return (*e = calloc(1, sizeof **e)) ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
API CUresult cuEventRecord(CUevent e, CUstream s) {
    CUgraph g;
    CUresult r = where(s, &g);
    if (r != CUDA_SUCCESS || g) return r != CUDA_SUCCESS ? r : CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    e->s = s ? s : CU_STREAM_LEGACY;
    e->at = s && s != CU_STREAM_LEGACY && s->deferred ? s->nq : ++records;
    return CUDA_SUCCESS;
}
/* The work before e has run (a deferred stream's is run now: the GPU got to it). */
static int event_done(CUevent e, int force) {
    if (!e->s) return 1;
    if (e->s != CU_STREAM_LEGACY && e->s->deferred) {
        flush(e->s, e->at);
        return 1;
    }
    if (force && e->at > synced_records) synced_records = e->at;
    return e->at <= synced_records || records - e->at >= stats.compute_lag;
}
API CUresult cuEventQuery(CUevent e) { return event_done(e, 0) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY; }
API CUresult cuEventSynchronize(CUevent e) {
    event_done(e, 1);
    return CUDA_SUCCESS;
}
API CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned flags) {
    if (flags) return CUDA_ERROR_INVALID_VALUE;
    /* a blocking stream runs its work at once, so what it waits for must have run */
    if (!(s && s != CU_STREAM_LEGACY && s->deferred)) event_done(e, 1);
    return CUDA_SUCCESS;
}
API CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned flags) {
    if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
        return CUDA_ERROR_INVALID_VALUE;
    if (stats.fail_pinned > 0) return stats.fail_pinned--, CUDA_ERROR_OUT_OF_MEMORY;
    if (!(*p = malloc(bytes ? bytes : 1))) return CUDA_ERROR_OUT_OF_MEMORY;
    stats.pinned_live++;
    return CUDA_SUCCESS;
}
API CUresult cuMemFreeHost(void *p) {
    stats.pinned_live--;
    free(p);
    return CUDA_SUCCESS;
}
API CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n, CUstream st) {
    return submit(st, &(node){.kind = N_COPY, .dst = d, .src = (CUdeviceptr)(uintptr_t)h, .bytes = n});
}
API CUresult cuStreamSynchronize(CUstream s) {
    if (capturing && (s == capturing || s == NULL || s == CU_STREAM_LEGACY)) {
        capturing->invalid = 1;
        stats.capture_violations++;
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    if (s && s != CU_STREAM_LEGACY && s->deferred) flush(s, s->nq);
    else synced_records = records;
    return CUDA_SUCCESS;
}
API CUresult cuStreamBeginCapture(CUstream s, CUstreamCaptureMode mode) {
    if (!s || s == CU_STREAM_LEGACY || capturing) return CUDA_ERROR_INVALID_VALUE;
    if (!(s->capture = calloc(1, sizeof *s->capture))) return CUDA_ERROR_OUT_OF_MEMORY;
    s->invalid = 0, s->mode = mode;
    capturing = s;
    stats.captures_begun++;
    stats.graphs_live++;
    return CUDA_SUCCESS;
}
API CUresult cuGraphDestroy(CUgraph g) {
    if (!g) return CUDA_ERROR_INVALID_VALUE;
    stats.graphs_live--;
    free(g->nodes);
    free(g);
    return CUDA_SUCCESS;
}
API CUresult cuStreamEndCapture(CUstream s, CUgraph *g) {
    if (s != capturing || !s) return CUDA_ERROR_INVALID_VALUE;
    capturing = NULL;
    CUgraph got = s->capture;
    s->capture = NULL;
    stats.captures_ended++;
    if (s->invalid) {
        cuGraphDestroy(got);
        *g = NULL;
        return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
    }
    *g = got;
    return CUDA_SUCCESS;
}
API CUresult cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long flags) {
    if (!g || flags) return CUDA_ERROR_INVALID_VALUE;
    if (stats.fail_instantiate > 0) return stats.fail_instantiate--, CUDA_ERROR_OUT_OF_MEMORY;
    struct CUgraphExec_st *x = calloc(1, sizeof *x);
    if (!x || !(x->nodes = malloc(sizeof *x->nodes * (size_t)(g->n + 1)))) return free(x), CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(x->nodes, g->nodes, sizeof *x->nodes * (size_t)g->n);
    x->n = g->n;
    *e = x;
    stats.instantiated++;
    stats.execs_live++;
    return CUDA_SUCCESS;
}
API CUresult cuGraphLaunch(CUgraphExec e, CUstream s) {
    CUgraph into;
    CUresult r = where(s, &into);
    if (r != CUDA_SUCCESS || into) return r != CUDA_SUCCESS ? r : CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    stats.graph_launches++;
    for (int i = 0; i < e->n; i++) run_node(&e->nodes[i], 1);
    return CUDA_SUCCESS;
}
API CUresult cuGraphExecDestroy(CUgraphExec e) {
    if (!e) return CUDA_ERROR_INVALID_VALUE;
    stats.execs_live--;
    free(e->nodes);
    free(e);
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------ cuBLAS */

typedef struct fake_blas {
    CUstream stream;
} fake_blas;

API int cublasCreate_v2(void **h) { return (*h = calloc(1, sizeof(fake_blas))) ? 0 : 3; }
API int cublasSetMathMode(void *h, int mode) { return h && mode == 0 ? 0 : 7; }
API int cublasSetStream_v2(void *h, CUstream s) { return ((fake_blas *)h)->stream = s, 0; }

static int gemm_submit(void *h, gemm g) {
    node n = {.kind = N_GEMM, .g = g};
    return submit(((fake_blas *)h)->stream, &n) == CUDA_SUCCESS ? 0 : 13; /* CUBLAS_STATUS_EXECUTION_FAILED */
}
API int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a,
                                  int lda, long long sa, const float *b, int ldb, long long sb, const float *beta,
                                  float *c, int ldc, long long sc, int batch) {
    return gemm_submit(h, (gemm){0, ta, tb, m, n, k, lda, ldb, ldc, batch, 0, sa, sb, sc, *alpha, *beta, a, b, c});
}
/* f32 only, as jx calls it: CUDA_R_32F (0) everywhere, CUBLAS_COMPUTE_32F (68) or
 * _32F_FAST_TF32 (77), CUBLAS_GEMM_DEFAULT (-1); else CUBLAS_STATUS_INVALID_VALUE (7) */
API int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *a,
                                   int atype, int lda, long long sa, const void *b, int btype, int ldb, long long sb,
                                   const void *beta, void *c, int ctype, int ldc, long long sc, int batch, int compute,
                                   int algo) {
    if (atype || btype || ctype || (compute != 68 && compute != 77) || algo != -1) return 7;
    stats.last_compute_type = compute;
    return gemm_submit(h, (gemm){0, ta, tb, m, n, k, lda, ldb, ldc, batch, compute == 77, sa, sb, sc,
                                 *(const float *)alpha, *(const float *)beta, a, b, c});
}
API int cublasDgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const double *alpha, const double *a,
                                  int lda, long long sa, const double *b, int ldb, long long sb, const double *beta,
                                  double *c, int ldc, long long sc, int batch) {
    return gemm_submit(h, (gemm){1, ta, tb, m, n, k, lda, ldb, ldc, batch, 0, sa, sb, sc, *alpha, *beta, a, b, c});
}
