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
    int i;
    jx_status st = jx__branch_index(in[0], s->nsubs, &i);
    jx__frame *fr = st == JX_OK ? jx__frame_new(rt, s->subs[i]) : NULL;
    if (!fr) return jx_errcode();
    st = jx__frame_run(fr, in + 1, NULL, out);
    jx__frame_free(fr);
    return st;
}

typedef struct nested {
    const jx__rt *rt;
    jx__frame *fr[2]; /* while: cond's and body's frames; scan: body's */
} nested;

/* A loop's sub-program k run in its frame (kept from one iteration to the next). */
static jx_status run_nested(void *ctx, int k, jx_array *const *args, const bool *don, jx_array **res) {
    nested *n = ctx;
    return jx__frame_run(n->fr[k], args, don, res);
}

static jx_status run_loop(const jx__rt *rt, const jx__step *s, const jx__eqn *e, jx_array *const *in,
                          const jx_aval *oav, jx_array **out) {
    nested n = {rt, {NULL, NULL}};
    jx_status st = JX_OK;
    for (int k = 0; k < s->nsubs && k < 2 && st == JX_OK; k++)
        if (!(n.fr[k] = jx__frame_new(rt, s->subs[k]))) st = jx_errcode();
    jx__loop_ops ops = {.ctx = &n, .run = run_nested};
    if (st == JX_OK)
        st = e->prim == JX_PRIM_WHILE ? jx__while_run(e, in, out, &ops) : jx__scan_run(e, in, oav, out, &ops);
    jx__frame_free(n.fr[0]);
    jx__frame_free(n.fr[1]);
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
    case JX_PRIM_WHILE:
    case JX_PRIM_SCAN:
    case JX_PRIM_PMAP: {
        jx_aval ab[16];
        jx_aval *oav = e->nout <= 16 ? ab : calloc((size_t)e->nout, sizeof *oav);
        if (!oav) return oom(e);
        for (int i = 0; i < e->nout; i++) oav[i] = f->vars[e->out[i]];
        pmap_ctx pc = {rt, s->subs[0]};
        jx_status st = e->prim == JX_PRIM_PMAP ? jx__pmap_run(e, in, oav, out, pmap_device, &pc)
                                               : run_loop(rt, s, e, in, oav, out);
        if (oav != ab) free(oav);
        return st;
    }
    default: return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "not a control primitive");
    }
}
