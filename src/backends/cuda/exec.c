/* exec.c: runs a program (plan.h) with the CUDA backend. Every variable may have a
 * device buffer, an array (host, or a device array given as input), or both (values
 * never change once made, so a copy made for one reader serves the next). LOOP steps
 * with a kernel, DOT steps cuBLAS takes and CONV steps cuDNN takes run on the device, uploading the inputs they
 * find only on the host; cond, while and scan drive their sub-programs on the device
 * (control.c); every other step (an equation the code generator declined,
 * convolutions cuDNN does not take or without cuDNN, pmap, sort, ...) downloads its inputs and runs on the host:
 * convolutions and the GEMMs cuBLAS does not take on the CPU backend's library path
 * (OpenBLAS), the rest through the interpreter's impl rules, so everything the CPU jit
 * runs also runs here:
 * correct, and slow where it falls back (JX_DUMP=plan shows which steps do).
 * Device arrays given as inputs are read in place. When any input is a device array,
 * every output is one (device-resident training: no copy to the host per step);
 * otherwise outputs are copied back to host arrays. Device buffers come from the caching
 * allocator and go back to it when their variable's last reader has run, unless a
 * device array owns them. All work is on the device's stream, in order: kernels and
 * GEMMs are queued without waiting, and only a copy to the host waits for them. A
 * program whose steps all run on the device, given device arrays, runs as a CUDA graph
 * instead (graph.c), through jx__cuda_run_steps below. */
#include <stdlib.h>

#include "../../trace/pass_util.h"
#include "../cpu/cpu.h"
#include "cuda.h"

typedef struct run {
    const jx__prog *p;
    jx_array **env;    /* per variable: an array of its value (host or device), or NULL */
    CUdeviceptr *dev;  /* per variable: its device buffer, or 0 */
    jx__cu_pool *pool; /* where buffers come from: a graph's pool, or NULL: the allocator */
} run;

static CUdeviceptr buf_alloc(run *r, size_t bytes) {
    if (r->pool) return jx__cu_pool_alloc(r->pool, bytes);
    return (CUdeviceptr)(uintptr_t)jx__cuda_backend.alloc(bytes);
}
static void buf_free(run *r, CUdeviceptr p) {
    if (r->pool) jx__cu_pool_release(r->pool, p);
    else jx__cuda_backend.free((void *)(uintptr_t)p);
}

/* Whether v's device buffer is the run's to free (not the storage of the array env[v]). */
static bool owns(const run *r, int32_t v) {
    return r->dev[v] && !(r->env[v] && r->env[v]->dev == (void *)(uintptr_t)r->dev[v]);
}

static size_t var_bytes(const jx_fn *f, int32_t v) {
    return (size_t)jx_aval_size(&f->vars[v]) * jx_dtype_size(f->vars[v].dtype);
}

static jx_status to_device(run *r, int32_t v) {
    if (r->dev[v]) return JX_OK;
    jx_array *a = r->env[v];
    if (!a) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "variable %d has no value", (int)v);
    if (a->dev && a->be == &jx__cuda_backend) { /* a device array: read in place */
        r->dev[v] = (CUdeviceptr)(uintptr_t)a->dev;
        return JX_OK;
    }
    CUdeviceptr d = buf_alloc(r, var_bytes(r->p->f, v));
    if (!d) return jx_errcode();
    r->dev[v] = d;
    return jx__cuda_backend.copy_in((void *)(uintptr_t)d, a->data, var_bytes(r->p->f, v));
}

static jx_status to_host(run *r, int32_t v) {
    if (r->env[v]) return jx__array_host(r->env[v]) ? JX_OK : jx_errcode();
    if (!r->dev[v]) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "variable %d has no value", (int)v);
    jx_array *a = jx__array_alloc_uninit(&r->p->f->vars[v]);
    if (!a) return jx_errcode();
    r->env[v] = a;
    return jx__cuda_backend.copy_out(a->data, (void *)(uintptr_t)r->dev[v], var_bytes(r->p->f, v));
}

static void drop(run *r, int32_t v) {
    if (owns(r, v)) buf_free(r, r->dev[v]);
    jx_array_release(r->env[v]);
    r->env[v] = NULL;
    r->dev[v] = 0;
}

/* Output variable v as a device array (new reference in *o): its buffer is handed over
 * to the array (so the run no longer frees it), a host-only value is uploaded first. */
static jx_status out_device(run *r, int32_t v, jx_array **o) {
    jx_status st = to_device(r, v);
    if (st == JX_OK && owns(r, v)) {
        jx_array *a = jx__array_on_device(&r->p->f->vars[v], (void *)(uintptr_t)r->dev[v], &jx__cuda_backend,
                                          JX_DEVICE_CUDA);
        if (!a) return jx_errcode();
        jx_array_release(r->env[v]);
        r->env[v] = a;
    }
    if (st == JX_OK) *o = jx_array_retain(r->env[v]);
    return st;
}

static jx_status new_outputs(run *r, const jx__group *g) {
    for (int o = 0; o < g->nout; o++) {
        int32_t v = g->out[o];
        drop(r, v);
        CUdeviceptr d = buf_alloc(r, var_bytes(r->p->f, v));
        if (!d) return jx_errcode();
        r->dev[v] = d;
    }
    return JX_OK;
}

static jx_status run_loop(run *r, const jx__step *s) {
    const jx__group *g = s->g;
    CUdeviceptr bb[32], *bufs = g->nin + g->nout <= 32 ? bb : malloc(sizeof *bufs * (size_t)(g->nin + g->nout));
    if (!bufs) return jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    jx_status st = JX_OK;
    for (int i = 0; st == JX_OK && i < g->nin; i++) st = to_device(r, g->in[i]);
    if (st == JX_OK) st = new_outputs(r, g);
    for (int i = 0; st == JX_OK && i < g->nin + g->nout; i++) bufs[i] = r->dev[i < g->nin ? g->in[i] : g->out[i - g->nin]];
    if (st == JX_OK) st = jx__cuda_kernel_launch(s->kernel, bufs);
    if (bufs != bb) free(bufs);
    return st;
}

/* A GEMM with an epilogue on cuBLASLt, its workspace a buffer of the run's (as a conv's). */
static jx_status run_dot_lt(run *r, const jx__step *s) {
    const jx__dot_epi *ep = s->epi;
    const jx__eqn *e = ep->dot;
    const jx__cuda_lt_plan *lp = jx__cuda_lt_plan_get(r->p->f, ep, r->p->tf32);
    size_t ws_bytes = lp ? jx__cuda_lt_workspace(lp) : 0;
    CUdeviceptr ws = 0;
    jx_status st = lp ? to_device(r, e->in[0].var) : jx_errcode();
    if (st == JX_OK) st = to_device(r, e->in[1].var);
    if (st == JX_OK && ep->kind == JX__EPI_BIAS) st = to_device(r, ep->vec);
    if (st == JX_OK) st = new_outputs(r, s->g);
    if (st == JX_OK && ws_bytes && !(ws = buf_alloc(r, ws_bytes))) st = jx_errcode();
    if (st == JX_OK)
        st = jx__cuda_dot_lt(lp, ep, r->dev[e->in[0].var], r->dev[e->in[1].var], r->dev[ep->out], r->dev[ep->vec], ws);
    if (ws) buf_free(r, ws);
    return st;
}

static jx_status run_dot(run *r, const jx__step *s) {
    if (s->epi) return run_dot_lt(r, s);
    const jx_fn *f = r->p->f;
    const jx__eqn *e = &f->eqns[s->g->eqns[0]];
    jx_aval av[2] = {f->vars[e->in[0].var], f->vars[e->in[1].var]};
    jx_status st = to_device(r, e->in[0].var);
    if (st == JX_OK) st = to_device(r, e->in[1].var);
    if (st == JX_OK) st = new_outputs(r, s->g);
    if (st == JX_OK) st = jx__cuda_dot(e, av, r->dev[e->in[0].var], r->dev[e->in[1].var], r->dev[e->out[0]], r->p->tf32);
    return st;
}

/* A conv on cuDNN (planned as cp), its workspace a buffer of the run's (so a graph's own
 * while captured). */
static jx_status run_conv(run *r, const jx__step *s, const jx__cuda_conv_plan *cp) {
    int32_t v[3]; /* x, w, y: through the transposes of the step's view, if any */
    const jx__eqn *e = jx__cuda_step_conv(r->p->f, s, v);
    size_t ws_bytes = jx__cuda_conv_workspace(cp);
    CUdeviceptr ws = 0;
    jx_status st = to_device(r, v[0]);
    if (st == JX_OK) st = to_device(r, v[1]);
    if (st == JX_OK) st = new_outputs(r, s->g);
    if (st == JX_OK && ws_bytes && !(ws = buf_alloc(r, ws_bytes))) st = jx_errcode();
    if (st == JX_OK) st = jx__cuda_conv(cp, r->p->f, e, r->dev[v[0]], r->dev[v[1]], r->dev[v[2]], ws);
    if (ws) buf_free(r, ws); /* stream-ordered: a later user of the block queues after the conv */
    return st;
}

/* The equation of a host step that the CPU backend's library path takes: a convolution
 * cuDNN did not take, or a GEMM cuBLAS did not (an operand needing a transposing copy).
 * There it runs on OpenBLAS and the thread pool, not through the interpreter's loops. */
static const jx__eqn *host_lib_eqn(const jx_fn *f, const jx__group *g) {
    if (g->neqn != 1) return NULL;
    const jx__eqn *e = &f->eqns[g->eqns[0]];
    if (e->nin != 2 || e->nout != 1 || e->in[0].var < 0 || e->in[1].var < 0) return NULL;
    if (e->prim == JX_PRIM_CONV) return jx__cpu_conv_ok(f, e) ? e : NULL;
    if (e->prim == JX_PRIM_DOT_GENERAL) return jx__cpu_dot_ok(f, e) ? e : NULL;
    return NULL;
}

static jx_status run_host_lib(run *r, const jx__eqn *e) {
    const jx_fn *f = r->p->f;
    jx_aval av[2];
    const void *in[2];
    jx_status st = JX_OK;
    for (int i = 0; i < 2 && st == JX_OK; i++) {
        int32_t v = e->in[i].var;
        st = to_host(r, v);
        av[i] = f->vars[v];
        in[i] = st == JX_OK ? r->env[v]->data : NULL;
    }
    int32_t v = e->out[0];
    drop(r, v);
    jx_array *out = st == JX_OK ? jx__array_alloc_uninit(&f->vars[v]) : NULL;
    jx__pool *pool = out ? jx__pool_get(jx__default_threads()) : NULL;
    if (st == JX_OK && !out) st = jx_errcode();
    if (st == JX_OK && !pool) st = jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "no thread pool for a host step");
    if (st == JX_OK)
        st = e->prim == JX_PRIM_DOT_GENERAL ? jx__cpu_dot(pool, e, av, in, &f->vars[v], out->data)
                                            : jx__cpu_conv(pool, e, av, in, &f->vars[v], out->data);
    if (st == JX_OK) r->env[v] = out;
    else jx_array_release(out);
    return st;
}

static jx_status run_host(run *r, const jx__step *s) {
    const jx__group *g = s->g;
    const jx__eqn *e = host_lib_eqn(r->p->f, g);
    if (e) return run_host_lib(r, e);
    jx_status st = JX_OK;
    for (int i = 0; st == JX_OK && i < g->nin; i++) st = to_host(r, g->in[i]);
    for (int o = 0; st == JX_OK && o < g->nout; o++) drop(r, g->out[o]);
    return st == JX_OK ? jx__run_eqns_interp(r->p->f, g, r->env, false) : st;
}

/* cond, while or scan on the device (control.c): operands handed over as device arrays,
 * results kept as the arrays the sub-programs return. */
static jx_status run_control(run *r, const jx__step *s, const jx__eqn *e) {
    const jx_fn *f = r->p->f;
    jx_array **in = calloc((size_t)e->nin + 1, sizeof *in), **out = calloc((size_t)e->nout + 1, sizeof *out);
    jx_aval *oav = calloc((size_t)e->nout + 1, sizeof *oav);
    jx_status st = in && out && oav ? JX_OK : jx__fail(JX_ERR_NOMEM, e->loc, "cuda", "out of memory");
    for (int i = 0; st == JX_OK && i < e->nin; i++) {
        int32_t v = e->in[i].var;
        if (v >= 0) {
            st = out_device(r, v, &in[i]);
        } else {
            jx_array *lit = jx__lit_array(&e->in[i]);
            in[i] = lit ? jx_array_to(lit, JX_DEVICE_CUDA) : NULL;
            jx_array_release(lit);
            if (!in[i]) st = jx_errcode();
        }
    }
    for (int o = 0; st == JX_OK && o < e->nout; o++) oav[o] = f->vars[e->out[o]];
    if (st == JX_OK) st = jx__cuda_control(s, e, in, oav, out);
    for (int o = 0; st == JX_OK && o < e->nout; o++) {
        drop(r, e->out[o]);
        r->env[e->out[o]] = out[o];
    }
    for (int i = 0; in && i < e->nin; i++) jx_array_release(in[i]);
    free(in), free(out), free(oav);
    return st;
}

static jx_status run_steps(run *r) {
    jx_status st = JX_OK;
    for (int k = 0; k < r->p->nsteps && st == JX_OK; k++) {
        const jx__step *s = &r->p->steps[k];
        const jx__cuda_conv_plan *cp = NULL;
        if (s->kind == JX__G_LOOP && s->kernel) st = run_loop(r, s);
        else if (s->kind == JX__G_DOT) st = run_dot(r, s);
        else if (s->kind == JX__G_CONV && (cp = jx__cuda_conv_plan_get(r->p->f, s, r->p->tf32)))
            st = run_conv(r, s, cp);
        else if (s->kind == JX__G_CONTROL && jx__cuda_control_ok(s, &r->p->f->eqns[s->g->eqns[0]]))
            st = run_control(r, s, &r->p->f->eqns[s->g->eqns[0]]);
        else st = run_host(r, s);
        for (int i = 0; st == JX_OK && i < s->nfree; i++) drop(r, s->free[i]);
    }
    return st;
}

static run run_new(const jx__prog *p, jx__cu_pool *pool) {
    size_t nv = (size_t)p->f->nvars + 1;
    run r = {p, calloc(nv, sizeof(jx_array *)), calloc(nv, sizeof(CUdeviceptr)), pool};
    if (!r.env || !r.dev) jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    return r;
}

/* Frees what r still holds, but for the buffers of variables keep[v] (may be NULL). */
static void run_done(run *r, const bool *keep) {
    for (int v = 0; r->env && r->dev && v < r->p->f->nvars; v++)
        if (!keep || !keep[v]) drop(r, v);
    free(r->env);
    free(r->dev);
}

jx_status jx__cuda_run_steps(const jx__prog *p, const CUdeviceptr *in, jx__cu_pool *pool, CUdeviceptr *out) {
    const jx_fn *f = p->f;
    run r = run_new(p, pool);
    bool *keep = calloc((size_t)f->nvars + 1, sizeof *keep);
    jx_status st = r.env && r.dev && keep ? JX_OK : jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    for (int i = 0; st == JX_OK && i < f->nin; i++)
        if (!r.dev[f->in[i]]) r.dev[f->in[i]] = in[i]; /* an input listed twice reads the first's */
    if (st == JX_OK) st = run_steps(&r);
    for (int i = 0; st == JX_OK && i < f->nout; i++) {
        int32_t v = f->out[i].var;
        out[i] = v >= 0 ? r.dev[v] : 0;
        if (v >= 0 && !out[i]) st = jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "output %d is not on the device", i);
        if (v >= 0) keep[v] = true;
    }
    run_done(&r, st == JX_OK ? keep : NULL);
    free(keep);
    return st;
}

jx_status jx__cuda_run(jx__prog *p, jx_array *const *in, jx_array **out) {
    const jx_fn *f = p->f;
    if (!jx__cu_get()) return jx_errcode();
    jx_status st;
    if (jx__cuda_graph_run(p, in, out, &st)) return st;
    run r = run_new(p, NULL);
    st = r.env && r.dev ? JX_OK : jx_errcode();
    for (int i = 0; st == JX_OK && i < f->nin; i++) {
        jx_array_release(r.env[f->in[i]]); /* an input listed twice */
        r.env[f->in[i]] = jx_array_retain(in[i]);
    }
    if (st == JX_OK) st = run_steps(&r);
    bool on_device = false; /* outputs stay on the device when any input is there */
    for (int i = 0; i < f->nin; i++) on_device = on_device || in[i]->device == JX_DEVICE_CUDA;
    for (int i = 0; i < f->nout; i++) out[i] = NULL;
    for (int i = 0; i < f->nout && st == JX_OK; i++) {
        int32_t v = f->out[i].var;
        if (v >= 0 && on_device) st = out_device(&r, v, &out[i]);
        else if (v >= 0 && (st = to_host(&r, v)) == JX_OK) out[i] = jx_array_retain(r.env[v]);
        else if (v < 0 && !(out[i] = jx__lit_array(&f->out[i]))) st = jx_errcode();
        if (st == JX_OK && v < 0 && on_device) {
            jx_array *d = jx_array_to(out[i], JX_DEVICE_CUDA);
            jx_array_release(out[i]);
            if (!(out[i] = d)) st = jx_errcode();
        }
    }
    if (st != JX_OK)
        for (int i = 0; i < f->nout; i++) jx_array_release(out[i]), out[i] = NULL;
    run_done(&r, NULL);
    return st;
}
