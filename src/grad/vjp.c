/* vjp.c: reverse mode the JAX way (jvp, partial evaluation, transpose) and the entry
 * points built on it: jx_vjp, jx_grad, jx_value_and_grad. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad.h"

/* Emits f's vjp on the current trace: y = f(x), xbar = J^T ybar (JX_ZERO where zero;
 * ybar may hold JX_ZERO too). */
static jx_status vjp_inline(jx_loc loc, const jx_fn *f, const jx_val *x, const jx_val *ybar, jx_val *y,
                            jx_val *xbar) {
    jx__trace *t = jx__trace_top();
    int n = f->nin, m = f->nout;
    jx_fn *jf = jx__jvp_fn(loc, f), *known = NULL, *lin = NULL;
    bool *ok = malloc(sizeof *ok * (size_t)(2 * m + 1));
    int nres = 0;
    jx_val *kout = NULL, *ct = NULL;
    if (!jf || !ok) {
        jx__trace_fail(t, jf ? JX_ERR_NOMEM : jx_errcode(), jx__noloc, NULL, "%s", jf ? "out of memory" : jx_errmsg());
        goto done;
    }
    if (jx__partial_eval(loc, jf, n, &known, &lin, ok, &nres) != JX_OK) {
        jx__trace_fail(t, jx_errcode(), jx__noloc, NULL, "%s", jx_errmsg());
        goto done;
    }
    kout = malloc(sizeof *kout * (size_t)(known->nout + 1));
    ct = malloc(sizeof *ct * (size_t)(lin->nout + 1));
    if (!kout || !ct || jx__inline_fn(loc, known, x, kout) != JX_OK) {
        if (!kout || !ct) jx__trace_fail(t, JX_ERR_NOMEM, loc, "vjp", "out of memory");
        goto done;
    }
    int nko = known->nout - nres, j = 0;
    for (int i = 0; i < m; i++)
        if (!ok[i]) { /* a jvp rule mixed primal and tangent work in one equation */
            jx__trace_fail(t, JX_ERR_INTERNAL, loc, "vjp", "output %d of '%s' depends on tangents", i, jx_fn_name(f));
            goto done;
        }
    for (int i = 0; i < m; i++) y[i] = kout[i];
    for (int i = m; i < 2 * m; i++)
        if (!ok[i]) ct[j++] = jx__differentiable(jx_fn_output_aval(f, i - m).dtype) ? ybar[i - m] : JX_ZERO;
    jx__transpose_inline(loc, lin, nres, kout + nko, ct, xbar);
done:
    jx_fn_release(jf);
    jx_fn_release(known);
    jx_fn_release(lin);
    free(ok);
    free(kout);
    free(ct);
    return t->status;
}

static void fn_name(char *buf, size_t n, const char *prefix, const jx_fn *f) {
    snprintf(buf, n, "%s_%s", prefix, jx_fn_name(f));
}

/* Ends trace t with outputs out and returns the simplified function. */
static jx_fn *finish(jx__trace *t, int nout, const jx_val *out) {
    jx_fn *raw = jx__trace_end(t, nout, out, NULL, NULL);
    if (!raw) return NULL;
    jx_fn *r = jx_fn_simplify(raw);
    jx_fn_release(raw);
    return r;
}

jx_fn *jx_vjp_at(jx_loc loc, const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, "jx_vjp", "function is NULL"), NULL;
    int n = f->nin, m = f->nout;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + m + 1));
    jx_val *in = malloc(sizeof *in * (size_t)(n + m + 1)), *out = malloc(sizeof *out * (size_t)(n + m + 1));
    jx_fn *r = NULL;
    char name[256];
    fn_name(name, sizeof name, "vjp", f);
    if (!av || !in || !out) {
        jx__fail(JX_ERR_NOMEM, loc, "jx_vjp", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]];
    for (int i = 0; i < m; i++) av[n + i] = jx_fn_output_aval(f, i);
    jx__trace *t = jx__trace_begin(loc, name, n + m, av, in, false);
    if (!t) goto done;
    if (vjp_inline(loc, f, in, in + n, out, out + m) == JX_OK)
        for (int i = 0; i < n; i++)
            if (jx__is_zero(out[m + i])) out[m + i] = jx__zeros(loc, &av[i]);
    r = finish(t, m + n, out);
done:
    free(av);
    free(in);
    free(out);
    return r;
}

/* grad and value_and_grad: outputs (grads...) or (y..., grads...). */
static jx_fn *grad_common(jx_loc loc, const char *what, const jx_fn *f, jx_ints argnums, bool with_value) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, what, "function is NULL"), NULL;
    int64_t zero = 0;
    if (argnums.n == 0) argnums = (jx_ints){&zero, 1};
    if (argnums.n < 0 || !argnums.v) return jx__fail(JX_ERR_ARG, loc, what, "argnums is NULL"), NULL;
    if (f->nout < 1) return jx__fail(JX_ERR_ARG, loc, what, "'%s' has no outputs", jx_fn_name(f)), NULL;
    jx_aval y0 = jx_fn_output_aval(f, 0);
    if (y0.rank != 0 || !jx__differentiable(y0.dtype))
        return jx__fail(JX_ERR_SHAPE, loc, what, "output 0 of '%s' is %s: it must be a f32 or f64 scalar", jx_fn_name(f),
                        jx__avs(&y0)),
               NULL;
    for (int i = 0; i < argnums.n; i++) {
        int64_t a = argnums.v[i];
        if (a < 0 || a >= f->nin)
            return jx__fail(JX_ERR_ARG, loc, what, "argnum %lld is out of range: '%s' has %d inputs", (long long)a,
                            jx_fn_name(f), f->nin),
                   NULL;
        jx_aval ai = f->vars[f->in[a]];
        if (!jx__differentiable(ai.dtype))
            return jx__fail(JX_ERR_DTYPE, loc, what, "input %lld of '%s' is %s: only f32 and f64 inputs can be differentiated",
                            (long long)a, jx_fn_name(f), jx__avs(&ai)),
                   NULL;
    }
    int n = f->nin, m = f->nout, k = argnums.n;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    jx_val *in = malloc(sizeof *in * (size_t)(n + 1)), *y = malloc(sizeof *y * (size_t)(m + 1));
    jx_val *ybar = malloc(sizeof *ybar * (size_t)(m + 1)), *xbar = malloc(sizeof *xbar * (size_t)(n + 1));
    jx_val *out = malloc(sizeof *out * (size_t)(m + k + 1));
    jx_fn *r = NULL;
    char name[256];
    fn_name(name, sizeof name, with_value ? "value_and_grad" : "grad", f);
    if (!av || !in || !y || !ybar || !xbar || !out) {
        jx__fail(JX_ERR_NOMEM, loc, what, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]];
    jx__trace *t = jx__trace_begin(loc, name, n, av, in, false);
    if (!t) goto done;
    ybar[0] = jx_scalar_at(loc, y0.dtype, 1.0);
    for (int i = 1; i < m; i++) ybar[i] = JX_ZERO; /* auxiliary outputs */
    int no = 0;
    if (vjp_inline(loc, f, in, ybar, y, xbar) == JX_OK) {
        if (with_value)
            for (int i = 0; i < m; i++) out[no++] = y[i];
        for (int i = 0; i < k; i++) {
            int64_t a = argnums.v[i];
            out[no++] = jx__is_zero(xbar[a]) ? jx__zeros(loc, &av[a]) : xbar[a];
        }
    }
    r = finish(t, with_value ? m + k : k, out);
done:
    free(av);
    free(in);
    free(y);
    free(ybar);
    free(xbar);
    free(out);
    return r;
}

jx_fn *jx_grad_at(jx_loc loc, const jx_fn *f, jx_ints argnums) {
    return grad_common(loc, "grad", f, argnums, false);
}

jx_fn *jx_value_and_grad_at(jx_loc loc, const jx_fn *f, jx_ints argnums) {
    return grad_common(loc, "value_and_grad", f, argnums, true);
}
