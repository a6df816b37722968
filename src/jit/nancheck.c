/* nancheck.c: running a group's equations one by one with the interpreter's impl rules
 * (OPAQUE steps, and kernels the code generator declined), and the JX_DEBUG_NANS checks:
 * when a step's float output holds a NaN, its equations run again this way to name the
 * first primitive, and the user's line, that produced it. */
#include <math.h>
#include <stdlib.h>

#include "../trace/pass_util.h"
#include "plan.h"

bool jx__array_has_nan(const jx_array *a) {
    if (!a || !jx_dtype_is_float(a->aval.dtype)) return false;
    int64_t n = jx_aval_size(&a->aval);
    switch (a->aval.dtype) {
    case JX_F32: {
        const float *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if (x[i] != x[i]) return true;
        return false;
    }
    case JX_F64: {
        const double *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if (x[i] != x[i]) return true;
        return false;
    }
    case JX_F16: { /* exponent all ones, mantissa non-zero */
        const uint16_t *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if ((x[i] & 0x7c00) == 0x7c00 && (x[i] & 0x03ff)) return true;
        return false;
    }
    case JX_BF16: {
        const uint16_t *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if ((x[i] & 0x7f80) == 0x7f80 && (x[i] & 0x007f)) return true;
        return false;
    }
    default: return false;
    }
}

jx_status jx__nan_fail(const jx__eqn *e) {
    return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "produced NaN (JX_DEBUG_NANS)");
}

/* Runs equation e of f on env; its outputs replace env's entries. */
static jx_status run_eqn(const jx_fn *f, const jx__eqn *e, jx_array **env, bool check_nan) {
    const char *pname = jx__prims[e->prim].name;
    jx_array *ib[16], *tb[16], *ob[16];
    jx_aval ab[16];
    jx_array **ins = e->nin <= 16 ? ib : calloc((size_t)e->nin, sizeof *ins);
    jx_array **tmp = e->nin <= 16 ? tb : calloc((size_t)e->nin, sizeof *tmp);
    jx_array **outs = e->nout <= 16 ? ob : calloc((size_t)e->nout, sizeof *outs);
    jx_aval *oav = e->nout <= 16 ? ab : calloc((size_t)e->nout, sizeof *oav);
    jx_status st = JX_OK;
    jx__impl_rule rule = jx__impl_rules[e->prim];
    if (!ins || !tmp || !outs || !oav) st = jx__fail(JX_ERR_NOMEM, e->loc, pname, "out of memory");
    else if (!rule) st = jx__fail(JX_ERR_UNSUPPORTED, e->loc, pname, "the interpreter has no rule for this primitive");
    for (int i = 0; tmp && i < e->nin; i++) tmp[i] = NULL;
    for (int i = 0; st == JX_OK && i < e->nin; i++) {
        ins[i] = e->in[i].var >= 0 ? env[e->in[i].var] : (tmp[i] = jx__lit_array(&e->in[i]));
        if (!ins[i]) st = jx__fail(JX_ERR_INTERNAL, e->loc, pname, "operand %d unavailable", i);
    }
    for (int i = 0; outs && oav && i < e->nout; i++) {
        outs[i] = NULL;
        oav[i] = f->vars[e->out[i]];
    }
    if (st == JX_OK) st = rule(e, ins, oav, outs);
    for (int i = 0; st == JX_OK && i < e->nout; i++)
        if (!outs[i] || !jx_aval_equal(&outs[i]->aval, &oav[i]))
            st = jx__fail(JX_ERR_INTERNAL, e->loc, pname, "impl produced %s for output %d, expected %s",
                          outs[i] ? jx__avs(&outs[i]->aval) : "nothing", i, jx__avs(&oav[i]));
    for (int i = 0; outs && i < e->nout; i++) {
        if (st == JX_OK) {
            jx_array_release(env[e->out[i]]);
            env[e->out[i]] = outs[i];
        } else {
            jx_array_release(outs[i]);
        }
    }
    for (int i = 0; st == JX_OK && check_nan && i < e->nout; i++)
        if (jx__array_has_nan(env[e->out[i]])) st = jx__nan_fail(e);
    for (int i = 0; tmp && i < e->nin; i++) jx_array_release(tmp[i]);
    if (ins != ib) free(ins);
    if (tmp != tb) free(tmp);
    if (outs != ob) free(outs);
    if (oav != ab) free(oav);
    return st;
}

jx_status jx__run_eqns_interp(const jx_fn *f, const jx__group *g, jx_array **env, bool check_nan) {
    jx__impl_rules_init();
    jx_status st = JX_OK;
    for (int j = 0; j < g->neqn && st == JX_OK; j++) st = run_eqn(f, &f->eqns[g->eqns[j]], env, check_nan);
    return st;
}
