/* partial_eval.c: splits a jvp'd function into the part computable from the primal
 * inputs (known) and the part that depends on the tangents (linear), with the known
 * values the linear part reads passed across as residuals. */
#include <stdlib.h>
#include <string.h>

#include "grad.h"

/* Replays the equations with keep[k] on trace t; env maps f's variables to handles. */
static jx_status replay(jx__trace *t, const jx_fn *f, const bool *keep, jx_val *env) {
    jx_val ib[16], ob[8];
    for (int k = 0; k < f->neqn && t->status == JX_OK; k++) {
        if (!keep[k]) continue;
        const jx__eqn *e = &f->eqns[k];
        jx_val *x = e->nin <= 16 ? ib : malloc(sizeof *x * (size_t)e->nin);
        jx_val *y = e->nout <= 8 ? ob : malloc(sizeof *y * (size_t)e->nout);
        if (x && y) {
            for (int i = 0; i < e->nin; i++)
                x[i] = e->in[i].var >= 0 ? env[e->in[i].var] : jx__lit_val(t, e->in[i]);
            if (jx__rebind(e, x, y) == JX_OK)
                for (int i = 0; i < e->nout; i++) env[e->out[i]] = y[i];
        } else {
            jx__trace_fail(t, JX_ERR_NOMEM, e->loc, "partial_eval", "out of memory");
        }
        if (x != ib) free(x);
        if (y != ob) free(y);
    }
    return t->status;
}

jx_status jx__partial_eval(jx_loc loc, const jx_fn *f, int nknown, jx_fn **known, jx_fn **linear,
                           bool *out_known, int *nres) {
    *known = *linear = NULL;
    *nres = 0;
    size_t nv = (size_t)(f->nvars ? f->nvars : 1), ne = (size_t)(f->neqn ? f->neqn : 1);
    bool *unk = calloc(nv, sizeof *unk), *eunk = calloc(ne, sizeof *eunk), *ekeep = calloc(ne, sizeof *ekeep);
    bool *isres = calloc(nv, sizeof *isres);
    int32_t *res = malloc(nv * sizeof *res);
    jx_val *env = calloc(nv, sizeof *env);
    jx_aval *av = calloc(nv + (size_t)f->nin, sizeof *av);
    jx_val *vals = malloc((nv + (size_t)f->nin + (size_t)f->nout) * sizeof *vals);
    jx_status st = JX_OK;
    if (!unk || !eunk || !ekeep || !isres || !res || !env || !av || !vals) {
        st = jx__fail(JX_ERR_NOMEM, loc, "partial_eval", "out of memory");
        goto done;
    }
    for (int i = nknown; i < f->nin; i++) unk[f->in[i]] = true;
    int nr = 0;
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        for (int i = 0; i < e->nin; i++) eunk[k] |= e->in[i].var >= 0 && unk[e->in[i].var];
        ekeep[k] = !eunk[k];
        for (int i = 0; i < e->nout; i++) unk[e->out[i]] = eunk[k];
        if (!eunk[k]) continue;
        for (int i = 0; i < e->nin; i++) { /* known values the linear part reads */
            int32_t v = e->in[i].var;
            if (v >= 0 && !unk[v] && !isres[v]) isres[v] = true, res[nr++] = v;
        }
    }
    int nko = 0;
    for (int i = 0; i < f->nout; i++) {
        out_known[i] = f->out[i].var < 0 || !unk[f->out[i].var];
        nko += out_known[i];
    }
    /* known: (known inputs...) -> (known outputs..., residuals...) */
    for (int i = 0; i < nknown; i++) av[i] = f->vars[f->in[i]];
    jx__trace *t = jx__trace_begin(loc, "known", nknown, av, vals, false);
    if (!t) {
        st = jx_errcode();
        goto done;
    }
    for (int i = 0; i < nknown; i++) env[f->in[i]] = vals[i];
    replay(t, f, ekeep, env);
    int j = 0;
    for (int i = 0; i < f->nout && t->status == JX_OK; i++)
        if (out_known[i]) vals[j++] = f->out[i].var >= 0 ? env[f->out[i].var] : jx__lit_val(t, f->out[i]);
    for (int r = 0; r < nr && t->status == JX_OK; r++) vals[j++] = env[res[r]];
    *known = jx__trace_end(t, nko + nr, vals, NULL, NULL);
    if (!*known) {
        st = jx_errcode();
        goto done;
    }
    /* linear: (residuals..., unknown inputs...) -> (unknown outputs...) */
    int nu = f->nin - nknown;
    for (int r = 0; r < nr; r++) av[r] = f->vars[res[r]];
    for (int i = 0; i < nu; i++) av[nr + i] = f->vars[f->in[nknown + i]];
    t = jx__trace_begin(loc, "linear", nr + nu, av, vals, false);
    if (!t) {
        st = jx_errcode();
        jx_fn_release(*known);
        *known = NULL;
        goto done;
    }
    for (int r = 0; r < nr; r++) env[res[r]] = vals[r];
    for (int i = 0; i < nu; i++) env[f->in[nknown + i]] = vals[nr + i];
    replay(t, f, eunk, env);
    j = 0;
    for (int i = 0; i < f->nout && t->status == JX_OK; i++)
        if (!out_known[i]) vals[j++] = env[f->out[i].var];
    *linear = jx__trace_end(t, j, vals, NULL, NULL);
    if (!*linear) {
        st = jx_errcode();
        jx_fn_release(*known);
        *known = NULL;
        goto done;
    }
    *nres = nr;
done:
    free(unk);
    free(eunk);
    free(ekeep);
    free(isres);
    free(res);
    free(env);
    free(av);
    free(vals);
    return st;
}
