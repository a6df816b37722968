/* jacobian.c: jx_jacfwd, jx_jacrev and jx_hessian, the JAX way: f's jvp is split once into
 * its primal part (the residuals, computed once) and its linear part, which is then applied
 * to every basis vector at once by vmap over an identity matrix. jacfwd maps the linear part
 * (a jvp) over the basis of the input; jacrev maps its transpose (a vjp) over the basis of
 * output 0. No loop is left in the IR, its size does not depend on the input size, and a
 * matrix-vector product in f becomes one matrix-matrix product. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../vmap/vmap.h"
#include "grad.h"

static jx_val *alloc_vals(int n) { return malloc(sizeof(jx_val) * (size_t)(n + 1)); }

/* The k basis vectors of a space of aval a (k = size of a) stacked: the identity matrix
 * (k, k) reshaped to (k, a.shape...), built from iota and eq, so O(1) equations. */
static jx_val basis(jx_loc loc, const jx_aval *a) {
    int64_t k = jx_aval_size(a), kk[2] = {k, k}, shape[JX_MAX_RANK + 1] = {k};
    jx_dtype idx = k > INT32_MAX ? JX_I64 : JX_I32;
    jx_ints sq = {kk, 2};
    jx_val eye = jx_eq_at(loc, jx_iota_at(loc, idx, sq, 0), jx_iota_at(loc, idx, sq, 1));
    for (int i = 0; i < a->rank; i++) shape[i + 1] = a->shape[i];
    return jx_reshape_at(loc, jx_convert_at(loc, eye, a->dtype), (jx_ints){shape, a->rank + 1});
}

/* f's jvp with a tangent for input argnum only, giving d out[0], split by partial
 * evaluation: known (x...) -> (residuals...) [or (dy0, residuals...) when dy0 is a known
 * zero] and lin (residuals..., dx) -> (dy0). Both once, so that the primal work is done
 * once for all basis vectors. */
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

/* The transpose of lin (residuals..., dx) -> (dy0) as a function (residuals..., ct) -> (xbar)
 * of aval xa: the vjp that jacrev maps over the basis of output 0. */
static jx_fn *transposed(jx_loc loc, const jx_fn *lin, int nres, const jx_aval *xa) {
    jx_aval *av = malloc(sizeof *av * (size_t)(nres + 1));
    jx_val *in = alloc_vals(nres);
    jx_fn *r = NULL;
    if (!av || !in) {
        jx__fail(JX_ERR_NOMEM, loc, "jacrev", "out of memory");
        goto done;
    }
    for (int i = 0; i < nres; i++) av[i] = lin->vars[lin->in[i]];
    av[nres] = jx_fn_output_aval(lin, 0);
    char name[256];
    snprintf(name, sizeof name, "vjp_%s", jx_fn_name(lin));
    jx__trace *t = jx__trace_begin(loc, name, nres + 1, av, in, false);
    if (!t) goto done;
    jx_val xbar = JX_ZERO;
    if (jx__transpose_inline(loc, lin, nres, in, &in[nres], &xbar) == JX_OK && jx__is_zero(xbar))
        xbar = jx__zeros(loc, xa);
    r = jx__trace_end(t, 1, &xbar, NULL, NULL);
done:
    free(av);
    free(in);
    return r;
}

/* Emits g (residuals..., v) -> (w) applied to every basis vector of the space of aval
 * `space` at once: vmap with the residuals unmapped and v mapped over basis(space). The
 * result has the basis axis at `to` (0 or -1). */
static jx_val map_basis(jx_loc loc, const jx_fn *g, int nres, const jx_val *res, const jx_aval *space,
                        int to) {
    jx__vctx cx = {loc, jx_aval_size(space), NULL};
    jx_val *args = alloc_vals(nres + 1), w = JX_NONE;
    int *dims = malloc(sizeof *dims * (size_t)(nres + 1)), wd = JX_NOBATCH;
    if (!args || !dims) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, loc, "jacobian", "out of memory");
    } else {
        for (int i = 0; i < nres; i++) args[i] = res[i], dims[i] = JX_NOBATCH;
        args[nres] = basis(loc, space);
        dims[nres] = 0;
        if (jx__vmap_inline(&cx, g, args, dims, &w, &wd) == JX_OK) w = jx__bmove(&cx, loc, w, wd, to);
    }
    free(args);
    free(dims);
    return w;
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

/* The Jacobian function, unsimplified, of shape out + in. Forward mode maps the linear
 * part over the basis of input argnum, giving (out..., n) with the basis axis last; reverse
 * mode maps its transpose over the basis of output 0, giving (m, in...). Either is then
 * reshaped to out + in. A known dy0, or an empty Jacobian, is zeros. */
static jx_fn *jacobian(jx_loc loc, const char *what, const jx_fn *f, int argnum, bool fwd) {
    if (!check_args(loc, what, f, argnum)) return NULL;
    int n = f->nin, nres = 0;
    jx_aval xa = f->vars[f->in[argnum]], ya = jx_fn_output_aval(f, 0);
    jx_fn *known = NULL, *lin = NULL, *g = NULL, *r = NULL;
    bool dy0_known = false;
    if (split(loc, f, argnum, &known, &lin, &dy0_known, &nres) != JX_OK) return NULL;
    int64_t shape[JX_MAX_RANK];
    for (int i = 0; i < ya.rank; i++) shape[i] = ya.shape[i];
    for (int i = 0; i < xa.rank; i++) shape[ya.rank + i] = xa.shape[i];
    jx_ints jshape = {shape, ya.rank + xa.rank};
    bool zero = dy0_known || jx_aval_size(&xa) == 0 || jx_aval_size(&ya) == 0;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    jx_val *in = alloc_vals(n), *kout = alloc_vals(known->nout);
    if (!av || !in || !kout) {
        jx__fail(JX_ERR_NOMEM, loc, what, "out of memory");
        goto done;
    }
    if (!zero && !(g = fwd ? jx_fn_retain(lin) : transposed(loc, lin, nres, &xa))) goto done;
    for (int i = 0; i < n; i++) av[i] = f->vars[f->in[i]];
    char name[256];
    snprintf(name, sizeof name, "%s_%s", what, jx_fn_name(f));
    jx__trace *t = jx__trace_begin(loc, name, n, av, in, false);
    if (!t) goto done;
    jx_val jac = JX_NONE;
    if (zero) {
        jac = jx_full_at(loc, ya.dtype, jshape, 0.0);
    } else if (jx__inline_fn(loc, known, in, kout) == JX_OK) {
        jx_val w = map_basis(loc, g, nres, kout + known->nout - nres, fwd ? &xa : &ya, fwd ? -1 : 0);
        jac = jx_reshape_at(loc, w, jshape);
    }
    r = jx__trace_end(t, 1, &jac, NULL, NULL);
done:
    jx_fn_release(known);
    jx_fn_release(lin);
    jx_fn_release(g);
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
