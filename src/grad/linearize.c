/* linearize.c: jx_linearize, the jvp split once into a known part that runs f and keeps
 * residuals, and a linear part that maps tangents to output tangents (jax.linearize). */
#include <stdio.h>
#include <stdlib.h>

#include "grad.h"

/* Wraps the known part of partial evaluation as (x...) -> (y..., residuals...), where the
 * residuals also carry the output tangents partial evaluation found to be known (zeros
 * of constant outputs), and the linear part as (residuals..., dx...) -> (dy...). */
jx_fn *jx_linearize_at(jx_loc loc, const jx_fn *f, jx_fn **linear) {
    if (linear) *linear = NULL;
    if (!f || !linear) return jx__fail(JX_ERR_ARG, loc, "jx_linearize", "function or output is NULL"), NULL;
    int n = f->nin, m = f->nout, nres = 0;
    jx_fn *jf = jx__jvp_fn(loc, f), *known = NULL, *lin = NULL, *kr = NULL, *lr = NULL;
    bool *ok = malloc(sizeof *ok * (size_t)(2 * m + 1));
    if (!jf || !ok || jx__partial_eval(loc, jf, n, &known, &lin, ok, &nres) != JX_OK) goto done;
    /* known's outputs: y..., known dy..., residuals...; nk known dys */
    int nk = known->nout - m - nres, nr = nres + nk;
    jx_aval *av = malloc(sizeof *av * (size_t)(nr + n + 1));
    jx_val *v = malloc(sizeof *v * (size_t)(known->nout + nr + n + m + 1));
    if (!av || !v) {
        free(av);
        free(v);
        jx__fail(JX_ERR_NOMEM, loc, "jx_linearize", "out of memory");
        goto done;
    }
    char name[256];
    snprintf(name, sizeof name, "linearize_%s", jx_fn_name(f));
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]];
    jx__trace *t = jx__trace_begin(loc, name, n, av, v, false);
    jx_val *ko = v + n;
    if (t && jx__inline_fn(loc, known, v, ko) == JX_OK) {
        /* reorder to y..., residuals..., known dy... */
        jx_val *o = ko + known->nout;
        for (int i = 0; i < m; i++) o[i] = ko[i];
        for (int i = 0; i < nres; i++) o[m + i] = ko[m + nk + i];
        for (int i = 0; i < nk; i++) o[m + nres + i] = ko[m + i];
        kr = jx__trace_end(t, m + nr, o, NULL, NULL);
    } else if (t) {
        jx__trace_end(t, 0, NULL, NULL, NULL);
    }
    for (int i = 0; kr && i < nr; i++) av[i] = jx_fn_output_aval(kr, m + i);
    for (int i = 0; kr && i < n; i++) av[nr + i] = f->vars[f->in[i]];
    snprintf(name, sizeof name, "linear_%s", jx_fn_name(f));
    t = kr ? jx__trace_begin(loc, name, nr + n, av, v, false) : NULL;
    if (t) {
        jx_val *lo = v + nr + n, *res = malloc(sizeof *res * (size_t)(nres + n + 1));
        if (!res) {
            jx__trace_abort(t);
            jx__fail(JX_ERR_NOMEM, loc, "jx_linearize", "out of memory");
        } else {
            for (int i = 0; i < nres; i++) res[i] = v[i];
            for (int i = 0; i < n; i++) res[nres + i] = v[nr + i];
            jx_val *dy = lo + lin->nout;
            if (jx__inline_fn(loc, lin, res, lo) == JX_OK) /* unknown dys, then the known ones */
                for (int i = 0, u = 0, k = 0; i < m; i++) dy[i] = ok[m + i] ? v[nres + k++] : lo[u++];
            free(res);
            lr = jx__trace_end(t, m, dy, NULL, NULL);
        }
    }
    free(av);
    free(v);
done:
    jx_fn_release(jf);
    jx_fn_release(known);
    jx_fn_release(lin);
    free(ok);
    if (!kr || !lr) {
        jx_fn_release(kr);
        jx_fn_release(lr);
        return NULL;
    }
    *linear = jx_fn_simplify(lr);
    jx_fn *k = jx_fn_simplify(kr);
    jx_fn_release(lr);
    jx_fn_release(kr);
    if (!k || !*linear) {
        jx_fn_release(k);
        jx_fn_release(*linear);
        *linear = NULL;
        return NULL;
    }
    return k;
}
