/* exec.c: runs a program (plan.h) with the CUDA backend. Every variable may have a
 * device buffer, a host array, or both (values never change once made, so a copy made
 * for one reader serves the next). LOOP steps with a kernel and DOT steps cuBLAS takes
 * run on the device, uploading the inputs they find only on the host; every other step
 * (an equation the code generator declined, convolutions, cond/while/scan, sort, ...)
 * downloads its inputs and runs through the interpreter's impl rules on the host, so
 * everything the CPU jit runs also runs here: correct, and slow where it falls back
 * (JX_DUMP=plan shows which steps do). Inputs come from the host and outputs go back to
 * it; device buffers come from the caching allocator and go back to it when their
 * variable's last reader has run. All work is on the null stream, in order. */
#include <stdlib.h>

#include "../../trace/pass_util.h"
#include "cuda.h"

typedef struct run {
    const jx__prog *p;
    jx_array **env;    /* per variable: host copy, or NULL */
    CUdeviceptr *dev;  /* per variable: device copy, or 0 */
} run;

static size_t var_bytes(const jx_fn *f, int32_t v) {
    return (size_t)jx_aval_size(&f->vars[v]) * jx_dtype_size(f->vars[v].dtype);
}

static jx_status to_device(run *r, int32_t v) {
    if (r->dev[v]) return JX_OK;
    const jx_array *a = r->env[v];
    if (!a) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "variable %d has no value", (int)v);
    void *d = jx__cuda_backend.alloc(var_bytes(r->p->f, v));
    if (!d) return jx_errcode();
    r->dev[v] = (CUdeviceptr)(uintptr_t)d;
    return jx__cuda_backend.copy_in(d, a->data, var_bytes(r->p->f, v));
}

static jx_status to_host(run *r, int32_t v) {
    if (r->env[v]) return JX_OK;
    if (!r->dev[v]) return jx__fail(JX_ERR_INTERNAL, jx__noloc, "cuda", "variable %d has no value", (int)v);
    jx_array *a = jx__array_alloc_uninit(&r->p->f->vars[v]);
    if (!a) return jx_errcode();
    r->env[v] = a;
    return jx__cuda_backend.copy_out(a->data, (void *)(uintptr_t)r->dev[v], var_bytes(r->p->f, v));
}

static void drop(run *r, int32_t v) {
    jx_array_release(r->env[v]);
    r->env[v] = NULL;
    if (r->dev[v]) jx__cuda_backend.free((void *)(uintptr_t)r->dev[v]);
    r->dev[v] = 0;
}

static jx_status new_outputs(run *r, const jx__group *g) {
    for (int o = 0; o < g->nout; o++) {
        int32_t v = g->out[o];
        drop(r, v);
        void *d = jx__cuda_backend.alloc(var_bytes(r->p->f, v));
        if (!d) return jx_errcode();
        r->dev[v] = (CUdeviceptr)(uintptr_t)d;
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

static jx_status run_dot(run *r, const jx__step *s) {
    const jx_fn *f = r->p->f;
    const jx__eqn *e = &f->eqns[s->g->eqns[0]];
    jx_aval av[2] = {f->vars[e->in[0].var], f->vars[e->in[1].var]};
    jx_status st = to_device(r, e->in[0].var);
    if (st == JX_OK) st = to_device(r, e->in[1].var);
    if (st == JX_OK) st = new_outputs(r, s->g);
    if (st == JX_OK) st = jx__cuda_dot(e, av, r->dev[e->in[0].var], r->dev[e->in[1].var], r->dev[e->out[0]]);
    return st;
}

static jx_status run_host(run *r, const jx__step *s) {
    const jx__group *g = s->g;
    jx_status st = JX_OK;
    for (int i = 0; st == JX_OK && i < g->nin; i++) st = to_host(r, g->in[i]);
    for (int o = 0; st == JX_OK && o < g->nout; o++) drop(r, g->out[o]);
    return st == JX_OK ? jx__run_eqns_interp(r->p->f, g, r->env, false) : st;
}

jx_status jx__cuda_run(const jx__prog *p, jx_array *const *in, jx_array **out) {
    const jx_fn *f = p->f;
    if (!jx__cu_get()) return jx_errcode();
    run r = {p, calloc((size_t)f->nvars + 1, sizeof(jx_array *)), calloc((size_t)f->nvars + 1, sizeof(CUdeviceptr))};
    jx_status st = r.env && r.dev ? JX_OK : jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda", "out of memory");
    for (int i = 0; st == JX_OK && i < f->nin; i++) {
        jx_array_release(r.env[f->in[i]]); /* an input listed twice */
        r.env[f->in[i]] = jx_array_retain(in[i]);
    }
    for (int k = 0; k < p->nsteps && st == JX_OK; k++) {
        const jx__step *s = &p->steps[k];
        if (s->kind == JX__G_LOOP && s->kernel) st = run_loop(&r, s);
        else if (s->kind == JX__G_DOT) st = run_dot(&r, s);
        else st = run_host(&r, s);
        for (int i = 0; st == JX_OK && i < s->nfree; i++) drop(&r, s->free[i]);
    }
    for (int i = 0; i < f->nout; i++) out[i] = NULL;
    for (int i = 0; i < f->nout && st == JX_OK; i++) {
        int32_t v = f->out[i].var;
        if (v >= 0 && (st = to_host(&r, v)) == JX_OK) out[i] = jx_array_retain(r.env[v]);
        else if (v < 0 && !(out[i] = jx__lit_array(&f->out[i]))) st = jx_errcode();
    }
    if (st != JX_OK)
        for (int i = 0; i < f->nout; i++) jx_array_release(out[i]), out[i] = NULL;
    for (int v = 0; r.env && r.dev && v < f->nvars; v++) drop(&r, v);
    free(r.env);
    free(r.dev);
    return st;
}
