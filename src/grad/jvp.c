/* jvp.c: forward mode. Replays a function's equations on the current trace, calling each
 * primitive's jvp rule, with symbolic zeros so untouched values cost nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad.h"

/* Per-variable primal and tangent handles while replaying f. */
typedef struct env {
    jx_val *x, *dx;
} env;

static jx_val atom_val(jx__trace *t, const env *v, const jx__atom *a) {
    return a->var >= 0 ? v->x[a->var] : jx__lit_val(t, *a);
}
static jx_val atom_tan(const env *v, const jx__atom *a) { return a->var >= 0 ? v->dx[a->var] : JX_ZERO; }

static jx_status jvp_eqn(jx__trace *t, const jx__eqn *e, env *v) {
    jx_val xb[16], dxb[16], yb[8], dyb[8];
    jx_val *x = e->nin <= 16 ? xb : malloc(sizeof *x * (size_t)e->nin);
    jx_val *dx = e->nin <= 16 ? dxb : malloc(sizeof *dx * (size_t)e->nin);
    jx_val *y = e->nout <= 8 ? yb : malloc(sizeof *y * (size_t)e->nout);
    jx_val *dy = e->nout <= 8 ? dyb : malloc(sizeof *dy * (size_t)e->nout);
    if (!x || !dx || !y || !dy) {
        jx__trace_fail(t, JX_ERR_NOMEM, e->loc, "jvp", "out of memory");
        goto done;
    }
    bool any = false;
    for (int i = 0; i < e->nin; i++) {
        x[i] = atom_val(t, v, &e->in[i]);
        dx[i] = atom_tan(v, &e->in[i]);
        any |= !jx__is_zero(dx[i]);
    }
    for (int i = 0; i < e->nout; i++) dy[i] = JX_ZERO;
    if (!any) {
        jx__rebind(e, x, y);
    } else if (!jx__jvp_rules[e->prim]) {
        jx__trace_fail(t, JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                       "cannot be differentiated yet (no jvp rule)");
    } else {
        jx__jvp_rules[e->prim](e, x, dx, y, dy);
    }
    for (int i = 0; i < e->nout && t->status == JX_OK; i++) {
        v->x[e->out[i]] = y[i];
        /* integer and bool results carry no derivative */
        v->dx[e->out[i]] = jx__differentiable(jx__val_aval(y[i]).dtype) ? dy[i] : JX_ZERO;
    }
done:
    if (x != xb) free(x);
    if (dx != dxb) free(dx);
    if (y != yb) free(y);
    if (dy != dyb) free(dy);
    return t->status;
}

jx_status jx__jvp_inline(jx_loc loc, const jx_fn *f, const jx_val *x, const jx_val *dx, jx_val *y,
                         jx_val *dy) {
    jx__trace *t = jx__trace_top();
    if (!t) return jx__fail(JX_ERR_TRACE, loc, "jvp", "called outside of a trace");
    jx__grad_rules_init();
    size_t n = (size_t)(f->nvars ? f->nvars : 1);
    env v = {calloc(n, sizeof(jx_val)), calloc(n, sizeof(jx_val))};
    if (!v.x || !v.dx) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "jvp", "out of memory");
    } else {
        for (int i = 0; i < f->nin; i++) {
            v.x[f->in[i]] = x[i];
            v.dx[f->in[i]] = jx__differentiable(f->vars[f->in[i]].dtype) ? dx[i] : JX_ZERO;
        }
        for (int k = 0; k < f->neqn && t->status == JX_OK; k++) jvp_eqn(t, &f->eqns[k], &v);
        for (int i = 0; i < f->nout && t->status == JX_OK; i++) {
            y[i] = atom_val(t, &v, &f->out[i]);
            dy[i] = atom_tan(&v, &f->out[i]);
        }
    }
    free(v.x);
    free(v.dx);
    return t->status;
}

/* f's jvp with tangents for every input, as a function (x..., dx...) -> (y..., dy...);
 * zero output tangents are materialised (they become known, constant outputs). */
jx_fn *jx__jvp_fn(jx_loc loc, const jx_fn *f) {
    int n = f->nin, m = f->nout;
    jx_aval *av = malloc(sizeof *av * (size_t)(2 * n + 1));
    jx_val *in = malloc(sizeof *in * (size_t)(2 * n + 1)), *out = malloc(sizeof *out * (size_t)(2 * m + 1));
    jx_fn *r = NULL;
    if (av && in && out) {
        for (int i = 0; i < n; i++) av[i] = av[n + i] = f->vars[f->in[i]];
        char name[256];
        snprintf(name, sizeof name, "jvp_%s", jx_fn_name(f));
        jx__trace *t = jx__trace_begin(loc, name, 2 * n, av, in, false);
        if (t && jx__jvp_inline(loc, f, in, in + n, out, out + m) == JX_OK)
            for (int i = 0; i < m; i++)
                if (jx__is_zero(out[m + i])) {
                    jx_aval a = jx_fn_output_aval(f, i);
                    out[m + i] = jx__zeros(loc, &a);
                }
        if (t) r = jx__trace_end(t, 2 * m, out, NULL, NULL);
    } else {
        jx__fail(JX_ERR_NOMEM, loc, "vjp", "out of memory");
    }
    free(av);
    free(in);
    free(out);
    return r;
}

jx_fn *jx_jvp_at(jx_loc loc, const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, "jx_jvp", "function is NULL"), NULL;
    jx_fn *raw = jx__jvp_fn(loc, f);
    if (!raw) return NULL;
    jx_fn *r = jx_fn_simplify(raw);
    jx_fn_release(raw);
    return r;
}
