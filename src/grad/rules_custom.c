/* rules_custom.c: grad rules for user-defined derivatives and checkpointing
 * (custom_jvp_call, custom_vjp_call, checkpoint).
 *
 * Design. Reverse mode is jvp, then partial evaluation, then transpose, so each rule
 * must emit primal work that partial evaluation keeps in the known part and tangent
 * work that is linear in dx and transposes to what the user asked for:
 *  - custom_jvp_call: the user's jvp fn is inlined on (x..., dx...) (zero tangents
 *    materialised); it must be linear in dx for reverse mode, as in JAX.
 *  - custom_vjp_call: fwd is inlined on x (known: y and the residuals); the tangent is
 *    custom_vjp_tangent[fn jvp bwd](x..., dx..., residuals...), a grad-internal
 *    primitive whose value is fn's own jvp (so forward mode differentiates fn, as JAX
 *    does; the rule differentiates fn once and attaches the result, `jvp`, which the
 *    backends evaluate) and whose transpose inlines bwd(residuals..., ybar...). x and the
 *    residuals are its non-linear operands.
 *  - checkpoint: the primal is checkpoint again (known); the tangent is
 *    checkpoint_tangent[fn jvp](x..., dx...), also fn's jvp, so the only residuals stored
 *    across are x. Its transpose splits fn's jvp (partial evaluation) and inlines the
 *    known part on x in the backward pass (the recomputation), then transposes the
 *    linear part with the recomputed residuals.
 * Differentiating the tangent primitives again (second order) differentiates fn's jvp:
 * correct values, but without bwd or rematerialisation at that order. */
#include <stdlib.h>

#include "grad.h"

static const jx_fn *fn_of(const jx__eqn *e, jx__akey key) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, key);
    return a && a->kind == JX_AK_FNS && a->n == 1 ? a->u.fns[0] : NULL;
}

/* The tangents dx[0..n) with zeros materialised at x's avals. */
static void materialise(jx_loc loc, int n, const jx_val *x, const jx_val *dx, jx_val *out) {
    for (int i = 0; i < n; i++) {
        jx_aval a = jx__val_aval(x[i]);
        out[i] = jx__is_zero(dx[i]) ? jx__zeros(loc, &a) : dx[i];
    }
}

/* malloc'd room for n values (at least one), or NULL with the trace's error set. */
static jx_val *vals(const jx__eqn *e, int n) {
    jx_val *v = malloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    if (!v) jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
    return v;
}

static jx_status jvp_custom_jvp(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    const jx_fn *j = fn_of(e, JX_A_JVP);
    int n = e->nin, m = e->nout;
    jx_val *in = vals(e, 2 * n), *out = vals(e, 2 * m);
    if (in && out && j) {
        for (int i = 0; i < n; i++) in[i] = x[i];
        materialise(e->loc, n, x, dx, in + n);
        if (jx__inline_fn(e->loc, j, in, out) == JX_OK)
            for (int i = 0; i < m; i++) y[i] = out[i], dy[i] = out[m + i];
    }
    free(in);
    free(out);
    return jx_trace_status();
}

/* Binds a tangent primitive on (x..., dx..., extra...) with e's fn, fn's jvp (the value
 * the primitive computes, made here once so that no backend has to differentiate fn when
 * it runs the primitive) and bwd if given. */
static void bind_tangent(const jx__eqn *e, jx_prim prim, const jx_fn *bwd, int n, const jx_val *x,
                         const jx_val *dx, int nextra, const jx_val *extra, jx_val *dy) {
    jx_val *in = vals(e, 2 * n + nextra);
    const jx_fn *f = fn_of(e, JX_A_FN);
    jx_fn *jf = in && f ? jx__jvp_fn(e->loc, f) : NULL;
    if (in && f && !jf) jx__trace_fail(jx__trace_top(), jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg());
    if (jf) {
        for (int i = 0; i < n; i++) in[i] = x[i];
        materialise(e->loc, n, x, dx, in + n);
        for (int i = 0; i < nextra; i++) in[2 * n + i] = extra[i];
        jx_fn *fp[3] = {(jx_fn *)f, jf, (jx_fn *)bwd};
        jx__attr a[3] = {jx__a_fns(JX_A_FN, 1, &fp[0]), jx__a_fns(JX_A_JVP, 1, &fp[1]), jx__a_fns(JX_A_BWD, 1, &fp[2])};
        jx__bind(e->loc, prim, 2 * n + nextra, in, bwd ? 3 : 2, a, e->nout, dy, NULL);
    }
    jx_fn_release(jf);
    free(in);
}

static jx_status jvp_custom_vjp(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    const jx_fn *fwd = fn_of(e, JX_A_FWD), *bwd = fn_of(e, JX_A_BWD);
    int n = e->nin, m = e->nout;
    if (!fwd || !bwd) return jx_trace_status();
    jx_val *out = vals(e, fwd->nout);
    if (out && jx__inline_fn(e->loc, fwd, x, out) == JX_OK) {
        for (int i = 0; i < m; i++) y[i] = out[i];
        bind_tangent(e, JX_PRIM_CUSTOM_VJP_TAN, bwd, n, x, dx, fwd->nout - m, out + m, dy);
    }
    free(out);
    return jx_trace_status();
}

static jx_status jvp_checkpoint(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) == JX_OK) bind_tangent(e, JX_PRIM_CHECKPOINT_TAN, NULL, e->nin, x, dx, 0, NULL, dy);
    return jx_trace_status();
}

/* Second order: the tangent primitives are fn's jvp (their jvp attribute);
 * differentiate that (the residual operands of custom_vjp_tangent do not enter its
 * value). */
static jx_status jvp_tangent(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    const jx_fn *jf = fn_of(e, JX_A_JVP);
    int m = e->nout;
    jx_val *yy = vals(e, 2 * m), *dyy = vals(e, 2 * m);
    if (jf && yy && dyy && jx__jvp_inline(e->loc, jf, x, dx, yy, dyy) == JX_OK)
        for (int i = 0; i < m; i++) y[i] = yy[m + i], dy[i] = dyy[m + i];
    free(yy);
    free(dyy);
    return jx_trace_status();
}

/* Only the dx operands (n..2n) of a tangent primitive may be linear. */
static bool only_dx_linear(const jx__eqn *e, int n, const bool *lin) {
    for (int i = 0; i < e->nin; i++)
        if (lin[i] && (i < n || i >= 2 * n)) {
            jx__trace_fail(jx__trace_top(), JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                           "cannot be transposed with respect to operand %d (only the tangents)", i);
            return false;
        }
    return true;
}

/* custom_vjp_tangent's transpose: xbar = bwd(residuals..., ybar...). */
static jx_status tr_custom_vjp_tan(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                   const jx_val *ct, jx_val *ct_in) {
    const jx_fn *f = fn_of(e, JX_A_FN), *bwd = fn_of(e, JX_A_BWD);
    if (!f || !bwd || !only_dx_linear(e, f->nin, lin)) return jx_trace_status();
    int n = f->nin, m = f->nout, nres = e->nin - 2 * n;
    jx_val *in = vals(e, nres + m), *xbar = vals(e, n);
    if (in && xbar) {
        for (int i = 0; i < nres; i++) in[i] = x[2 * n + i];
        for (int i = 0; i < m; i++) {
            jx_aval a = jx_fn_output_aval(f, i);
            in[nres + i] = jx__is_zero(ct[i]) ? jx__zeros(e->loc, &a) : ct[i];
        }
        if (jx__inline_fn(e->loc, bwd, in, xbar) == JX_OK)
            for (int i = 0; i < n; i++)
                if (lin[n + i]) ct_in[n + i] = xbar[i];
    }
    (void)av;
    free(in);
    free(xbar);
    return jx_trace_status();
}

/* checkpoint_tangent's transpose: recompute fn's residuals from x, then transpose the
 * linear part of fn's jvp. */
static jx_status tr_checkpoint_tan(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                   const jx_val *ct, jx_val *ct_in) {
    const jx_fn *f = fn_of(e, JX_A_FN), *jf = fn_of(e, JX_A_JVP);
    (void)av;
    if (!f || !jf || !only_dx_linear(e, f->nin, lin)) return jx_trace_status();
    jx__trace *t = jx__trace_top();
    int n = f->nin, m = f->nout, nres = 0;
    jx_fn *known = NULL, *linear = NULL;
    bool *ok = malloc(sizeof *ok * (size_t)(2 * m + 1));
    jx_val *kout = NULL, *cl = vals(e, m), *cx = vals(e, n);
    if (!jf || !ok || jx__partial_eval(e->loc, jf, n, &known, &linear, ok, &nres) != JX_OK) {
        if (!ok) jx__trace_fail(t, JX_ERR_NOMEM, e->loc, "checkpoint", "out of memory");
        else jx__trace_fail(t, jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg());
        goto done;
    }
    kout = vals(e, known->nout);
    if (!kout || !cl || !cx || jx__inline_fn(e->loc, known, x, kout) != JX_OK) goto done;
    /* linear's outputs are the unknown dys, in order (the primal outputs are known) */
    int j = 0;
    for (int i = 0; i < m; i++)
        if (!ok[m + i]) cl[j++] = ct[i];
    if (jx__transpose_inline(e->loc, linear, nres, kout + known->nout - nres, cl, cx) == JX_OK)
        for (int i = 0; i < n; i++)
            if (lin[n + i]) ct_in[n + i] = cx[i];
done:
    jx_fn_release(known);
    jx_fn_release(linear);
    free(ok);
    free(kout);
    free(cl);
    free(cx);
    return jx_trace_status();
}

void jx__grad_register_custom(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_CUSTOM_JVP] = jvp_custom_jvp;
    jvp[JX_PRIM_CUSTOM_VJP] = jvp_custom_vjp;
    jvp[JX_PRIM_CHECKPOINT] = jvp_checkpoint;
    jvp[JX_PRIM_CUSTOM_VJP_TAN] = jvp_tangent;
    jvp[JX_PRIM_CHECKPOINT_TAN] = jvp_tangent;
    tr[JX_PRIM_CUSTOM_VJP_TAN] = tr_custom_vjp_tan;
    tr[JX_PRIM_CHECKPOINT_TAN] = tr_checkpoint_tan;
}
