/* transpose.c: reverse mode's backward pass. Walks a linear function's equations from the
 * last to the first, turning output cotangents into operand cotangents with each
 * primitive's transpose rule and summing cotangents that meet at one variable. */
#include <stdlib.h>
#include <string.h>

#include "grad.h"

jx_status jx__transpose_inline(jx_loc loc, const jx_fn *lin, int nres, const jx_val *res,
                               const jx_val *ct, jx_val *ct_in) {
    jx__trace *t = jx__trace_top();
    if (!t) return jx__fail(JX_ERR_TRACE, loc, "transpose", "called outside of a trace");
    jx__grad_rules_init();
    size_t nv = (size_t)(lin->nvars ? lin->nvars : 1);
    jx_val *val = malloc(nv * sizeof *val); /* values of non-linear variables */
    jx_val *cts = malloc(nv * sizeof *cts);
    bool *islin = calloc(nv, sizeof *islin);
    if (!val || !cts || !islin) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "transpose", "out of memory");
        goto done;
    }
    for (size_t v = 0; v < nv; v++) val[v] = cts[v] = JX_ZERO;
    for (int i = 0; i < nres; i++) val[lin->in[i]] = res[i];
    for (int i = nres; i < lin->nin; i++) islin[lin->in[i]] = true;
    for (int k = 0; k < lin->neqn; k++) /* every equation output depends on a linear input */
        for (int i = 0; i < lin->eqns[k].nout; i++) islin[lin->eqns[k].out[i]] = true;
    for (int i = 0; i < lin->nout; i++)
        if (lin->out[i].var >= 0 && islin[lin->out[i].var])
            cts[lin->out[i].var] = jx__add_tan(loc, cts[lin->out[i].var], ct[i]);
    for (int k = lin->neqn - 1; k >= 0 && t->status == JX_OK; k--) {
        const jx__eqn *e = &lin->eqns[k];
        jx_val cb[8], xb[16], cib[16];
        jx_aval ab[16];
        bool lb[16];
        jx_val *co = e->nout <= 8 ? cb : malloc(sizeof *co * (size_t)e->nout);
        jx_val *x = e->nin <= 16 ? xb : malloc(sizeof *x * (size_t)e->nin);
        jx_val *ci = e->nin <= 16 ? cib : malloc(sizeof *ci * (size_t)e->nin);
        bool *l = e->nin <= 16 ? lb : malloc(sizeof *l * (size_t)e->nin);
        jx_aval *av = e->nin <= 16 ? ab : malloc(sizeof *av * (size_t)e->nin);
        if (!co || !x || !ci || !l || !av) {
            jx__trace_fail(t, JX_ERR_NOMEM, e->loc, "transpose", "out of memory");
        } else {
            bool any = false;
            for (int i = 0; i < e->nout; i++) {
                co[i] = cts[e->out[i]];
                any |= !jx__is_zero(co[i]);
            }
            for (int i = 0; i < e->nin; i++) {
                int32_t v = e->in[i].var;
                l[i] = v >= 0 && islin[v];
                x[i] = l[i] ? JX_ZERO : v >= 0 ? val[v] : jx__lit_val(t, e->in[i]);
                ci[i] = JX_ZERO;
                av[i] = jx__atom_aval(lin, &e->in[i]);
            }
            if (any && !jx__transpose_rules[e->prim])
                jx__trace_fail(t, JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                               "cannot be transposed (not linear, or no transpose rule yet)");
            else if (any)
                jx__transpose_rules[e->prim](e, x, av, l, co, ci);
            for (int i = 0; i < e->nin && t->status == JX_OK; i++)
                if (l[i]) cts[e->in[i].var] = jx__add_tan(e->loc, cts[e->in[i].var], ci[i]);
        }
        if (co != cb) free(co);
        if (x != xb) free(x);
        if (ci != cib) free(ci);
        if (l != lb) free(l);
        if (av != ab) free(av);
    }
    for (int i = nres; i < lin->nin && t->status == JX_OK; i++) ct_in[i - nres] = cts[lin->in[i]];
done:
    free(val);
    free(cts);
    free(islin);
    return t->status;
}
