/* conv.c: conv_general_dilated on cuDNN's convolution forward and backward data (the
 * legacy API, which cuDNN 9 still ships; ../shared/CUDA-NOTES.md section 2), loaded with
 * dlopen on first use like cuBLAS (libcudnn.so.9, or the path in JX_CUDNN: the tests' fake).
 *
 * A jx conv y (N,O,...) = x (N,C,...) * w (O,C/groups,...), row-major, is one
 * cudnnConvolutionForward in cross-correlation mode: packed NCHW (NCDHW) descriptors,
 * feature groups as cuDNN's group count, jx's window strides and rhs dilation as cuDNN's,
 * and a 1-D conv as a 2-D one of height 1. The kernel gradient grad emits
 * (x' (C,N,H,W) * dy' (O,N,Ho,Wo) -> dw' (C,O,kh,kw)) is such a conv too, with a kernel
 * as large as the image; so is the input gradient of a stride-1 conv (the flipped
 * kernel). Not taken here: lhs dilation (the input gradient of a strided conv) and
 * padding cuDNN cannot express (it pads both sides alike, so jx's low padding must be at
 * least its high one and cuDNN's output size must be jx's: a stride-2 "SAME" conv of an
 * even size pads one more row at the end). The jit turns such convs into an explicit
 * pad kernel and a conv without either before they get here (src/jit/lower_conv.c,
 * conv_explicit_pads); what is still declined runs on the host. An input gradient in
 * grad's form, conv(dy, rev(transpose(w)), lhs dilation s) (jx__conv_bwd_chain), runs as
 * cudnnConvolutionBackwardData of w's own forward conv (bwd_key), reading w itself and
 * skipping the dilation's zeros, where fusion gave its group the rev and the transpose.
 *
 * Precision: f32 convs run in full f32 (CUDNN_FMA_MATH: no TF32 on tensor cores, which
 * CUDNN_DEFAULT_MATH would allow on Ampere and later), as f32 GEMMs do; with
 * JX_MATMUL_TF32 cuDNN may use TF32. The algorithm is cuDNN's heuristic choice
 * (cudnnGetConvolutionForwardAlgorithm_v7, which runs nothing), the first that is
 * supported, deterministic and of the math asked for; forward algorithms use no atomics,
 * so a conv gives the same bits run to run. Descriptors and the choice are made once per
 * shape and kept for the process; the workspace comes from the caller (the allocator, or
 * a graph's pool). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../debug.h"
#include "../dl_table.h"
#include "cuda.h"

/* cuDNN's values (cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h), declared here so that the
 * build needs no cuDNN headers. */
enum {
    DNN_SUCCESS = 0,
    DNN_FLOAT = 0,
    DNN_DOUBLE = 1,
    DNN_NCHW = 0,
    DNN_CROSS_CORRELATION = 1,
    DNN_DEFAULT_MATH = 0,
    DNN_FMA_MATH = 3,
    DNN_DETERMINISTIC = 1,
    NALGO = 8, /* CUDNN_CONVOLUTION_FWD_ALGO_COUNT */
};
typedef struct dnn_perf { /* cudnnConvolutionFwdAlgoPerf_t */
    int algo, status;
    float time;
    size_t memory;
    int determinism, math;
    int reserved[3];
} dnn_perf;

typedef struct dnn_api {
    void *handle;
    int (*SetStream)(void *, CUstream);
    int (*CreateTensor)(void **), (*SetTensorNd)(void *, int, int, const int *, const int *), (*DestroyTensor)(void *);
    int (*CreateFilter)(void **), (*SetFilterNd)(void *, int, int, int, const int *), (*DestroyFilter)(void *);
    int (*CreateConv)(void **), (*DestroyConv)(void *);
    int (*SetConvNd)(void *, int, const int *, const int *, const int *, int, int);
    int (*SetGroups)(void *, int), (*SetMath)(void *, int);
    int (*OutputDim)(void *, void *, void *, int, int *);
    int (*GetAlgo)(void *, void *, void *, void *, void *, int, int *, dnn_perf *);
    int (*WsSize)(void *, void *, void *, void *, void *, int, size_t *);
    int (*Forward)(void *, const void *, void *, const void *, void *, const void *, void *, int, void *, size_t,
                   const void *, void *, void *);
    /* backward data: the same signatures with (w, dy, conv, dx) for (x, w, conv, y) */
    int (*GetAlgoBwd)(void *, void *, void *, void *, void *, int, int *, dnn_perf *);
    int (*WsSizeBwd)(void *, void *, void *, void *, void *, int, size_t *);
    int (*BackwardData)(void *, const void *, void *, const void *, void *, const void *, void *, int, void *, size_t,
                        const void *, void *, void *);
    const char *(*ErrorString)(int);
} dnn_api;

static dnn_api dnn;
static char dnn_error[512];
static pthread_once_t dnn_once = PTHREAD_ONCE_INIT;

static void dnn_init(void) {
    const jx__cu_dev *d = jx__cu_get();
    if (!d) {
        snprintf(dnn_error, sizeof dnn_error, "%s", jx_errmsg());
        jx_clear_error();
        return;
    }
    const char *path = getenv("JX_CUDNN");
    void *h = dlopen(path && *path ? path : "libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!h && !(path && *path)) h = dlopen("libcudnn.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(dnn_error, sizeof dnn_error, "cuDNN not found: %s", dlerror());
        return;
    }
    int (*create)(void **) = NULL;
    const jx__dl_fn fns[] = {
        {(void **)&create, "cudnnCreate"},
        {(void **)&dnn.SetStream, "cudnnSetStream"},
        {(void **)&dnn.CreateTensor, "cudnnCreateTensorDescriptor"},
        {(void **)&dnn.SetTensorNd, "cudnnSetTensorNdDescriptor"},
        {(void **)&dnn.DestroyTensor, "cudnnDestroyTensorDescriptor"},
        {(void **)&dnn.CreateFilter, "cudnnCreateFilterDescriptor"},
        {(void **)&dnn.SetFilterNd, "cudnnSetFilterNdDescriptor"},
        {(void **)&dnn.DestroyFilter, "cudnnDestroyFilterDescriptor"},
        {(void **)&dnn.CreateConv, "cudnnCreateConvolutionDescriptor"},
        {(void **)&dnn.DestroyConv, "cudnnDestroyConvolutionDescriptor"},
        {(void **)&dnn.SetConvNd, "cudnnSetConvolutionNdDescriptor"},
        {(void **)&dnn.SetGroups, "cudnnSetConvolutionGroupCount"},
        {(void **)&dnn.SetMath, "cudnnSetConvolutionMathType"},
        {(void **)&dnn.OutputDim, "cudnnGetConvolutionNdForwardOutputDim"},
        {(void **)&dnn.GetAlgo, "cudnnGetConvolutionForwardAlgorithm_v7"},
        {(void **)&dnn.WsSize, "cudnnGetConvolutionForwardWorkspaceSize"},
        {(void **)&dnn.Forward, "cudnnConvolutionForward"},
        {(void **)&dnn.GetAlgoBwd, "cudnnGetConvolutionBackwardDataAlgorithm_v7"},
        {(void **)&dnn.WsSizeBwd, "cudnnGetConvolutionBackwardDataWorkspaceSize"},
        {(void **)&dnn.BackwardData, "cudnnConvolutionBackwardData"},
        {(void **)&dnn.ErrorString, "cudnnGetErrorString"},
    };
    const char *missing = jx__dl_resolve(h, fns, sizeof fns / sizeof fns[0]);
    if (missing) {
        snprintf(dnn_error, sizeof dnn_error, "cuDNN lacks %s", missing);
        return;
    }
    void *handle = NULL;
    int st = create(&handle);
    if (st == DNN_SUCCESS) st = dnn.SetStream(handle, d->stream);
    if (st != DNN_SUCCESS) {
        snprintf(dnn_error, sizeof dnn_error, "cudnnCreate failed (%s)", dnn.ErrorString(st));
        return;
    }
    dnn.handle = handle;
}

/* cuDNN, or NULL (nothing set: the caller runs the conv on the host; JX_DUMP=plan says
 * why, once). */
static const dnn_api *dnn_get(void) {
    pthread_once(&dnn_once, dnn_init);
    static atomic_bool told;
    if (!dnn.handle && (jx__dump_flags() & JX__DUMP_PLAN) && !atomic_exchange(&told, true))
        fprintf(stderr, "cuda: %s: convolutions run on the host\n", dnn_error);
    return dnn.handle ? &dnn : NULL;
}

/* ------------------------------------------------------------------ the mapping */

/* A conv as cuDNN sees it: nd dims (4 or 5) of x, w and y, nd - 2 spatial parameters. */
typedef struct ckey {
    int dtype, tf32, nd, groups;
    int x[5], w[5], y[5];
    int pad[3], stride[3], dil[3];
    int xs[5], ys[5]; /* element strides of x and y (an NHWC view: fuse.c's transposes) */
    int bwd;          /* backward data: jx's conv computes x (its result) from y (its
                       * lhs) and w (behind its kernel's rev and transpose) */
} ckey;

/* The descriptors and algorithm of one ckey, made once and kept for the process (a conv
 * cuDNN refuses keeps no plan, its descriptors destroyed). */
typedef struct jx__cuda_conv_plan {
    ckey k;
    void *xd, *wd, *yd, *cd;
    int algo;
    size_t ws;
} cplan;

static bool fits(int64_t v) { return v > 0 && v <= INT_MAX; }

static void packed_strides(int nd, const int *dims, int *st) {
    st[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) st[d] = st[d + 1] * dims[d + 1];
}

/* k's strides of x and y: st[0] and st[2] (a 2-D conv's view, jx__conv_view; the filter
 * packed, cuDNN's filters having no strides), or packed when st is NULL. */
static bool key_strides(ckey *k, const int64_t (*st)[4]) {
    packed_strides(k->nd, k->x, k->xs);
    packed_strides(k->nd, k->y, k->ys);
    if (!st) return true;
    int ws[5];
    packed_strides(k->nd, k->w, ws);
    for (int d = 0; d < 4; d++)
        if (k->nd != 4 || st[1][d] != ws[d] || !fits(st[0][d]) || !fits(st[2][d])) return false;
    for (int d = 0; d < 4; d++) k->xs[d] = (int)st[0][d], k->ys[d] = (int)st[2][d];
    return true;
}

/* Maps e (operand avals xa, wa; result ya; st: strides of a view, or NULL) onto cuDNN's
 * forward conv; false when it does not fit. */
static bool key_make(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa, const jx_aval *ya, bool tf32,
                     const int64_t (*st)[4], ckey *k) {
    if (xa->dtype != wa->dtype || (xa->dtype != JX_F32 && xa->dtype != JX_F64)) return false;
    int r = xa->rank, nsp = r - 2;
    if (r < 3 || r > 5 || wa->rank != r || ya->rank != r) return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    int64_t groups = jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
    if (ws.n != nsp || lo.n != nsp || ld.n != nsp || rd.n != nsp || !fits(groups)) return false;
    memset(k, 0, sizeof *k);
    k->dtype = xa->dtype;
    k->tf32 = tf32 && xa->dtype == JX_F32;
    k->groups = (int)groups;
    k->nd = r == 3 ? 4 : r; /* a 1-D conv as a 2-D one of height 1 */
    int skip = k->nd - r;   /* the inserted dim */
    for (int i = 0; i < k->nd - 2; i++) k->pad[i] = 0, k->stride[i] = k->dil[i] = 1;
    for (int d = 0; d < r; d++) {
        int at = d < 2 ? d : d + skip;
        if (!fits(xa->shape[d]) || !fits(wa->shape[d]) || !fits(ya->shape[d])) return false;
        k->x[at] = (int)xa->shape[d], k->w[at] = (int)wa->shape[d], k->y[at] = (int)ya->shape[d];
    }
    for (int i = 0; i < skip; i++) k->x[2 + i] = k->w[2 + i] = k->y[2 + i] = 1;
    for (int s = 0; s < nsp; s++) {
        int64_t in = xa->shape[2 + s], kk = wa->shape[2 + s], out = ya->shape[2 + s];
        int64_t ek = (kk - 1) * rd.v[s] + 1, hi = (out - 1) * ws.v[s] + ek - in - lo.v[s];
        /* cuDNN pads both sides by lo: the same windows as jx's when no high padding
         * beyond lo is needed and cuDNN's output count is jx's */
        if (ld.v[s] != 1 || lo.v[s] < 0 || hi > lo.v[s] || !fits(ws.v[s]) || !fits(rd.v[s]) || lo.v[s] > INT_MAX)
            return false;
        if (in + 2 * lo.v[s] < ek || (in + 2 * lo.v[s] - ek) / ws.v[s] + 1 != out) return false;
        k->pad[s + skip] = (int)lo.v[s], k->stride[s + skip] = (int)ws.v[s], k->dil[s + skip] = (int)rd.v[s];
    }
    return (int64_t)k->w[1] * k->groups == k->x[1] && k->w[0] % k->groups == 0 && key_strides(k, st);
}

/* Makes p's descriptors and chooses its algorithm; false when cuDNN does not take the
 * conv (the descriptors made so far are left for the caller to destroy). */
static bool plan_make(void *plan) {
    cplan *p = plan;
    const dnn_api *a = &dnn;
    const ckey *k = &p->k;
    int dt = k->dtype == JX_F64 ? DNN_DOUBLE : DNN_FLOAT, out[5];
    int math = k->dtype == JX_F32 && !k->tf32 ? DNN_FMA_MATH : DNN_DEFAULT_MATH;
    if (a->CreateTensor(&p->xd) || a->CreateTensor(&p->yd) || a->CreateFilter(&p->wd) || a->CreateConv(&p->cd))
        return false;
    if (a->SetTensorNd(p->xd, dt, k->nd, k->x, k->xs) || a->SetTensorNd(p->yd, dt, k->nd, k->y, k->ys) ||
        a->SetFilterNd(p->wd, dt, DNN_NCHW, k->nd, k->w) ||
        a->SetConvNd(p->cd, k->nd - 2, k->pad, k->stride, k->dil, DNN_CROSS_CORRELATION, dt) ||
        a->SetGroups(p->cd, k->groups) || a->SetMath(p->cd, math))
        return false;
    if (a->OutputDim(p->cd, p->xd, p->wd, k->nd, out) || memcmp(out, k->y, sizeof(int) * (size_t)k->nd) != 0)
        return false;
    dnn_perf perf[NALGO];
    int n = 0;
    if (k->bwd ? a->GetAlgoBwd(a->handle, p->wd, p->yd, p->cd, p->xd, NALGO, &n, perf)
               : a->GetAlgo(a->handle, p->xd, p->wd, p->cd, p->yd, NALGO, &n, perf))
        return false;
    for (int i = 0; i < n; i++) {
        const dnn_perf *q = &perf[i];
        if (q->status != DNN_SUCCESS || q->determinism != DNN_DETERMINISTIC) continue;
        if (math == DNN_FMA_MATH && q->math != DNN_FMA_MATH) continue; /* full f32: no tensor-op result */
        if (a->SetMath(p->cd, q->math) ||
            (k->bwd ? a->WsSizeBwd(a->handle, p->wd, p->yd, p->cd, p->xd, q->algo, &p->ws)
                    : a->WsSize(a->handle, p->xd, p->wd, p->cd, p->yd, q->algo, &p->ws)))
            continue;
        p->algo = q->algo;
        return true;
    }
    return false;
}

static void plan_undo(void *plan) {
    cplan *p = plan;
    if (p->xd) dnn.DestroyTensor(p->xd);
    if (p->yd) dnn.DestroyTensor(p->yd);
    if (p->wd) dnn.DestroyFilter(p->wd);
    if (p->cd) dnn.DestroyConv(p->cd);
}

static jx__plan_cache plans = {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(ckey), sizeof(cplan), plan_make, plan_undo};

/* The plan of k, made on first use; NULL when cuDNN is missing or does not take it. */
static const cplan *plan_get(const ckey *k) { return dnn_get() ? jx__plan_cache_get(&plans, k) : NULL; }

static bool eqn_key(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], ckey *k) {
    if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1 || e->in[0].var < 0 || e->in[1].var < 0) return false;
    return key_make(e, &f->vars[e->in[0].var], &f->vars[e->in[1].var], &f->vars[e->out[0]], tf32, st, k);
}

/* Maps e, an input gradient's conv (jx__conv_bwd_chain: its lhs dy, w behind its kernel,
 * its result dx), onto cuDNN's backward data of w's forward conv dx (N,C,H,W) ->
 * dy (N,O,Ho,Wo): padding d(k-1) - lo on both sides, stride e's lhs dilation, dilation
 * e's rhs dilation (e's own strides 1). Its adjoint sums dy[o] w[t] into dx[o s - p + t d],
 * which is e whatever e's high padding, when cuDNN's forward maps H to Ho. st: the view's
 * strides of dy, w, dx (jx__conv_view), or NULL. */
static bool bwd_key(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], ckey *k) {
    const char *env = getenv("JX_CUDA_BWD_DATA"); /* 0: none (the pad kernel and a forward conv), to compare */
    const jx__eqn *rev, *t = env && !strcmp(env, "0") ? NULL : jx__conv_bwd_chain(f, e, &rev);
    if (!t || e->in[0].var < 0) return false;
    const jx_aval *ya = &f->vars[e->in[0].var], *wa = &f->vars[t->in[0].var], *xa = &f->vars[e->out[0]];
    if (xa->dtype != wa->dtype || ya->dtype != wa->dtype || (wa->dtype != JX_F32 && wa->dtype != JX_F64)) return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    if (ws.n != 2 || lo.n != 2 || ld.n != 2 || rd.n != 2) return false;
    if (ya->shape[0] != xa->shape[0] || ya->shape[1] != wa->shape[0] || xa->shape[1] != wa->shape[1]) return false;
    memset(k, 0, sizeof *k);
    k->dtype = wa->dtype, k->tf32 = tf32 && wa->dtype == JX_F32, k->groups = 1, k->nd = 4, k->bwd = 1;
    for (int d = 0; d < 4; d++) {
        if (!fits(xa->shape[d]) || !fits(wa->shape[d]) || !fits(ya->shape[d])) return false;
        k->x[d] = (int)xa->shape[d], k->w[d] = (int)wa->shape[d], k->y[d] = (int)ya->shape[d];
    }
    for (int s = 0; s < 2; s++) {
        int64_t ek = (wa->shape[2 + s] - 1) * rd.v[s] + 1, pad = ek - 1 - lo.v[s], in = xa->shape[2 + s];
        if (ws.v[s] != 1 || pad < 0 || pad > INT_MAX || !fits(ld.v[s]) || !fits(rd.v[s])) return false;
        if (in + 2 * pad < ek || (in + 2 * pad - ek) / ld.v[s] + 1 != ya->shape[2 + s]) return false;
        k->pad[s] = (int)pad, k->stride[s] = (int)ld.v[s], k->dil[s] = (int)rd.v[s];
    }
    if (!st) return key_strides(k, NULL);
    const int64_t sw[3][4] = {{st[2][0], st[2][1], st[2][2], st[2][3]}, {st[1][0], st[1][1], st[1][2], st[1][3]},
                              {st[0][0], st[0][1], st[0][2], st[0][3]}}; /* cuDNN's x is jx's result */
    return key_strides(k, sw);
}

bool jx__cuda_conv_ok(const jx_fn *f, const jx__eqn *e) {
    ckey k;
    return eqn_key(f, e, false, NULL, &k) || bwd_key(f, e, false, NULL, &k);
}

bool jx__cuda_conv_bwd_data_ok(const jx_fn *f, const jx__eqn *e) {
    ckey k;
    return bwd_key(f, e, false, NULL, &k) && dnn_get();
}

/* Only where cuDNN is there: a conv step without it runs on the host, where the CPU's
 * library path takes a lone conv but not one with transposes in its group. */
bool jx__cuda_conv_views_ok(const jx_fn *f, const jx__eqn *e, int which) {
    return which != 1 && e->nin == 2 && e->in[0].var >= 0 && f->vars[e->in[0].var].rank == 4 && jx__cuda_conv_ok(f, e) &&
           dnn_get();
}

const jx__eqn *jx__cuda_step_conv(const jx_fn *f, const jx__step *s, int32_t vars[3]) {
    const jx__conv_view *v = s->view;
    const jx__eqn *e = v ? v->conv : &f->eqns[s->g->eqns[0]];
    for (int j = 0; j < 2; j++) vars[j] = v ? v->src[j]->var : e->in[j].var;
    vars[2] = v ? v->out : e->out[0];
    return e;
}

const jx__cuda_conv_plan *jx__cuda_conv_plan_get(const jx_fn *f, const jx__step *s, bool tf32) {
    ckey k;
    int32_t vars[3];
    const jx__eqn *e = jx__cuda_step_conv(f, s, vars);
    const int64_t(*st)[4] = s->view && s->view->strided ? (const int64_t(*)[4])s->view->st : NULL;
    if (vars[0] < 0 || vars[1] < 0) return NULL;
    bool ok = s->view && s->view->bwd_data ? bwd_key(f, e, tf32, st, &k) : eqn_key(f, e, tf32, st, &k);
    return ok ? plan_get(&k) : NULL;
}

size_t jx__cuda_conv_workspace(const jx__cuda_conv_plan *p) { return p->ws; }

jx_status jx__cuda_conv(const jx__cuda_conv_plan *p, const jx_fn *f, const jx__eqn *e, CUdeviceptr x, CUdeviceptr w,
                        CUdeviceptr y, CUdeviceptr ws) {
    jx_aval xa = f->vars[e->in[0].var], wa = f->vars[e->in[1].var];
    double one = 1, zero = 0;
    float onef = 1, zerof = 0;
    bool dbl = p->k.dtype == JX_F64;
    const void *a1 = dbl ? (const void *)&one : &onef, *b0 = dbl ? (const void *)&zero : &zerof;
    void *wsp = p->ws ? (void *)ws : NULL;
    int st = p->k.bwd /* x is dy, y is dx: cuDNN's y and x */
                 ? dnn.BackwardData(dnn.handle, a1, p->wd, (const void *)w, p->yd, (const void *)x, p->cd, p->algo, wsp,
                                    p->ws, b0, p->xd, (void *)y)
                 : dnn.Forward(dnn.handle, a1, p->xd, (const void *)x, p->wd, (const void *)w, p->cd, p->algo, wsp, p->ws,
                               b0, p->yd, (void *)y);
    if (st != DNN_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, e->loc, "conv_general_dilated", "%s failed (%s) on %s * %s",
                        p->k.bwd ? "cudnnConvolutionBackwardData" : "cudnnConvolutionForward", dnn.ErrorString(st),
                        jx__avs(&xa), jx__avs(&wa));
    return JX_OK;
}
