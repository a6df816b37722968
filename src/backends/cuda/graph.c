/* graph.c: whole-program CUDA graphs. A program whose steps all run on the device (no
 * host fallback: jx__cuda_graph_ok), run on device arrays, is captured on its first
 * such run (stream capture of exec.c's steps on the device's stream) and replayed on
 * every later one, so a training step costs one graph launch instead of a launch per
 * kernel and GEMM.
 *
 * Binding without capturing again: the captured work reads and writes fixed addresses,
 * the graph's own buffers (a pool: blocks from the caching allocator, reused within the
 * graph as the plan frees them, all held until the executable is freed). Each run copies
 * its inputs into the graph's input buffers, launches the graph, and copies each output
 * into a new buffer from the allocator, which becomes the output device array: outputs
 * are the caller's to keep, and a later run never writes over them. The copies are
 * device-to-device on the same stream (one cuMemcpyBatchAsync each way where the driver
 * has it), so they are ordered with the graph without any wait on the host (the MNIST MLP step moves about 3 MB each way: about 3 us of an
 * H200's copy bandwidth, docs/cuda.md).
 *
 * Not captured: programs with a host step (control flow, convolutions cuDNN does not take,
 * collectives, which stay outside graphs), runs given host arrays (their uploads are
 * synchronous copies), and everything when JX_CUDA_GRAPHS=0 (read when a program first
 * runs). A capture the driver refuses makes the program run step by step from then on,
 * with the same results. One run at a time per program uses the graph (a mutex). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/pass_util.h"
#include "cuda.h"

typedef struct blk {
    CUdeviceptr p;
    size_t bytes; /* the size class */
    bool busy;
} blk;

struct jx__cu_pool {
    blk *b;
    int n, cap;
};

typedef struct graph {
    pthread_mutex_t mu;
    int state; /* 0: not tried yet, 1: captured, -1: runs step by step */
    CUgraph g;
    CUgraphExec exec;
    jx__cu_pool pool;
    CUdeviceptr *in, *out; /* the graph's input and output buffers (an output 0: a literal) */
} graph;

static pthread_mutex_t make_mu = PTHREAD_MUTEX_INITIALIZER;

CUdeviceptr jx__cu_pool_alloc(jx__cu_pool *pool, size_t bytes) {
    size_t c = jx__dev_round(bytes);
    for (int i = 0; i < pool->n; i++)
        if (!pool->b[i].busy && pool->b[i].bytes == c) return pool->b[i].busy = true, pool->b[i].p;
    if (pool->n == pool->cap) {
        int cap = pool->cap ? 2 * pool->cap : 16;
        blk *b = realloc(pool->b, sizeof *b * (size_t)cap);
        if (!b) return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory"), 0;
        pool->b = b, pool->cap = cap;
    }
    jx__dev_alloc *a = jx__cu_alloc();
    uint64_t p = a ? jx__dev_malloc(a, c) : 0;
    if (!p) return 0;
    pool->b[pool->n++] = (blk){(CUdeviceptr)p, c, true};
    return (CUdeviceptr)p;
}

void jx__cu_pool_release(jx__cu_pool *pool, CUdeviceptr p) {
    for (int i = 0; i < pool->n; i++)
        if (pool->b[i].p == p) pool->b[i].busy = false;
}

static void pool_free(jx__cu_pool *pool) {
    jx__dev_alloc *a = pool->n ? jx__cu_alloc() : NULL;
    for (int i = 0; a && i < pool->n; i++) jx__dev_release(a, (uint64_t)pool->b[i].p);
    free(pool->b);
    *pool = (jx__cu_pool){0};
}

bool jx__cuda_graph_ok(const jx__prog *p, const char **why) {
    for (int k = 0; k < p->nsteps; k++) {
        const jx__step *s = &p->steps[k];
        bool conv = s->kind == JX__G_CONV && jx__cuda_conv_plan_get(p->f, s, p->tf32);
        if (!(s->kind == JX__G_LOOP && s->kernel) && s->kind != JX__G_DOT && !conv) {
            *why = s->note ? s->note : "a step runs on the host";
            return false;
        }
    }
    if (p->nsteps == 0) *why = "no steps";
    return p->nsteps > 0;
}

/* The graph's capture and replay state gone; the program runs step by step now. */
static void drop_graph(graph *g, const jx__cu_api *api) {
    if (g->exec) api->GraphExecDestroy(g->exec); /* one in flight is freed when it completes */
    if (g->g) api->GraphDestroy(g->g);
    g->exec = NULL, g->g = NULL;
    pool_free(&g->pool);
}

void jx__cuda_graph_free(void *state) {
    graph *g = state;
    if (!g) return;
    const jx__cu_dev *d = g->state == 1 ? jx__cu_get() : NULL;
    if (d) drop_graph(g, d->api);
    pthread_mutex_destroy(&g->mu);
    free(g->in);
    free(g->out);
    free(g);
}

/* p's graph state, made on first use; NULL (with the error set) when out of memory. */
static graph *state_of(jx__prog *p) {
    pthread_mutex_lock(&make_mu);
    graph *g = p->be_state;
    if (!g && (g = calloc(1, sizeof *g))) {
        const char *env = getenv("JX_CUDA_GRAPHS");
        g->state = env && !strcmp(env, "0") ? -1 : 0;
        g->in = calloc((size_t)p->f->nin + 1, sizeof *g->in);
        g->out = calloc((size_t)p->f->nout + 1, sizeof *g->out);
        pthread_mutex_init(&g->mu, NULL);
        if (!g->in || !g->out) jx__cuda_graph_free(g), g = NULL;
        p->be_state = g;
    }
    pthread_mutex_unlock(&make_mu);
    if (!g) jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    return g;
}

static size_t bytes_of(const jx_aval *a) { return (size_t)jx_aval_size(a) * jx_dtype_size(a->dtype); }

static atomic_bool batch_broken; /* the driver refused a batch once: copy one by one from then on */

/* count device-to-device copies on the stream (zero-size ones skipped in place): one
 * cuMemcpyBatchAsync where the driver has it (a call each costs microseconds of host
 * time, and a program may have dozens of inputs), else one call per copy. */
static jx_status copy_all(const jx__cu_dev *d, CUdeviceptr *dst, CUdeviceptr *src, size_t *n, int count,
                          const char *what) {
    CUresult r__;
    int k = 0;
    for (int i = 0; i < count; i++)
        if (n[i]) dst[k] = dst[i], src[k] = src[i], n[k] = n[i], k++;
    if (k > 1 && d->api->MemcpyBatchAsync && !batch_broken) {
        CUmemcpyAttributes attr = {.srcAccessOrder = CU_MEMCPY_SRC_ACCESS_ORDER_STREAM};
        size_t first = 0;
        if (d->api->MemcpyBatchAsync(dst, src, n, (size_t)k, &attr, &first, 1, d->stream) == CUDA_SUCCESS)
            return JX_OK;
        batch_broken = true; /* nothing was queued: fall through */
    }
    jx_status st = JX_OK;
    for (int i = 0; st == JX_OK && i < k; i++)
        st = JX__CU(d->api->MemcpyDtoDAsync(dst[i], src[i], n[i], d->stream), what);
    return st;
}

/* Copies the run's inputs into the graph's input buffers, on the stream. */
static jx_status copy_inputs(graph *g, const jx__prog *p, jx_array *const *in, const jx__cu_dev *d) {
    int n = p->f->nin;
    CUdeviceptr *dst = malloc(sizeof *dst * (size_t)n), *src = malloc(sizeof *src * (size_t)n);
    size_t *bytes = malloc(sizeof *bytes * (size_t)n);
    jx_status st = dst && src && bytes ? JX_OK : jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    for (int i = 0; st == JX_OK && i < n; i++) {
        dst[i] = g->in[i], src[i] = (CUdeviceptr)(uintptr_t)in[i]->dev;
        bytes[i] = bytes_of(&p->f->vars[p->f->in[i]]);
    }
    if (st == JX_OK) st = copy_all(d, dst, src, bytes, n, "cuMemcpyDtoDAsync (a graph's input)");
    free(dst), free(src), free(bytes);
    return st;
}

/* Captures p: the graph's buffers, its inputs copied in, then the steps on the stream
 * between the capture's begin and end. JX_OK with g->exec instantiated, or the reason
 * it could not be (the capture is ended and everything dropped). */
static jx_status capture(graph *g, const jx__prog *p, jx_array *const *in, const jx__cu_dev *d) {
    const jx_fn *f = p->f;
    CUresult r__;
    jx_status st = JX_OK;
    for (int k = 0; st == JX_OK && k < p->nsteps; k++) { /* cuBLAS and GEMM plans made before the capture */
        const jx__step *s = &p->steps[k];
        if (s->kind == JX__G_DOT && !(s->epi ? (void *)jx__cuda_lt_plan_get(f, s->epi, p->tf32) : (void *)jx__cublas_get()))
            st = jx_errcode();
    }
    for (int i = 0; st == JX_OK && i < f->nin; i++)
        if (!(g->in[i] = jx__cu_pool_alloc(&g->pool, bytes_of(&f->vars[f->in[i]])))) st = jx_errcode();
    if (st == JX_OK) st = copy_inputs(g, p, in, d);
    if (st == JX_OK)
        st = JX__CU(d->api->StreamBeginCapture(d->stream, CU_STREAM_CAPTURE_MODE_RELAXED), "cuStreamBeginCapture");
    if (st != JX_OK) return st;
    st = jx__cuda_run_steps(p, g->in, &g->pool, g->out);
    CUgraph cg = NULL;
    CUresult end = d->api->StreamEndCapture(d->stream, &cg); /* always ended, even after an error */
    g->g = cg;
    if (st == JX_OK && end != CUDA_SUCCESS) st = jx__cu_fail(end, jx__noloc, "cuStreamEndCapture");
    if (st == JX_OK) st = JX__CU(d->api->GraphInstantiate(&g->exec, cg, 0), "cuGraphInstantiate");
    return st;
}

/* The run's outputs: new device buffers, each a copy of the graph's output buffer. */
static jx_status take_outputs(graph *g, const jx__prog *p, jx_array **out, const jx__cu_dev *d) {
    const jx_fn *f = p->f;
    int n = f->nout;
    CUdeviceptr *dst = calloc((size_t)n + 1, sizeof *dst), *src = calloc((size_t)n + 1, sizeof *src);
    size_t *bytes = calloc((size_t)n + 1, sizeof *bytes);
    jx_status st = dst && src && bytes ? JX_OK : jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    for (int i = 0; st == JX_OK && i < n; i++) { /* the buffers first, then one batch of copies */
        int32_t v = f->out[i].var;
        if (v < 0) { /* a literal: uploaded as the step-by-step run does */
            jx_array *h = jx__lit_array(&f->out[i]);
            out[i] = h ? jx_array_to(h, JX_DEVICE_CUDA) : NULL;
            jx_array_release(h);
            if (!out[i]) st = jx_errcode();
            continue;
        }
        src[i] = g->out[i];
        bytes[i] = bytes_of(&f->vars[v]);
        void *buf = jx__cuda_backend.alloc(bytes[i]);
        out[i] = buf ? jx__array_on_device(&f->vars[v], buf, &jx__cuda_backend, JX_DEVICE_CUDA) : NULL;
        if (buf && !out[i]) jx__cuda_backend.free(buf);
        if (!out[i]) st = jx_errcode();
        else dst[i] = (CUdeviceptr)(uintptr_t)buf;
    }
    if (st == JX_OK) st = copy_all(d, dst, src, bytes, n, "cuMemcpyDtoDAsync (a graph's output)");
    free(dst), free(src), free(bytes);
    return st;
}

bool jx__cuda_graph_run(jx__prog *p, jx_array *const *in, jx_array **out, jx_status *st) {
    const jx_fn *f = p->f;
    if (f->nin == 0) return false;
    for (int i = 0; i < f->nin; i++)
        if (in[i]->device != JX_DEVICE_CUDA || !in[i]->dev) return false;
    graph *g = p->be_state ? p->be_state : state_of(p);
    const jx__cu_dev *d = g ? jx__cu_get() : NULL;
    if (!g || !d) return *st = jx_errcode(), true;
    *st = JX_OK;
    pthread_mutex_lock(&g->mu);
    if (g->state == 0) {
        const char *why = NULL;
        g->state = -1;
        if (jx__cuda_graph_ok(p, &why)) {
            if (capture(g, p, in, d) == JX_OK) g->state = 1;
            else drop_graph(g, d->api), jx_clear_error(); /* runs step by step instead */
        }
    } else if (g->state == 1) {
        *st = copy_inputs(g, p, in, d);
    }
    if (g->state != 1) {
        pthread_mutex_unlock(&g->mu);
        return false;
    }
    CUresult r__;
    for (int i = 0; i < f->nout; i++) out[i] = NULL;
    if (*st == JX_OK) *st = JX__CU(d->api->GraphLaunch(g->exec, d->stream), "cuGraphLaunch");
    if (*st == JX_OK) *st = take_outputs(g, p, out, d);
    pthread_mutex_unlock(&g->mu);
    if (*st != JX_OK)
        for (int i = 0; i < f->nout; i++) jx_array_release(out[i]), out[i] = NULL;
    return true;
}
