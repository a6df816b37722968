/* rules_custom.c: batch rules of user-defined derivatives and checkpointing
 * (custom_jvp_call, custom_vjp_call, checkpoint, and grad's custom_vjp_tangent and
 * checkpoint_tangent). Every nested function is batched consistently, so the batched
 * equation keeps the user's rule and grad of a vmapped function still uses it:
 *  - custom_jvp_call[fn jvp]: fn and jvp batched on the same input dims (a tangent is
 *    mapped where its primal is); an output and its tangent are batched where either
 *    is in fn or jvp.
 *  - custom_vjp_call[fn fwd bwd]: fn and fwd batched alike (the residuals as fwd gives
 *    them); bwd batched on (residuals, output cotangents) gives each input's cotangent
 *    mapped where the input is, and summed over the lanes for an input every lane shares.
 *  - checkpoint[fn]: fn batched.
 *  - the tangent forms (x..., dx..., [residuals...]): x and dx mapped alike (broadcast
 *    where only one of them is), fn (and bwd, as above) batched on that. */
#include <string.h>

#include "vmap.h"
#include "rule_scratch.h"

/* ------------------------------------------------------------------ scratch */

/* The rule's trace, location and arena (see rule_scratch.h). */
typedef jx__rs rule;

static const jx_fn *fn_of(const jx__eqn *e, jx__akey key) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, key);
    return a && a->kind == JX_AK_FNS && a->n == 1 ? a->u.fns[0] : NULL;
}

/* Binds e's primitive on ops with the function attributes keys[i] = fns[i]. */
static void bind_fns(const jx__eqn *e, int nin, const jx_val *ops, int nf, const jx__akey *keys, jx_fn **fns,
                     jx_val *y) {
    jx__attr a[3];
    for (int i = 0; i < nf && i < 3; i++) a[i] = jx__a_fns(keys[i], 1, &fns[i]);
    jx__bind(e->loc, (jx_prim)e->prim, nin, ops, nf, a, e->nout, y, NULL);
}

/* ------------------------------------------------------------------ building blocks */

/* bwd batched as a function (residuals..., ybar...) -> (xbar...): its inputs have avals
 * av, mapped at ind; xbar i comes out mapped at want[i], or, where want[i] is
 * JX_NOBATCH, summed over the lanes (an input every lane shares gets the sum of the
 * lanes' cotangents). NULL on error. */
static jx_fn *bwd_batched(rule *r, const jx_fn *bw, const jx_aval *av, const int *ind, const int *want) {
    int n = bw->nin, m = bw->nout;
    jx_val *in = JX_RS_NEW(r, jx_val, n), *out = JX_RS_NEW(r, jx_val, m);
    int *od = JX_RS_NEW(r, int, m);
    if (!jx__rs_ok(r)) return NULL;
    jx__trace *t = jx__rs_begin(r, "bwd_batched", n, av, in);
    if (!t) return NULL;
    if (jx__vmap_inline(r->cx, bw, in, ind, out, od) == JX_OK)
        for (int i = 0; i < m; i++) {
            if (want[i] != JX_NOBATCH) out[i] = jx__bmove(r->cx, r->loc, out[i], od[i], want[i]);
            else if (od[i] != JX_NOBATCH) out[i] = jx_reduce_sum_at(r->loc, out[i], JX_INTS(od[i]));
        }
    return jx__rs_end(r, t, m, out);
}

/* f (m outputs) and g batched on ind into fns[0] and fns[1], each output of g below ntie
 * (m <= ntie <= g->nout) tied to f's output k % m: all of a tie come out mapped at 0 where
 * any of them is, in either function; g's other outputs as g gives them. od (g->nout
 * entries) receives the output dims, f's first. false on error. */
static bool batch_tied(rule *r, const jx_fn *f, const jx_fn *g, const int *ind, int ntie, int *od, jx_fn **fns) {
    int m = f->nout, ng = g->nout;
    bool *obf = JX_RS_NEW(r, bool, m), *obg = JX_RS_NEW(r, bool, ng), *ub = JX_RS_NEW(r, bool, ng);
    if (!jx__rs_ok(r)) return false;
    fns[0] = jx__vmap_fn_rs(r, f, ind, NULL, obf);
    fns[1] = jx__vmap_fn_rs(r, g, ind, NULL, obg);
    if (!fns[1]) return false;
    for (int k = 0; k < ng; k++) ub[k] = k < m ? obf[k] || obg[k] : obg[k];
    for (int k = m; k < ntie; k++) ub[k % m] |= obg[k];
    for (int k = 0; k < ng; k++) od[k] = jx__bdim_of(k < ntie ? ub[k % m] : ub[k]);
    for (int k = 0; k < ng; k++) ub[k] = od[k] != JX_NOBATCH;
    if (!jx__bools_same(m, obf, ub)) fns[0] = jx__vmap_fn_rs(r, f, ind, od, NULL);
    if (!jx__bools_same(ng, obg, ub)) fns[1] = jx__vmap_fn_rs(r, g, ind, od, NULL);
    return fns[0] && fns[1];
}

/* ------------------------------------------------------------------ custom_jvp_call */

static jx_status b_custom_jvp(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                              int *ydim) {
    rule r;
    jx__rs_init(&r, e, "vmap", cx);
    const jx_fn *f = fn_of(e, JX_A_FN), *j = fn_of(e, JX_A_JVP);
    int n = e->nin, m = e->nout;
    int *ind = JX_RS_NEW(&r, int, 2 * n), *od = JX_RS_NEW(&r, int, 2 * m);
    if (!jx__rs_ok(&r)) return jx__rs_done(&r);
    for (int i = 0; i < n; i++) ind[i] = ind[n + i] = bdim[i];
    jx_fn *fns[2];
    static const jx__akey keys[2] = {JX_A_FN, JX_A_JVP};
    /* jvp gives (y..., dy...): y[k] and dy[k] are tied to fn's y[k] */
    if (batch_tied(&r, f, j, ind, 2 * m, od, fns)) {
        bind_fns(e, n, x, 2, keys, fns, y);
        memcpy(ydim, od, sizeof *od * (size_t)m);
    }
    return jx__rs_done(&r);
}

/* ------------------------------------------------------------------ custom_vjp_call */

static jx_status b_custom_vjp(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                              int *ydim) {
    rule r;
    jx__rs_init(&r, e, "vmap", cx);
    const jx_fn *f = fn_of(e, JX_A_FN), *fw = fn_of(e, JX_A_FWD), *bw = fn_of(e, JX_A_BWD);
    int n = e->nin, m = e->nout, nw = fw->nout, nres = nw - m;
    int *od = JX_RS_NEW(&r, int, nw), *bin = JX_RS_NEW(&r, int, nw);
    jx_aval *av = JX_RS_NEW(&r, jx_aval, nw);
    jx_fn *fns[3] = {NULL, NULL, NULL};
    /* fwd gives (y..., residuals...): y[k] is tied to fn's y[k] */
    if (!jx__rs_ok(&r) || !batch_tied(&r, f, fw, bdim, m, od, fns)) return jx__rs_done(&r);
    /* bwd takes (residuals..., ybar...) as fwd gives the residuals and fn its outputs */
    for (int k = 0; k < nres; k++) av[k] = jx_fn_output_aval(fns[1], m + k), bin[k] = od[m + k];
    for (int k = 0; k < m; k++) av[nres + k] = jx_fn_output_aval(fns[0], k), bin[nres + k] = od[k];
    fns[2] = bwd_batched(&r, bw, av, bin, bdim);
    static const jx__akey keys[3] = {JX_A_FN, JX_A_FWD, JX_A_BWD};
    if (fns[2]) {
        bind_fns(e, n, x, 3, keys, fns, y);
        memcpy(ydim, od, sizeof *od * (size_t)m);
    }
    return jx__rs_done(&r);
}

/* ------------------------------------------------------------------ checkpoint and tangents */

static jx_status b_checkpoint(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                              int *ydim) {
    rule r;
    jx__rs_init(&r, e, "vmap", cx);
    bool *ob = JX_RS_NEW(&r, bool, e->nout);
    jx_fn *g = ob ? jx__vmap_fn_rs(&r, fn_of(e, JX_A_FN), bdim, NULL, ob) : NULL;
    static const jx__akey key = JX_A_FN;
    if (g) {
        bind_fns(e, e->nin, x, 1, &key, &g, y);
        for (int k = 0; k < e->nout; k++) ydim[k] = jx__bdim_of(ob[k]);
    }
    return jx__rs_done(&r);
}

/* checkpoint_tangent[fn jvp](x..., dx...) and custom_vjp_tangent[fn jvp bwd](x...,
 * dx..., residuals...): x[i] and dx[i] must be mapped alike, so both go to 0 where
 * either is mapped; jvp is batched with (x..., dx...) so, its outputs (y..., dy...) where
 * fn's are. */
static jx_status b_tangent(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                           int *ydim) {
    rule r;
    jx__rs_init(&r, e, "vmap", cx);
    const jx_fn *f = fn_of(e, JX_A_FN), *jv = fn_of(e, JX_A_JVP), *bw = fn_of(e, JX_A_BWD);
    int n = f->nin, m = f->nout, nres = e->nin - 2 * n;
    jx_val *ops = JX_RS_NEW(&r, jx_val, e->nin);
    int *ind = JX_RS_NEW(&r, int, 2 * n), *bin = JX_RS_NEW(&r, int, nres + m), *jod = JX_RS_NEW(&r, int, 2 * m);
    bool *ob = JX_RS_NEW(&r, bool, m);
    jx_aval *av = JX_RS_NEW(&r, jx_aval, nres + m);
    if (!jx__rs_ok(&r)) return jx__rs_done(&r);
    memcpy(ops, x, sizeof *ops * (size_t)e->nin);
    for (int i = 0; i < n; i++) {
        ind[i] = ind[n + i] = jx__bdim_of(bdim[i] != JX_NOBATCH || bdim[n + i] != JX_NOBATCH);
        if (ind[i] == JX_NOBATCH) continue;
        ops[i] = jx__bfront(cx, e->loc, x[i], bdim[i]);
        ops[n + i] = jx__bfront(cx, e->loc, x[n + i], bdim[n + i]);
    }
    jx_fn *fns[3] = {jx__vmap_fn_rs(&r, f, ind, NULL, ob), NULL, NULL};
    if (!fns[0]) return jx__rs_done(&r);
    for (int k = 0; k < m; k++) jod[k] = jod[m + k] = jx__bdim_of(ob[k]);
    if (!(fns[1] = jx__vmap_fn_rs(&r, jv, ind, jod, NULL))) return jx__rs_done(&r);
    if (bw) {
        for (int k = 0; k < nres; k++) av[k] = jx__val_aval(x[2 * n + k]), bin[k] = bdim[2 * n + k];
        for (int k = 0; k < m; k++) av[nres + k] = jx_fn_output_aval(fns[0], k), bin[nres + k] = jx__bdim_of(ob[k]);
        if (!(fns[2] = bwd_batched(&r, bw, av, bin, ind))) return jx__rs_done(&r);
    }
    static const jx__akey keys[3] = {JX_A_FN, JX_A_JVP, JX_A_BWD};
    bind_fns(e, e->nin, ops, bw ? 3 : 2, keys, fns, y);
    for (int k = 0; k < m; k++) ydim[k] = jx__bdim_of(ob[k]);
    return jx__rs_done(&r);
}

void jx__vmap_register_custom(jx__batch_rule *t) {
    t[JX_PRIM_CUSTOM_JVP] = b_custom_jvp;
    t[JX_PRIM_CUSTOM_VJP] = b_custom_vjp;
    t[JX_PRIM_CHECKPOINT] = b_checkpoint;
    t[JX_PRIM_CUSTOM_VJP_TAN] = b_tangent;
    t[JX_PRIM_CHECKPOINT_TAN] = b_tangent;
}
