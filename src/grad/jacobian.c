/* jacobian.c: jx_jacfwd, jx_jacrev and jx_hessian, built as a scan over basis vectors so
 * the IR stays the same size whatever the input size (until vmap replaces the scan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "grad.h"

/* What one scan step needs: the linear part of f's jvp, (residuals..., dx) -> (dy0), the
 * residual values (computed once, outside the scan), and the avals of a basis vector and
 * of a step's result. */
typedef struct jac_ctx {
    jx_loc loc;
    const jx_fn *lin;
    const jx_val *res;
    int nres;
    int64_t k;         /* basis size */
    jx_dtype idx;      /* the step index dtype: i32 unless k needs more */
    jx_aval basis, y; /* a basis vector's aval (dtype and shape it is reshaped to); a step's result */
} jac_ctx;

/* Basis vector number i (an integer scalar) of size k, reshaped to c->basis: one-hot built from
 * iota, so only O(k) memory and O(1) equations. */
static jx_val basis_vec(const jac_ctx *c, jx_val i) {
    jx_val hot = jx_eq_at(c->loc, jx_iota_at(c->loc, c->idx, (jx_ints){&c->k, 1}, 0), i);
    jx_val v = jx_convert_at(c->loc, hot, c->basis.dtype);
    return jx_reshape_at(c->loc, v, (jx_ints){c->basis.shape, c->basis.rank});
}

static jx_val *alloc_vals(int n) { return malloc(sizeof(jx_val) * (size_t)(n + 1)); }

/* Forward mode step: dy0 for the basis vector in[0] of the input, by the linear part. */
static void fwd_step(jx_val *out, const jx_val *in, void *user) {
    const jac_ctx *c = user;
    jx_val *args = alloc_vals(c->nres + 1), dy = JX_NONE;
    out[0] = in[0]; /* replaced below; keeps the output valid if something fails */
    if (!args) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, c->loc, "jacfwd", "out of memory");
    } else {
        for (int i = 0; i < c->nres; i++) args[i] = c->res[i];
        args[c->nres] = basis_vec(c, in[0]);
        if (jx__inline_fn(c->loc, c->lin, args, &dy) == JX_OK) out[0] = dy;
    }
    free(args);
}

/* Reverse mode step: the input cotangent for basis vector in[0] of output 0, by
 * transposing the linear part. */
static void rev_step(jx_val *out, const jx_val *in, void *user) {
    const jac_ctx *c = user;
    jx_val ct = basis_vec(c, in[0]), xbar = JX_ZERO;
    out[0] = in[0];
    if (jx__transpose_inline(c->loc, c->lin, c->nres, c->res, &ct, &xbar) == JX_OK)
        out[0] = jx__is_zero(xbar) ? jx__zeros(c->loc, &c->y) : xbar;
}

/* f's jvp with a tangent for input argnum only, giving d out[0], split by partial
 * evaluation: known (x...) -> (residuals...) [or (dy0, residuals...) when dy0 is a known
 * zero] and lin (residuals..., dx) -> (dy0). Both once, so that the primal work happens
 * outside the scan over basis vectors. */
static jx_status split(jx_loc loc, const jx_fn *f, int argnum, jx_fn **known, jx_fn **lin, bool *dy0_known,
                       int *nres) {
    int n = f->nin, m = f->nout;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 2));
    jx_val *in = alloc_vals(n + 1), *dx = alloc_vals(n), *y = alloc_vals(m), *dy = alloc_vals(m);
    jx_fn *jf = NULL;
    jx_status st = JX_ERR_NOMEM;
    *known = *lin = NULL;
    if (!av || !in || !dx || !y || !dy) {
        jx__fail(JX_ERR_NOMEM, loc, "jacobian", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]], dx[i] = JX_ZERO;
    av[n] = av[argnum];
    char name[256];
    snprintf(name, sizeof name, "jvp_%s", jx_fn_name(f));
    jx__trace *t = jx__trace_begin(loc, name, n + 1, av, in, false);
    if (!t) {
        st = jx_errcode();
        goto done;
    }
    dx[argnum] = in[n];
    jx_val d0 = JX_NONE;
    if (jx__jvp_inline(loc, f, in, dx, y, dy) == JX_OK) {
        jx_aval a = jx_fn_output_aval(f, 0);
        d0 = jx__is_zero(dy[0]) ? jx__zeros(loc, &a) : dy[0];
    }
    jf = jx__trace_end(t, 1, &d0, NULL, NULL);
    st = jf ? jx__partial_eval(loc, jf, n, known, lin, dy0_known, nres) : jx_errcode();
done:
    jx_fn_release(jf);
    free(av);
    free(in);
    free(dx);
    free(y);
    free(dy);
    return st;
}

/* Checks f, argnum, and the dtypes of input argnum and output 0; on failure sets the
 * thread error naming the transformation and returns false. */
static bool check_args(jx_loc loc, const char *what, const jx_fn *f, int argnum) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, what, "function is NULL"), false;
    if (argnum < 0 || argnum >= f->nin)
        return jx__fail(JX_ERR_ARG, loc, what, "argnum %d is out of range: '%s' has %d inputs", argnum,
                        jx_fn_name(f), f->nin),
               false;
    if (f->nout < 1) return jx__fail(JX_ERR_ARG, loc, what, "'%s' has no outputs", jx_fn_name(f)), false;
    jx_aval a = f->vars[f->in[argnum]], y = jx_fn_output_aval(f, 0);
    if (!jx__differentiable(a.dtype))
        return jx__fail(JX_ERR_DTYPE, loc, what, "input %d of '%s' is %s: only f32 and f64 inputs can be differentiated",
                        argnum, jx_fn_name(f), jx__avs(&a)),
               false;
    if (!jx__differentiable(y.dtype))
        return jx__fail(JX_ERR_DTYPE, loc, what, "output 0 of '%s' is %s: only f32 and f64 outputs can be differentiated",
                        jx_fn_name(f), jx__avs(&y)),
               false;
    if (a.rank + y.rank > JX_MAX_RANK)
        return jx__fail(JX_ERR_SHAPE, loc, what, "the Jacobian of output 0 (%s) by input %d (%s) of '%s' has rank %d, above %d",
                        jx__avs(&y), argnum, jx__avs(&a), jx_fn_name(f), a.rank + y.rank, JX_MAX_RANK),
               false;
    return true;
}

/* The Jacobian function, unsimplified. Forward mode scans over the basis of input argnum,
 * giving (n, out...) that is moved to out + in; reverse mode scans over the basis of output
 * 0, giving (m, in...) that is already in order. A known dy0 is a zero Jacobian. */
static jx_fn *jacobian(jx_loc loc, const char *what, const jx_fn *f, int argnum, bool fwd) {
    if (!check_args(loc, what, f, argnum)) return NULL;
    int n = f->nin, nres = 0;
    jx_aval xa = f->vars[f->in[argnum]], ya = jx_fn_output_aval(f, 0);
    jx_fn *known = NULL, *lin = NULL, *r = NULL;
    bool dy0_known = false;
    if (split(loc, f, argnum, &known, &lin, &dy0_known, &nres) != JX_OK) return NULL;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    jx_val *in = alloc_vals(n), *kout = alloc_vals(known->nout);
    if (!av || !in || !kout) {
        jx__fail(JX_ERR_NOMEM, loc, what, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]];
    char name[256];
    snprintf(name, sizeof name, "%s_%s", what, jx_fn_name(f));
    jx__trace *t = jx__trace_begin(loc, name, n, av, in, false);
    if (!t) goto done;
    int64_t shape[JX_MAX_RANK], perm[JX_MAX_RANK + 1];
    for (int i = 0; i < ya.rank; i++) shape[i] = ya.shape[i];
    for (int i = 0; i < xa.rank; i++) shape[ya.rank + i] = xa.shape[i];
    jx_ints jshape = {shape, ya.rank + xa.rank};
    jx_val jac = JX_NONE;
    if (dy0_known) {
        jac = jx_full_at(loc, ya.dtype, jshape, 0.0);
    } else if (jx__inline_fn(loc, known, in, kout) == JX_OK) {
        jac_ctx c = {loc, lin, kout + known->nout - nres, nres, 0, JX_I32, fwd ? xa : ya, fwd ? ya : xa};
        c.k = jx_aval_size(&c.basis);
        if (c.k > INT32_MAX) c.idx = JX_I64;
        jx_val idx = jx_iota_at(loc, c.idx, (jx_ints){&c.k, 1}, 0), ys = JX_NONE;
        jx_scan_at(loc, fwd ? fwd_step : rev_step, &c, c.k, 0, 0, NULL, 1, &idx, 1, &ys);
        if (fwd && ya.rank > 0) { /* (n, out...) -> (out..., n) */
            for (int i = 0; i < ya.rank; i++) perm[i] = i + 1;
            perm[ya.rank] = 0;
            ys = jx_transpose_at(loc, ys, (jx_ints){perm, ya.rank + 1});
        }
        jac = jx_reshape_at(loc, ys, jshape);
    }
    r = jx__trace_end(t, 1, &jac, NULL, NULL);
done:
    jx_fn_release(known);
    jx_fn_release(lin);
    free(av);
    free(in);
    free(kout);
    return r;
}

static jx_fn *simplified(jx_fn *raw) {
    if (!raw) return NULL;
    jx_fn *r = jx_fn_simplify(raw);
    jx_fn_release(raw);
    return r;
}

jx_fn *jx_jacfwd_at(jx_loc loc, const jx_fn *f, int argnum) {
    return simplified(jacobian(loc, "jacfwd", f, argnum, true));
}

jx_fn *jx_jacrev_at(jx_loc loc, const jx_fn *f, int argnum) {
    return simplified(jacobian(loc, "jacrev", f, argnum, false));
}

jx_fn *jx_hessian_at(jx_loc loc, const jx_fn *f, int argnum) {
    if (!check_args(loc, "hessian", f, argnum)) return NULL;
    jx_aval y = jx_fn_output_aval(f, 0);
    if (y.rank != 0)
        return jx__fail(JX_ERR_SHAPE, loc, "hessian", "output 0 of '%s' is %s: it must be a f32 or f64 scalar",
                        jx_fn_name(f), jx__avs(&y)),
               NULL;
    jx_fn *g = jx_jacrev_at(loc, f, argnum);
    if (!g) return NULL;
    jx_fn *h = simplified(jacobian(loc, "jacfwd", g, argnum, true));
    jx_fn_release(g);
    return h;
}
