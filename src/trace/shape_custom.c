/* shape_custom.c: shape rules for user-defined derivatives and checkpointing
 * (custom_jvp_call, custom_vjp_call, checkpoint, and grad's tangent forms of the last
 * two): the operands must match the nested functions' signatures, so an IR that passes
 * typecheck needs no further checks. */
#include <stdio.h>

#include "ir.h"

/* The single function of a JX_AK_FNS attribute (n == 1), or NULL with err set. */
static const jx_fn *one_fn(int nattr, const jx__attr *attrs, jx__akey key, jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_FNS || a->n != 1 || !a->u.fns[0]) {
        jx__rule_fail(err, JX_ERR_ARG, "attribute '%s' must be one function", jx__attr_names[key]);
        return NULL;
    }
    return a->u.fns[0];
}

static jx_aval fn_in(const jx_fn *f, int i) { return f->vars[f->in[i]]; }
static jx_aval fn_out(const jx_fn *f, int i) { return jx__atom_aval(f, &f->out[i]); }

/* Checks that a list of n avals (`got`, e.g. fn jvp's inputs) equals `want` (index i of
 * got compared to want[i]); kind names the list ("input"/"output") in messages. */
static jx_status check_list(const char *who, const char *kind, int ngot, const jx_aval *got,
                            int nwant, const jx_aval *want, jx__rule_err *err) {
    if (ngot != nwant)
        return jx__rule_fail(err, JX_ERR_ARG, "%s has %d %ss, want %d", who, ngot, kind, nwant);
    for (int i = 0; i < ngot; i++)
        if (!jx_aval_equal(&got[i], &want[i]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "%s %s %d is %s, want %s", who, kind, i,
                                 jx__avs(&got[i]), jx__avs(&want[i]));
    return JX_OK;
}

/* The avals of f's inputs (outs false) or outputs (outs true), repeated `times` times,
 * into buf (room for cap); returns their count, or -1 (err set) if they do not fit. */
static int fn_avals(const jx_fn *f, bool outs, int times, jx_aval *buf, int cap, jx__rule_err *err) {
    int n = outs ? f->nout : f->nin;
    if (n * times > cap) {
        jx__rule_fail(err, JX_ERR_ARG, "too many inputs or outputs (%d)", n * times);
        return -1;
    }
    for (int r = 0; r < times; r++)
        for (int i = 0; i < n; i++) buf[r * n + i] = outs ? fn_out(f, i) : fn_in(f, i);
    return n * times;
}

#define MAXSIG 256

/* Checks nested fn g's inputs / outputs (who names it) against list[0..n). */
static jx_status check_fn_inputs(const jx_fn *g, const char *who, int n, const jx_aval *list,
                                 jx__rule_err *err) {
    jx_aval got[MAXSIG];
    int ng = fn_avals(g, false, 1, got, MAXSIG, err);
    return ng < 0 ? err->code : check_list(who, "input", ng, got, n, list, err);
}
static jx_status check_fn_outputs(const jx_fn *g, const char *who, int n, const jx_aval *list,
                                  jx__rule_err *err) {
    jx_aval got[MAXSIG];
    int ng = fn_avals(g, true, 1, got, MAXSIG, err);
    return ng < 0 ? err->code : check_list(who, "output", ng, got, n, list, err);
}

/* Operands against fn's inputs; outputs are fn's outputs. Returns fn or NULL. */
static const jx_fn *fn_call_sig(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = one_fn(nattr, attrs, JX_A_FN, err);
    if (!f) return NULL;
    char who[96];
    snprintf(who, sizeof who, "function '%s'", jx_fn_name(f));
    jx_aval want[MAXSIG];
    int nw = fn_avals(f, false, 1, want, MAXSIG, err);
    if (nw < 0) return NULL;
    if (nin != nw) {
        jx__rule_fail(err, JX_ERR_ARG, "%s takes %d inputs, got %d operands", who, nw, nin);
        return NULL;
    }
    for (int i = 0; i < nin; i++)
        if (!jx_aval_equal(&want[i], &in[i])) {
            jx__rule_fail(err, JX_ERR_SHAPE, "%s input %d is %s, operand is %s", who, i,
                          jx__avs(&want[i]), jx__avs(&in[i]));
            return NULL;
        }
    if (f->nout > maxout) {
        jx__rule_fail(err, JX_ERR_ARG, "gives %d outputs, room for %d", f->nout, maxout);
        return NULL;
    }
    for (int i = 0; i < f->nout; i++) out[i] = fn_out(f, i);
    *nout = f->nout;
    return f;
}

/* checkpoint[fn]: just fn. */
static jx_status rule_checkpoint(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return fn_call_sig(nin, in, nattr, attrs, maxout, out, nout, err) ? JX_OK : err->code;
}

/* custom_jvp_call[fn jvp]: jvp is (x..., dx...) -> (y..., dy...). */
static jx_status rule_custom_jvp(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = fn_call_sig(nin, in, nattr, attrs, maxout, out, nout, err);
    const jx_fn *j = f ? one_fn(nattr, attrs, JX_A_JVP, err) : NULL;
    if (!j) return err->code;
    jx_aval want[MAXSIG];
    int n = fn_avals(f, false, 2, want, MAXSIG, err);
    if (n < 0 || check_fn_inputs(j, "jvp function", n, want, err)) return err->code;
    n = fn_avals(f, true, 2, want, MAXSIG, err);
    if (n < 0 || check_fn_outputs(j, "jvp function", n, want, err)) return err->code;
    return JX_OK;
}

/* Checks bwd: (residuals..., ybar...) -> (xbar...), residuals being res[0..nres). */
static jx_status check_bwd(const jx_fn *f, const jx_fn *b, int nres, const jx_aval *res,
                           jx__rule_err *err) {
    jx_aval want[MAXSIG];
    if (nres + f->nout > MAXSIG) return jx__rule_fail(err, JX_ERR_ARG, "too many residuals (%d)", nres);
    for (int i = 0; i < nres; i++) want[i] = res[i];
    for (int i = 0; i < f->nout; i++) want[nres + i] = fn_out(f, i);
    if (check_fn_inputs(b, "bwd function", nres + f->nout, want, err)) return err->code;
    int n = fn_avals(f, false, 1, want, MAXSIG, err);
    if (n < 0 || check_fn_outputs(b, "bwd function", n, want, err)) return err->code;
    return JX_OK;
}

/* custom_vjp_call[fn fwd bwd]: fwd is (x...) -> (y..., residuals...), bwd is
 * (residuals..., ybar...) -> (xbar...). */
static jx_status rule_custom_vjp(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = fn_call_sig(nin, in, nattr, attrs, maxout, out, nout, err);
    const jx_fn *fw = f ? one_fn(nattr, attrs, JX_A_FWD, err) : NULL;
    const jx_fn *bw = fw ? one_fn(nattr, attrs, JX_A_BWD, err) : NULL;
    if (!bw) return err->code;
    jx_aval want[MAXSIG], got[MAXSIG];
    int n = fn_avals(f, false, 1, want, MAXSIG, err);
    if (n < 0 || check_fn_inputs(fw, "fwd function", n, want, err)) return err->code;
    int ng = fn_avals(fw, true, 1, got, MAXSIG, err);
    if (ng < 0) return err->code;
    if (ng < f->nout)
        return jx__rule_fail(err, JX_ERR_ARG, "fwd function has %d outputs, want at least %d", ng, f->nout);
    n = fn_avals(f, true, 1, want, MAXSIG, err);
    if (check_list("fwd function", "output", f->nout, got, n, want, err)) return err->code;
    return check_bwd(f, bw, ng - f->nout, got + f->nout, err);
}

/* The internal tangent primitives made by the grad rules (rules_custom.c):
 * custom_vjp_tangent[fn jvp bwd](x..., dx..., residuals...) and
 * checkpoint_tangent[fn jvp](x..., dx...): fn's jvp at x applied to dx, so fn's outputs;
 * jvp is that jvp as a function, (x..., dx...) -> (y..., dy...). */
static jx_status rule_tangent(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                              int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = one_fn(nattr, attrs, JX_A_FN, err);
    if (!f) return err->code;
    bool vjp = jx__attr_get(nattr, attrs, JX_A_BWD) != NULL;
    const jx_fn *bw = vjp ? one_fn(nattr, attrs, JX_A_BWD, err) : NULL;
    if (vjp && !bw) return err->code;
    jx_aval want[MAXSIG];
    int n = fn_avals(f, false, 2, want, MAXSIG, err);
    if (n < 0) return err->code;
    if (nin < n || (!vjp && nin != n))
        return jx__rule_fail(err, JX_ERR_ARG, "takes %s%d operands (x..., dx...%s), got %d", vjp ? "at least " : "",
                             n, vjp ? ", residuals..." : "", nin);
    if (check_list("operand list", "operand", n, in, n, want, err)) return err->code;
    /* jvp: fn's jvp, (x..., dx...) -> (y..., dy...), what the backends evaluate */
    const jx_fn *jv = one_fn(nattr, attrs, JX_A_JVP, err);
    if (!jv || check_fn_inputs(jv, "jvp function", n, want, err)) return err->code;
    jx_aval ys[MAXSIG];
    int ny = fn_avals(f, true, 2, ys, MAXSIG, err);
    if (ny < 0 || check_fn_outputs(jv, "jvp function", ny, ys, err)) return err->code;
    if (vjp && check_bwd(f, bw, nin - n, in + n, err)) return err->code;
    if (f->nout > maxout) return jx__rule_fail(err, JX_ERR_ARG, "gives %d outputs, room for %d", f->nout, maxout);
    for (int i = 0; i < f->nout; i++) out[i] = fn_out(f, i);
    *nout = f->nout;
    return JX_OK;
}

void jx__shape_register_custom(jx__shape_rule *t) {
    t[JX_PRIM_CUSTOM_VJP_TAN] = rule_tangent;
    t[JX_PRIM_CHECKPOINT_TAN] = rule_tangent;
    t[JX_PRIM_CHECKPOINT] = rule_checkpoint;
    t[JX_PRIM_CUSTOM_JVP] = rule_custom_jvp;
    t[JX_PRIM_CUSTOM_VJP] = rule_custom_vjp;
}
