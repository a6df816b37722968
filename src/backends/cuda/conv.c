/* conv.c: conv_general_dilated on cuDNN's convolution forward, backward data and backward
 * filter (the legacy API, which cuDNN 9 still ships; ../shared/CUDA-NOTES.md section 2), loaded with
 * dlopen on first use like cuBLAS (libcudnn.so.9, or the path in JX_CUDNN: the tests' fake).
 *
 * A jx conv y (N,O,...) = x (N,C,...) * w (O,C/groups,...), row-major, is one
 * cudnnConvolutionForward in cross-correlation mode: packed NCHW (NCDHW) descriptors,
 * feature groups as cuDNN's group count, jx's window strides and rhs dilation as cuDNN's,
 * and a 1-D conv as a 2-D one of height 1. The kernel gradient grad emits
 * (x' (C,N,H,W) * dy' (O,N,Ho,Wo) -> dw' (C,O,kh,kw)) is such a conv too, with a kernel
 * as large as the image (run as backward filter where its result's transpose is in its
 * group: below); so is the input gradient of a stride-1 conv (the flipped kernel). Not
 * taken by the forward: lhs dilation (the input gradient of a strided conv) and
 * padding cuDNN cannot express (it pads both sides alike, so jx's low padding must be at
 * least its high one and cuDNN's output size must be jx's: a stride-2 "SAME" conv of an
 * even size pads one more row at the end). The jit turns such convs into an explicit
 * pad kernel and a conv without either before they get here (src/jit/lower_conv.c,
 * conv_explicit_pads); what is still declined runs on the host. An input gradient in
 * grad's form, conv(dy, rev(transpose(w)), lhs dilation s) (jx__conv_bwd_chain), runs as
 * cudnnConvolutionBackwardData of w's own forward conv (conv_key.c), reading w itself and
 * skipping the dilation's zeros, where fusion gave its group the rev and the transpose;
 * a conv whose result is transposed (1,0,2,3), grad's form of a kernel gradient, runs as
 * cudnnConvolutionBackwardFilter, reading x and dy through strides.
 *
 * Precision: f32 convs run in full f32 (CUDNN_FMA_MATH: no TF32 on tensor cores, which
 * CUDNN_DEFAULT_MATH would allow on Ampere and later), as f32 GEMMs do; with
 * JX_MATMUL_TF32 cuDNN may use TF32. The algorithm is cuDNN's heuristic choice
 * (cudnnGetConvolution{Forward,BackwardData,BackwardFilter}Algorithm_v7, which run
 * nothing), the first that is supported, deterministic (the backward calls' algorithms 0
 * and 3 use atomics and say so) and of the math asked for, so a conv gives the same bits
 * run to run. Descriptors and the choice are made once per
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
#include "conv_key.h"
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
    /* backward filter: (x, dy, conv, dw) */
    int (*GetAlgoFilter)(void *, void *, void *, void *, void *, int, int *, dnn_perf *);
    int (*WsSizeFilter)(void *, void *, void *, void *, void *, int, size_t *);
    int (*BackwardFilter)(void *, const void *, void *, const void *, void *, const void *, void *, int, void *,
                          size_t, const void *, void *, void *);
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
    static const char *const names[] = {"libcudnn.so.9", "libcudnn.so", NULL};
    void *h = jx__dl_open("JX_CUDNN", names);
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
        {(void **)&dnn.GetAlgoFilter, "cudnnGetConvolutionBackwardFilterAlgorithm_v7"},
        {(void **)&dnn.WsSizeFilter, "cudnnGetConvolutionBackwardFilterWorkspaceSize"},
        {(void **)&dnn.BackwardFilter, "cudnnConvolutionBackwardFilter"},
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


/* The descriptors and algorithm of one jx__dnn_key, made once and kept for the process (a conv
 * cuDNN refuses keeps no plan, its descriptors destroyed). */
typedef struct jx__cuda_conv_plan {
    jx__dnn_key k;
    void *xd, *wd, *yd, *cd;
    int algo;
    size_t ws;
} cplan;

/* Makes p's descriptors and chooses its algorithm; false when cuDNN does not take the
 * conv (the descriptors made so far are left for the caller to destroy). */
static bool plan_make(void *plan) {
    cplan *p = plan;
    const dnn_api *a = &dnn;
    const jx__dnn_key *k = &p->k;
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
    if (k->mode == JX__DNN_BWD_DATA     ? a->GetAlgoBwd(a->handle, p->wd, p->yd, p->cd, p->xd, NALGO, &n, perf)
        : k->mode == JX__DNN_BWD_FILTER ? a->GetAlgoFilter(a->handle, p->xd, p->yd, p->cd, p->wd, NALGO, &n, perf)
                                : a->GetAlgo(a->handle, p->xd, p->wd, p->cd, p->yd, NALGO, &n, perf))
        return false;
    for (int i = 0; i < n; i++) {
        const dnn_perf *q = &perf[i];
        if (q->status != DNN_SUCCESS || q->determinism != DNN_DETERMINISTIC) continue;
        if (math == DNN_FMA_MATH && q->math != DNN_FMA_MATH) continue; /* full f32: no tensor-op result */
        if (a->SetMath(p->cd, q->math) ||
            (k->mode == JX__DNN_BWD_DATA     ? a->WsSizeBwd(a->handle, p->wd, p->yd, p->cd, p->xd, q->algo, &p->ws)
             : k->mode == JX__DNN_BWD_FILTER ? a->WsSizeFilter(a->handle, p->xd, p->yd, p->cd, p->wd, q->algo, &p->ws)
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

static jx__plan_cache plans = {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(jx__dnn_key), sizeof(cplan), plan_make,
                               plan_undo};

/* The plan of k, made on first use; NULL when cuDNN is missing or does not take it. */
static const cplan *plan_get(const jx__dnn_key *k) { return dnn_get() ? jx__plan_cache_get(&plans, k) : NULL; }

/* Whether env (JX_CUDA_BWD_DATA, JX_CUDA_BWD_FILTER) is "0": that backward call off, to
 * compare; read where fusion and the pipeline decide, not per run. */
static bool switched_off(const char *env) {
    const char *v = getenv(env);
    return v && !strcmp(v, "0");
}

/* The variable w of conv e's kernel rev(transpose(w)) (jx__conv_bwd_chain), or -1. */
static int32_t bwd_source(const jx_fn *f, const jx__eqn *e) {
    const jx__eqn *rev, *t = switched_off("JX_CUDA_BWD_DATA") ? NULL : jx__conv_bwd_chain(f, e, &rev);
    return t ? t->in[0].var : -1;
}

bool jx__cuda_conv_ok(const jx_fn *f, const jx__eqn *e) {
    jx__dnn_key k;
    return jx__dnn_key_fwd(f, e, false, NULL, &k) || jx__dnn_key_bwd_data(f, e, bwd_source(f, e), false, NULL, &k);
}

bool jx__cuda_conv_bwd_data_ok(const jx_fn *f, const jx__eqn *e) {
    jx__dnn_key k;
    return jx__dnn_key_bwd_data(f, e, bwd_source(f, e), false, NULL, &k) && dnn_get();
}

/* Only where cuDNN is there: a conv step without it runs on the host, where the CPU's
 * library path takes a lone conv but not one with transposes in its group. */
bool jx__cuda_conv_views_ok(const jx_fn *f, const jx__eqn *e, int which) {
    jx__dnn_key k;
    if (which == 1 || e->nin != 2 || e->in[0].var < 0 || f->vars[e->in[0].var].rank != 4) return false;
    return (which == 3 ? !switched_off("JX_CUDA_BWD_FILTER") && jx__dnn_key_bwd_filter(f, e, false, NULL, &k)
                       : jx__cuda_conv_ok(f, e)) &&
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
    jx__dnn_key k;
    int32_t vars[3];
    const jx__eqn *e = jx__cuda_step_conv(f, s, vars);
    const int64_t(*st)[4] = s->view && s->view->strided ? (const int64_t(*)[4])s->view->st : NULL;
    if (vars[0] < 0 || vars[1] < 0) return NULL;
    if (s->view && s->view->bwd_data) /* fusion checked the chain: w is the view's (no scan per run) */
        return jx__dnn_key_bwd_data(f, e, vars[1], tf32, st, &k) ? plan_get(&k) : NULL;
    bool ok = jx__dnn_key_fwd(f, e, tf32, st, &k) || /* else a transposed result: the kernel gradient */
              (st && s->view->out != e->out[0] && jx__dnn_key_bwd_filter(f, e, tf32, st, &k));
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
    int st = p->k.mode == JX__DNN_BWD_DATA /* x is dy, y is dx: cuDNN's y and x */
                 ? dnn.BackwardData(dnn.handle, a1, p->wd, (const void *)w, p->yd, (const void *)x, p->cd, p->algo, wsp,
                                    p->ws, b0, p->xd, (void *)y)
             : p->k.mode == JX__DNN_BWD_FILTER /* x is x, w is dy, y is dw: cuDNN's x, y and w */
                 ? dnn.BackwardFilter(dnn.handle, a1, p->xd, (const void *)x, p->yd, (const void *)w, p->cd, p->algo,
                                      wsp, p->ws, b0, p->wd, (void *)y)
                 : dnn.Forward(dnn.handle, a1, p->xd, (const void *)x, p->wd, (const void *)w, p->cd, p->algo, wsp,
                               p->ws, b0, p->yd, (void *)y);
    if (st != DNN_SUCCESS)
        return jx__fail(JX_ERR_RUNTIME, e->loc, "conv_general_dilated", "%s failed (%s) on %s * %s",
                        p->k.mode == JX__DNN_BWD_DATA     ? "cudnnConvolutionBackwardData"
                        : p->k.mode == JX__DNN_BWD_FILTER ? "cudnnConvolutionBackwardFilter"
                                                  : "cudnnConvolutionForward",
                        dnn.ErrorString(st),
                        jx__avs(&xa), jx__avs(&wa));
    return JX_OK;
}
