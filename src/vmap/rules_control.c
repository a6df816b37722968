/* rules_control.c: batch rules of the control primitives (call, cond, while, scan).
 * Their nested functions are batched with jx__vmap_fn, so the loop or branch stays one
 * equation of the batched IR (never a loop of calls):
 *  - call: a call of the batched callee.
 *  - cond: with an unbatched index, a cond of the batched branches (all branches agree
 *    on which outputs are batched); with a batched index, every branch runs batched and
 *    a select per branch picks each lane's result (side-effect free, so this is right).
 *  - while: which carries are batched is found by iterating to a fixed point (the body
 *    may make an unbatched carry batched). An unbatched predicate gives a while of the
 *    batched body; a batched one batches every carry, loops while any lane runs, and
 *    keeps the old carry in the lanes that have finished.
 *  - scan: the same fixed point on carries; xs keep their mapped axis behind the scanned
 *    axis 0, and the ys come out mapped at axis 1. */
#include <string.h>

#include "vmap.h"
#include "rule_scratch.h"

/* ------------------------------------------------------------------ scratch */

/* The rule's trace, location and arena (see rule_scratch.h). */
typedef jx__rs ctx;


/* Binds e's primitive again on ops with e's attributes, except that each function
 * attribute keys[k] becomes the nfns[k] functions fns[k]. */
static void rebind_fns(ctx *c, const jx__eqn *e, int nin, const jx_val *ops, int nkeys, const jx__akey *keys,
                       jx_fn *const *const *fns, const int *nfns, jx_val *y) {
    jx__attr *at = JX_RS_NEW(c, jx__attr, e->nattr);
    if (!jx__rs_ok(c)) return;
    memcpy(at, e->attrs, sizeof *at * (size_t)e->nattr);
    for (int a = 0; a < e->nattr; a++)
        for (int k = 0; k < nkeys; k++)
            if (at[a].key == keys[k]) at[a] = jx__a_fns(keys[k], nfns[k], fns[k]);
    jx__bind(e->loc, (jx_prim)e->prim, nin, ops, e->nattr, at, e->nout, y, NULL);
}

/* The same with a single function attribute replaced by one function. */
static void rebind_fn(ctx *c, const jx__eqn *e, int nin, const jx_val *ops, jx__akey key, jx_fn *f, jx_val *y) {
    jx_fn *const *fp = &f;
    int one = 1;
    rebind_fns(c, e, nin, ops, 1, &key, &fp, &one, y);
}

/* pred (bool [size], mapped at 0) broadcast over like (mapped at 0), for a select. */
static jx_val lane_pred(jx_loc loc, jx_val pred, jx_val like) {
    jx_aval a = jx__val_aval(like);
    if (a.rank <= 1) return pred;
    return jx_broadcast_in_dim_at(loc, pred, (jx_ints){a.shape, a.rank}, JX_INTS(0));
}

/* ------------------------------------------------------------------ call */

static jx_status b_call(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                        int *ydim) {
    ctx c;
    jx__rs_init(&c, e, "vmap", cx);
    bool *ob = JX_RS_NEW(&c, bool, e->nout);
    jx_fn *g = jx__vmap_fn_rs(&c, jx__eqn_fn(e, JX_A_FN, 0), bdim, NULL, ob);
    if (g) {
        rebind_fn(&c, e, e->nin, x, JX_A_FN, g, y);
        for (int j = 0; j < e->nout; j++) ydim[j] = jx__bdim_of(ob[j]);
    }
    return jx__rs_done(&c);
}

/* ------------------------------------------------------------------ cond */

/* An unbatched index: a cond of the batched branches; an output is batched (at 0) in
 * every branch where it is in any. */
static void cond_same_index(ctx *c, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, int *ydim) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    int nb = a->n, m = e->nout;
    bool *ob = JX_RS_NEW(c, bool, nb * m), *ub = JX_RS_NEW(c, bool, m);
    int *od = JX_RS_NEW(c, int, m);
    jx_fn **fns = JX_RS_NEW(c, jx_fn *, nb);
    for (int b = 0; b < nb && jx__rs_ok(c); b++) fns[b] = jx__vmap_fn_rs(c, a->u.fns[b], bdim + 1, NULL, ob + b * m);
    if (!jx__rs_ok(c)) return;
    for (int j = 0; j < m; j++) {
        ub[j] = false;
        for (int b = 0; b < nb; b++) ub[j] |= ob[b * m + j];
        od[j] = jx__bdim_of(ub[j]);
    }
    for (int b = 0; b < nb && jx__rs_ok(c); b++)
        if (!jx__bools_same(m, ob + b * m, ub)) fns[b] = jx__vmap_fn_rs(c, a->u.fns[b], bdim + 1, od, NULL);
    if (!jx__rs_ok(c)) return;
    jx__akey key = JX_A_BRANCHES;
    jx_fn *const *fp = fns;
    rebind_fns(c, e, e->nin, x, 1, &key, &fp, &nb, y);
    memcpy(ydim, od, sizeof *od * (size_t)m);
}

/* A batched index: every branch batched, then each lane's result picked by a select per
 * branch (index clamped as cond clamps it; a bool index picks branch 1 when true). */
static void cond_per_lane(ctx *c, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, int *ydim) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    int nb = a->n, m = e->nout;
    jx_val *outs = JX_RS_NEW(c, jx_val, nb * m), *pred = JX_RS_NEW(c, jx_val, nb);
    int *od = JX_RS_NEW(c, int, nb * m);
    for (int b = 0; b < nb && jx__rs_ok(c); b++) jx__vmap_inline(c->cx, a->u.fns[b], x + 1, bdim + 1, outs + b * m, od + b * m);
    if (!jx__rs_ok(c)) return;
    if (nb == 1) {
        memcpy(y, outs, sizeof *y * (size_t)m);
        memcpy(ydim, od, sizeof *od * (size_t)m);
        return;
    }
    jx_val idx = jx__bfront(c->cx, c->loc, x[0], bdim[0]);
    if (jx__val_aval(idx).dtype == JX_BOOL) {
        pred[1] = idx;
    } else {
        idx = jx_max_at(c->loc, idx, jx_scalar_like_at(c->loc, idx, 0));
        idx = jx_min_at(c->loc, idx, jx_scalar_like_at(c->loc, idx, nb - 1));
        for (int b = 1; b < nb; b++) pred[b] = jx_eq_at(c->loc, idx, jx_scalar_like_at(c->loc, idx, b));
    }
    for (int j = 0; j < m && jx__rs_ok(c); j++) {
        jx_val r = jx__bfront(c->cx, c->loc, outs[j], od[j]);
        for (int b = 1; b < nb; b++) {
            jx_val v = jx__bfront(c->cx, c->loc, outs[b * m + j], od[b * m + j]);
            r = jx_select_at(c->loc, lane_pred(c->loc, pred[b], v), v, r);
        }
        y[j] = r;
        ydim[j] = 0;
    }
}

static jx_status b_cond(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                        int *ydim) {
    ctx c;
    jx__rs_init(&c, e, "vmap", cx);
    if (bdim[0] == JX_NOBATCH) cond_same_index(&c, e, x, bdim, y, ydim);
    else cond_per_lane(&c, e, x, bdim, y, ydim);
    return jx__rs_done(&c);
}

/* ------------------------------------------------------------------ loops */

/* Which carries (the first nc inputs and outputs of body) are batched: those batched
 * on entry, then any the body makes batched, until nothing changes. ind receives the
 * body's input dims (carries at 0 where batched, the rest as bdim[nc..n)), ob which of
 * the body's outputs come out batched then. Returns body batched on ind (outputs at 0
 * where batched) or NULL. */
static jx_fn *carry_fixed_point(ctx *c, const jx_fn *body, int nc, bool *cb, int *ind, bool *ob) {
    jx_fn *g = NULL;
    for (bool again = true; again && jx__rs_ok(c);) {
        again = false;
        for (int i = 0; i < nc; i++) ind[i] = jx__bdim_of(cb[i]);
        if (!(g = jx__vmap_fn_rs(c, body, ind, NULL, ob))) return NULL;
        for (int i = 0; i < nc; i++)
            if (ob[i] && !cb[i]) cb[i] = again = true;
    }
    return g;
}

/* ------------------------------------------------------------------ while */

/* The batched loop of a batched predicate: cond is "any lane still runs"; the body
 * steps every lane and keeps the old carry where the lane's predicate is false. All
 * carries are mapped at 0 (ind[0..nc) are 0); the consts keep their dims ind[nc..n). */
static void while_lanes(ctx *c, const jx__eqn *e, const jx_val *ops, const int *ind, jx_fn **fns) {
    const jx_fn *C = jx__eqn_fn(e, JX_A_COND, 0), *B = jx__eqn_fn(e, JX_A_BODY, 0);
    int n = e->nin, nc = e->nout, pd = JX_NOBATCH;
    jx_aval *av = JX_RS_NEW(c, jx_aval, n);
    jx_val *in = JX_RS_NEW(c, jx_val, n), *step = JX_RS_NEW(c, jx_val, nc), *out = JX_RS_NEW(c, jx_val, nc);
    int *sd = JX_RS_NEW(c, int, nc);
    if (!jx__rs_ok(c)) return;
    for (int i = 0; i < n; i++) av[i] = jx__val_aval(ops[i]);
    for (int f = 0; f < 2 && jx__rs_ok(c); f++) {
        jx__trace *t = jx__rs_begin(c, f ? "while_lanes_body" : "while_lanes_cond", n, av, in);
        if (!t) return;
        jx_val p;
        if (jx__vmap_inline(c->cx, C, in, ind, &p, &pd) == JX_OK) {
            p = jx__bfront(c->cx, c->loc, p, pd);
            if (!f) {
                out[0] = jx_reduce_max_at(c->loc, p, JX_INTS(0));
            } else if (jx__vmap_inline(c->cx, B, in, ind, step, sd) == JX_OK) {
                for (int i = 0; i < nc; i++) {
                    jx_val s = jx__bfront(c->cx, c->loc, step[i], sd[i]);
                    out[i] = jx_select_at(c->loc, lane_pred(c->loc, p, s), s, in[i]);
                }
            }
        }
        fns[f] = jx__rs_end(c, t, f ? nc : 1, out);
    }
}

static jx_status b_while(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                         int *ydim) {
    ctx c;
    jx__rs_init(&c, e, "vmap", cx);
    const jx_fn *C = jx__eqn_fn(e, JX_A_COND, 0), *B = jx__eqn_fn(e, JX_A_BODY, 0);
    int n = e->nin, nc = e->nout;
    bool *cb = JX_RS_NEW(&c, bool, nc), *ob = JX_RS_NEW(&c, bool, nc), pb = false;
    int *ind = JX_RS_NEW(&c, int, n), *od = JX_RS_NEW(&c, int, nc);
    jx_val *ops = JX_RS_NEW(&c, jx_val, n);
    jx_fn *fns[2] = {NULL, NULL};
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < n; i++) ind[i] = bdim[i];
    for (int i = 0; i < nc; i++) cb[i] = bdim[i] != JX_NOBATCH;
    fns[1] = carry_fixed_point(&c, B, nc, cb, ind, ob);
    fns[0] = fns[1] ? jx__vmap_fn_rs(&c, C, ind, NULL, &pb) : NULL;
    if (!fns[0]) return jx__rs_done(&c);
    if (pb)
        for (int i = 0; i < nc; i++) cb[i] = true, ind[i] = 0;
    for (int i = 0; i < n; i++) ops[i] = i < nc && cb[i] ? jx__bfront(cx, e->loc, x[i], bdim[i]) : x[i];
    for (int i = 0; i < nc; i++) od[i] = jx__bdim_of(cb[i]);
    if (pb) while_lanes(&c, e, ops, ind, fns);
    else if (!jx__bools_same(nc, ob, cb)) fns[1] = jx__vmap_fn_rs(&c, B, ind, od, NULL);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    static const jx__akey keys[2] = {JX_A_COND, JX_A_BODY};
    jx_fn *const *fp[2] = {&fns[0], &fns[1]};
    static const int ones[2] = {1, 1};
    rebind_fns(&c, e, n, ops, 2, keys, fp, ones, y);
    memcpy(ydim, od, sizeof *od * (size_t)nc);
    return jx__rs_done(&c);
}

/* ------------------------------------------------------------------ scan */

static jx_status b_scan(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                        int *ydim) {
    ctx c;
    jx__rs_init(&c, e, "vmap", cx);
    const jx_fn *B = jx__eqn_fn(e, JX_A_BODY, 0);
    int n = e->nin, m = e->nout;
    int nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    int nk = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, 0), nx = n - nc - nk;
    bool *cb = JX_RS_NEW(&c, bool, nc), *ob = JX_RS_NEW(&c, bool, m);
    int *ind = JX_RS_NEW(&c, int, n), *od = JX_RS_NEW(&c, int, m);
    jx_val *ops = JX_RS_NEW(&c, jx_val, n);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < nc; i++) cb[i] = bdim[i] != JX_NOBATCH;
    for (int i = nc; i < n; i++) {
        ops[i] = x[i];
        ind[i] = bdim[i];
        if (i >= nc + nx || bdim[i] == JX_NOBATCH) continue;
        /* axis 0 of an x is the scanned one: its step sees the mapped axis one lower */
        if (bdim[i] == 0) ops[i] = jx__bmove(cx, e->loc, x[i], 0, 1);
        ind[i] = bdim[i] == 0 ? 0 : bdim[i] - 1;
    }
    jx_fn *g = carry_fixed_point(&c, B, nc, cb, ind, ob);
    if (!g) return jx__rs_done(&c);
    for (int i = 0; i < nc; i++) ops[i] = cb[i] ? jx__bfront(cx, e->loc, x[i], bdim[i]) : x[i];
    for (int j = 0; j < m; j++) od[j] = jx__bdim_of(j < nc ? cb[j] : ob[j]);
    if (!jx__bools_same(nc, ob, cb)) g = jx__vmap_fn_rs(&c, B, ind, od, NULL);
    if (g) {
        rebind_fn(&c, e, n, ops, JX_A_BODY, g, y);
        for (int j = 0; j < m; j++) ydim[j] = j < nc || od[j] == JX_NOBATCH ? od[j] : 1; /* ys: stacked in front */
    }
    return jx__rs_done(&c);
}

void jx__vmap_register_control(jx__batch_rule *t) {
    t[JX_PRIM_CALL] = b_call;
    t[JX_PRIM_COND] = b_cond;
    t[JX_PRIM_WHILE] = b_while;
    t[JX_PRIM_SCAN] = b_scan;
}
