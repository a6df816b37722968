/* exec_control.c: cond, while, scan and pmap steps, run in C around compiled
 * sub-programs (never through the interpreter): cond picks a branch's program; while
 * alternates its cond and body programs; scan slices xs, runs the body program per step
 * and stacks the ys; pmap runs the body program on every device's thread, each with its
 * own frame (src/backends/pmap_run.c). Loop-carried arrays the loop alone holds are donated to the body, so a body that
 * updates its carry elementwise does it in place, and the body's frame keeps its spare
 * buffers from one iteration to the next. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "../backends/collective.h"
#include "../backends/control_util.h"

static jx_status oom(const jx__eqn *e) {
    return jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
}

static jx_status run_cond(const jx__rt *rt, const jx__step *s, jx_array *const *in, jx_array **out) {
    int64_t i = jx__scalar_i64(in[0]);
    i = i < 0 ? 0 : i >= s->nsubs ? s->nsubs - 1 : i; /* clamped, as lax.switch does */
    jx__frame *fr = jx__frame_new(rt, s->subs[i]);
    if (!fr) return jx_errcode();
    jx_status st = jx__frame_run(fr, in + 1, NULL, out);
    jx__frame_free(fr);
    return st;
}

/* Marks the first n of args donated where the loop holds the only reference. */
static void donate_owned(int n, jx_array *const *args, bool *don) {
    for (int i = 0; i < n; i++) don[i] = atomic_load(&args[i]->refs) == 1;
}

/* while: args[] holds the carry (owned) then the consts (borrowed). */
static jx_status run_while(const jx__rt *rt, const jx__step *s, const jx__eqn *e, jx_array *const *in,
                           jx_array **out) {
    int nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    jx_array **args = calloc((size_t)e->nin + 1, sizeof *args);
    jx_array **next = calloc((size_t)nc + 1, sizeof *next);
    bool *don = calloc((size_t)e->nin + 1, sizeof *don);
    jx__frame *fc = jx__frame_new(rt, s->subs[0]), *fb = fc ? jx__frame_new(rt, s->subs[1]) : NULL;
    jx_status st = args && next && don ? (fb ? JX_OK : jx_errcode()) : oom(e);
    for (int i = 0; args && i < e->nin; i++) args[i] = i < nc ? jx_array_retain(in[i]) : in[i];
    while (st == JX_OK) {
        jx_array *pred = NULL;
        if ((st = jx__frame_run(fc, args, NULL, &pred)) != JX_OK) break;
        bool go = jx__scalar_i64(pred) != 0;
        jx_array_release(pred);
        if (!go) break;
        donate_owned(nc, args, don);
        if ((st = jx__frame_run(fb, args, don, next)) != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, next, sizeof *args * (size_t)nc);
    }
    if (st == JX_OK) memcpy(out, args, sizeof *args * (size_t)nc);
    else if (args) jx__release_all(nc, args);
    jx__frame_free(fc);
    jx__frame_free(fb);
    free(args);
    free(next);
    free(don);
    return st;
}

/* Refills slice (reusing it when only the loop holds it) with block i of x along axis 0. */
static jx_status take_slice(jx_array **slice, const jx_array *x, int64_t i, int64_t len) {
    jx_aval sa = jx_aval_make(x->aval.dtype, (jx_ints){x->aval.shape + 1, x->aval.rank - 1});
    if (*slice && atomic_load(&(*slice)->refs) != 1) {
        jx_array_release(*slice);
        *slice = NULL;
    }
    if (!*slice && !(*slice = jx__array_alloc_uninit(&sa))) return jx_errcode();
    (*slice)->aval = sa;
    size_t block = x->nbytes / (size_t)len;
    if (block) memcpy((*slice)->data, (const char *)x->data + (size_t)i * block, block);
    return JX_OK;
}

/* scan: per step, args[] holds the carry (owned), the x slices (owned) and the consts
 * (borrowed); res[] receives the body's carry and y for the step. */
static jx_status run_scan(const jx__rt *rt, const jx__step *s, const jx__eqn *e, jx_array *const *in,
                          const jx_aval *oav, jx_array **out) {
    jx__scan_attrs at = jx__scan_attrs_of(e);
    int nc = at.nc, nx = at.nx, ny = at.ny;
    jx_array **args = calloc((size_t)e->nin + 1, sizeof *args);
    jx_array **res = calloc((size_t)e->nout + 1, sizeof *res);
    bool *don = calloc((size_t)e->nin + 1, sizeof *don);
    jx__frame *fb = jx__frame_new(rt, s->subs[0]);
    jx_status st = args && res && don ? (fb ? JX_OK : jx_errcode()) : oom(e);
    for (int i = 0; args && i < e->nin; i++)
        args[i] = i < nc ? jx_array_retain(in[i]) : i < nc + nx ? NULL : in[i];
    for (int j = 0; j < ny && st == JX_OK; j++)
        if (!(out[nc + j] = jx__array_alloc_uninit(&oav[nc + j]))) st = jx_errcode();
    for (int64_t step = 0; step < at.len && st == JX_OK; step++) {
        int64_t i = at.rev ? at.len - 1 - step : step;
        for (int j = 0; j < nx && st == JX_OK; j++) st = take_slice(&args[nc + j], in[nc + j], i, at.len);
        if (st != JX_OK) break;
        donate_owned(nc + nx, args, don);
        if ((st = jx__frame_run(fb, args, don, res)) != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, res, sizeof *res * (size_t)nc);
        jx__scan_store_ys(ny, res + nc, out + nc, i);
        jx__release_all(ny, res + nc);
    }
    if (args) jx__release_all(nx, args + nc);
    if (st == JX_OK) {
        memcpy(out, args, sizeof *args * (size_t)nc);
    } else {
        if (args) jx__release_all(nc, args);
        jx__release_all(ny, out + nc);
    }
    jx__frame_free(fb);
    free(args);
    free(res);
    free(don);
    return st;
}

typedef struct pmap_ctx {
    const jx__rt *rt;
    const jx__prog *body;
} pmap_ctx;

/* One device's run of the pmap body: a frame of its own on the shared program. */
static jx_status pmap_device(void *ctx, int device, jx_array *const *in, jx_array **out) {
    const pmap_ctx *c = ctx;
    (void)device;
    jx__frame *fr = jx__frame_new(c->rt, c->body);
    if (!fr) return jx_errcode();
    jx_status st = jx__frame_run(fr, in, NULL, out);
    jx__frame_free(fr);
    return st;
}

jx_status jx__control_run(const jx__rt *rt, const jx__step *s, const jx_fn *f, const jx__eqn *e,
                          jx_array *const *in, jx_array **out) {
    switch (e->prim) {
    case JX_PRIM_COND: return run_cond(rt, s, in, out);
    case JX_PRIM_WHILE: return run_while(rt, s, e, in, out);
    case JX_PRIM_SCAN:
    case JX_PRIM_PMAP: {
        jx_aval ab[16];
        jx_aval *oav = e->nout <= 16 ? ab : calloc((size_t)e->nout, sizeof *oav);
        if (!oav) return oom(e);
        for (int i = 0; i < e->nout; i++) oav[i] = f->vars[e->out[i]];
        pmap_ctx pc = {rt, s->subs[0]};
        jx_status st = e->prim == JX_PRIM_SCAN ? run_scan(rt, s, e, in, oav, out)
                                               : jx__pmap_run(e, in, oav, out, pmap_device, &pc);
        if (oav != ab) free(oav);
        return st;
    }
    default: return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "not a control primitive");
    }
}
