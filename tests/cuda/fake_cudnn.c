/* fake_cudnn.c: the cuDNN entry points jx loads (JX_CUDNN; src/backends/cuda/conv.c), in
 * the fake driver's library (fake_cuda.c). Descriptors hold what they are set to and are
 * checked as cuDNN checks them (packed filters, a group count dividing the channels, the
 * output size from cuDNN's formula); cudnnConvolutionForward computes the conv on the
 * host, queued on the handle's stream like the driver's own work (so captured and
 * replayed by graphs), reading x and writing y through their descriptors' strides. Its
 * algorithm heuristic offers an unsupported algorithm first, then algorithm 1, which
 * needs a workspace (the fake fills it, so a workspace shared with live data shows), in
 * the math type of the descriptor; with CUDNN_DEFAULT_MATH an f32 conv rounds its
 * operands to TF32, as tensor cores may. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define API __attribute__((visibility("default")))

enum { BAD_PARAM = 2000, NOT_SUPPORTED = 3000, WS_BYTES = 4096 };

typedef struct tdesc {
    int dt, nd, dims[8], strides[8];
} tdesc;
typedef struct cdesc {
    int n, pad[6], stride[6], dil[6], mode, dt, groups, math;
} cdesc;
typedef struct fhandle {
    CUstream stream;
} fhandle;

/* What one forward conv needs, copied into the queued work. */
typedef struct conv_job {
    tdesc x, w, y;
    cdesc c;
    const void *xp, *wp;
    void *yp, *ws;
    double alpha, beta;
    int bwd; /* 1 backward data: xp is dy (y's descriptor), yp dx (x's); 2 backward filter:
              * xp is x, wp dy (y's descriptor), yp dw (w's) */
} conv_job;

API int cudnnCreate(void **h) { return (*h = calloc(1, sizeof(fhandle))) ? 0 : 4; }
API int cudnnSetStream(void *h, CUstream s) { return ((fhandle *)h)->stream = s, 0; }
API const char *cudnnGetErrorString(int st) {
    return st == 0 ? "CUDNN_STATUS_SUCCESS" : st == BAD_PARAM ? "CUDNN_STATUS_BAD_PARAM" : "CUDNN_STATUS_NOT_SUPPORTED";
}

static int create(void **d, size_t bytes) { return (*d = calloc(1, bytes)) ? 0 : 4; }
API int cudnnCreateTensorDescriptor(void **d) { return create(d, sizeof(tdesc)); }
API int cudnnCreateFilterDescriptor(void **d) { return create(d, sizeof(tdesc)); }
API int cudnnCreateConvolutionDescriptor(void **d) { return create(d, sizeof(cdesc)); }
API int cudnnDestroyTensorDescriptor(void *d) { return free(d), 0; }
API int cudnnDestroyFilterDescriptor(void *d) { return free(d), 0; }
API int cudnnDestroyConvolutionDescriptor(void *d) { return free(d), 0; }

API int cudnnSetTensorNdDescriptor(void *d, int dt, int nd, const int *dims, const int *strides) {
    tdesc *t = d;
    if (nd < 4 || nd > 8 || (dt != 0 && dt != 1)) return BAD_PARAM;
    t->dt = dt, t->nd = nd;
    for (int i = 0; i < nd; i++) {
        if (dims[i] <= 0 || strides[i] <= 0) return BAD_PARAM;
        t->dims[i] = dims[i], t->strides[i] = strides[i];
    }
    return 0;
}
/* Filters are packed: NCHW (format 0) only here, as jx uses. */
API int cudnnSetFilterNdDescriptor(void *d, int dt, int format, int nd, const int *dims) {
    if (format != 0) return NOT_SUPPORTED;
    int st[8];
    if (nd < 4 || nd > 8) return BAD_PARAM;
    st[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--) st[i] = st[i + 1] * dims[i + 1];
    return cudnnSetTensorNdDescriptor(d, dt, nd, dims, st);
}
API int cudnnSetConvolutionNdDescriptor(void *d, int n, const int *pad, const int *stride, const int *dil, int mode,
                                        int dt) {
    cdesc *c = d;
    if (n < 2 || n > 6) return BAD_PARAM;
    for (int i = 0; i < n; i++) {
        if (pad[i] < 0 || stride[i] <= 0 || dil[i] <= 0) return BAD_PARAM;
        c->pad[i] = pad[i], c->stride[i] = stride[i], c->dil[i] = dil[i];
    }
    c->n = n, c->mode = mode, c->dt = dt;
    if (!c->groups) c->groups = 1;
    return 0;
}
API int cudnnSetConvolutionGroupCount(void *d, int g) { return g > 0 ? (((cdesc *)d)->groups = g, 0) : BAD_PARAM; }
API int cudnnSetConvolutionMathType(void *d, int m) {
    return m == 0 || m == 1 || m == 2 || m == 3 ? (((cdesc *)d)->math = m, 0) : BAD_PARAM;
}

API int cudnnGetConvolutionNdForwardOutputDim(void *cd, void *xd, void *wd, int nd, int *out) {
    const cdesc *c = cd;
    const tdesc *x = xd, *w = wd;
    if (nd != x->nd || nd != w->nd || c->n != nd - 2 || x->dims[1] != w->dims[1] * c->groups ||
        w->dims[0] % c->groups)
        return BAD_PARAM;
    out[0] = x->dims[0], out[1] = w->dims[0];
    for (int i = 0; i < c->n; i++) {
        int ek = (w->dims[2 + i] - 1) * c->dil[i] + 1, span = x->dims[2 + i] + 2 * c->pad[i] - ek;
        if (span < 0) return BAD_PARAM;
        out[2 + i] = span / c->stride[i] + 1;
    }
    return 0;
}

typedef struct perf {
    int algo, status;
    float time;
    size_t memory;
    int determinism, math;
    int reserved[3];
} perf;

API int cudnnGetConvolutionForwardAlgorithm_v7(void *h, void *xd, void *wd, void *cd, void *yd, int want, int *got,
                                               perf *res) {
    (void)h, (void)xd, (void)wd, (void)yd;
    const cdesc *c = cd;
    perf all[2] = {{6, NOT_SUPPORTED, -1, 0, 1, c->math, {0}}, {1, 0, -1, WS_BYTES, 1, c->math, {0}}};
    *got = want < 2 ? want : 2;
    memcpy(res, all, sizeof(perf) * (size_t)*got);
    return 0;
}
API int cudnnGetConvolutionForwardWorkspaceSize(void *h, void *xd, void *wd, void *cd, void *yd, int algo,
                                                size_t *bytes) {
    (void)h, (void)xd, (void)wd, (void)cd, (void)yd;
    if (algo != 1) return NOT_SUPPORTED;
    return *bytes = WS_BYTES, 0;
}

static double at(const tdesc *t, const void *p, const int *idx, int rnd) {
    long off = 0;
    for (int i = 0; i < t->nd; i++) off += (long)idx[i] * t->strides[i];
    if (t->dt == 1) return ((const double *)p)[off];
    return rnd ? jxfake__tf32(((const float *)p)[off]) : ((const float *)p)[off];
}

/* Every (output element, channel of its group, window tap inside x): fn(job, y index, x index, w index). */
static void walk(const conv_job *j, void (*fn)(const conv_job *, const int *, const int *, const int *, double *),
                 int fresh) {
    const tdesc *x = &j->x, *w = &j->w, *y = &j->y;
    int ns = j->c.n, cg = w->dims[1], og = w->dims[0] / j->c.groups;
    long total = 1, taps = 1;
    for (int i = 0; i < y->nd; i++) total *= y->dims[i];
    for (int i = 0; i < ns; i++) taps *= w->dims[2 + i];
    for (long e = 0; e < total; e++) {
        int yi[8], xi[8], wi[8];
        long r = e;
        for (int i = y->nd - 1; i >= 0; i--) yi[i] = (int)(r % y->dims[i]), r /= y->dims[i];
        double acc = 0;
        for (int c = 0; c < cg; c++)
            for (long t = 0; t < taps; t++) {
                long q = t;
                int inside = 1;
                for (int i = ns - 1; i >= 0; i--) {
                    wi[2 + i] = (int)(q % w->dims[2 + i]), q /= w->dims[2 + i];
                    xi[2 + i] = yi[2 + i] * j->c.stride[i] - j->c.pad[i] + wi[2 + i] * j->c.dil[i];
                    inside = inside && xi[2 + i] >= 0 && xi[2 + i] < x->dims[2 + i];
                }
                if (!inside) continue;
                xi[0] = yi[0], xi[1] = yi[1] / og * cg + c;
                wi[0] = yi[1], wi[1] = c;
                fn(j, yi, xi, wi, &acc);
            }
        if (fresh) fn(j, yi, NULL, NULL, &acc); /* the element done */
    }
}

static long offset(const tdesc *t, const int *idx) {
    long off = 0;
    for (int i = 0; i < t->nd; i++) off += (long)idx[i] * t->strides[i];
    return off;
}
static void put(const tdesc *t, void *p, const int *idx, double v) {
    if (t->dt == 1) ((double *)p)[offset(t, idx)] = v;
    else ((float *)p)[offset(t, idx)] = (float)v;
}

/* forward: acc += x w per tap; y = alpha acc + beta y when the element is done */
static void fwd_tap(const conv_job *j, const int *yi, const int *xi, const int *wi, double *acc) {
    int rnd = j->x.dt == 0 && j->c.math != 3;
    if (xi) *acc += at(&j->x, j->xp, xi, rnd) * at(&j->w, j->wp, wi, rnd);
    else put(&j->y, j->yp, yi, j->alpha * *acc + (j->beta ? j->beta * at(&j->y, j->yp, yi, 0) : 0));
}
/* backward filter: dw[wi] += x[xi] dy[yi] (dw zeroed first; j->wp is dy's pointer here, yp dw's) */
static void filter_tap(const conv_job *j, const int *yi, const int *xi, const int *wi, double *acc) {
    (void)acc;
    int rnd = j->x.dt == 0 && j->c.math != 3;
    double *dw = (double *)j->ws;
    dw[offset(&j->w, wi)] += at(&j->x, j->xp, xi, rnd) * at(&j->y, j->wp, yi, rnd);
}
/* backward data: dx[xi] += dy[yi] w[wi] (dx zeroed first; j->xp is dy's pointer here, yp dx's) */
static void bwd_tap(const conv_job *j, const int *yi, const int *xi, const int *wi, double *acc) {
    (void)acc;
    int rnd = j->x.dt == 0 && j->c.math != 3;
    double *dx = (double *)j->ws; /* the sums, in double, in the job's scratch */
    dx[offset(&j->x, xi)] += at(&j->y, j->xp, yi, rnd) * at(&j->w, j->wp, wi, rnd);
}

static void run_conv(const void *arg, int replayed) {
    const conv_job *j = arg;
    jxfake_stats *s = jxfake_stats_get();
    memset(j->ws, 0xa5, WS_BYTES);
    if (j->bwd) { /* the sums in double in a scratch laid out as the result (dx, or dw) */
        const tdesc *o = j->bwd == 1 ? &j->x : &j->w;
        long n = 1, total = 1;
        for (int i = 0; i < o->nd; i++) n += (long)(o->dims[i] - 1) * o->strides[i], total *= o->dims[i];
        conv_job k = *j;
        if (!(k.ws = calloc((size_t)n, sizeof(double)))) return;
        walk(&k, j->bwd == 1 ? bwd_tap : filter_tap, 0);
        for (long e = 0; e < total; e++) {
            int oi[8];
            long r = e;
            for (int i = o->nd - 1; i >= 0; i--) oi[i] = (int)(r % o->dims[i]), r /= o->dims[i];
            put(o, j->yp, oi, j->alpha * ((double *)k.ws)[offset(o, oi)]);
        }
        free(k.ws);
        if (j->bwd == 1) s->convs_bwd_data++;
        else s->convs_bwd_filter++;
    } else
        walk(j, fwd_tap, 1);
    if (replayed) s->convs_replayed++;
    else s->convs++;
    s->last_conv_math = j->c.math;
}

/* Checks and queues the conv of x, w, y (for backward data: dx, w, dy, with its
 * pointers xp = dy and yp = dx) as cuDNN checks its calls: the algorithm the heuristic
 * offered with its workspace, descriptors that agree, y's size cuDNN's. */
static int submit(void *h, conv_job *j, int algo, size_t ws_bytes, const void *alpha, const void *beta) {
    int out[8];
    if (algo != 1 || !j->ws || ws_bytes < WS_BYTES || !j->xp || !j->wp || !j->yp) return BAD_PARAM;
    if (cudnnGetConvolutionNdForwardOutputDim(&j->c, &j->x, &j->w, j->x.nd, out) || j->c.mode != 1 ||
        j->x.dt != j->w.dt || j->x.dt != j->y.dt || j->c.dt != j->x.dt ||
        memcmp(out, j->y.dims, sizeof(int) * (size_t)j->y.nd) != 0)
        return BAD_PARAM;
    j->alpha = j->x.dt == 1 ? *(const double *)alpha : *(const float *)alpha;
    j->beta = j->x.dt == 1 ? *(const double *)beta : *(const float *)beta;
    if (j->bwd && j->beta != 0) return NOT_SUPPORTED;
    return jxfake__submit_host(((fhandle *)h)->stream, run_conv, j, sizeof *j) == CUDA_SUCCESS ? 0 : 4000;
}

API int cudnnConvolutionForward(void *h, const void *alpha, void *xd, const void *x, void *wd, const void *w, void *cd,
                                int algo, void *ws, size_t ws_bytes, const void *beta, void *yd, void *y) {
    conv_job j = {*(tdesc *)xd, *(tdesc *)wd, *(tdesc *)yd, *(cdesc *)cd, x, w, y, ws, 0, 0, 0};
    return submit(h, &j, algo, ws_bytes, alpha, beta);
}

/* Backward data: the adjoint of the forward conv its descriptors describe (cross-
 * correlation), dx = alpha sum dy w (beta 0); its heuristic and workspace as forward's. */
API int cudnnGetConvolutionBackwardDataAlgorithm_v7(void *h, void *wd, void *dyd, void *cd, void *dxd, int want,
                                                    int *got, perf *res) {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, dxd, wd, cd, dyd, want, got, res);
}
API int cudnnGetConvolutionBackwardDataWorkspaceSize(void *h, void *wd, void *dyd, void *cd, void *dxd, int algo,
                                                     size_t *bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, dxd, wd, cd, dyd, algo, bytes);
}
API int cudnnConvolutionBackwardData(void *h, const void *alpha, void *wd, const void *w, void *dyd, const void *dy,
                                     void *cd, int algo, void *ws, size_t ws_bytes, const void *beta, void *dxd,
                                     void *dx) {
    conv_job j = {*(tdesc *)dxd, *(tdesc *)wd, *(tdesc *)dyd, *(cdesc *)cd, dy, w, dx, ws, 0, 0, 1};
    return submit(h, &j, algo, ws_bytes, alpha, beta);
}

/* Backward filter: the kernel gradient of the forward conv its descriptors describe,
 * dw = alpha sum x dy (beta 0); its heuristic and workspace as forward's. */
API int cudnnGetConvolutionBackwardFilterAlgorithm_v7(void *h, void *xd, void *dyd, void *cd, void *dwd, int want,
                                                      int *got, perf *res) {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, xd, dwd, cd, dyd, want, got, res);
}
API int cudnnGetConvolutionBackwardFilterWorkspaceSize(void *h, void *xd, void *dyd, void *cd, void *dwd, int algo,
                                                       size_t *bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, xd, dwd, cd, dyd, algo, bytes);
}
API int cudnnConvolutionBackwardFilter(void *h, const void *alpha, void *xd, const void *x, void *dyd, const void *dy,
                                       void *cd, int algo, void *ws, size_t ws_bytes, const void *beta, void *dwd,
                                       void *dw) {
    conv_job j = {*(tdesc *)xd, *(tdesc *)dwd, *(tdesc *)dyd, *(cdesc *)cd, x, dy, dw, ws, 0, 0, 2};
    return submit(h, &j, algo, ws_bytes, alpha, beta);
}
