/* vmap.c: the vmap transformation. Replays a function's equations on the current trace
 * (as jvp.c does for forward mode): an equation none of whose operands is mapped is bound
 * again unchanged; otherwise its primitive's batch rule emits the batched form. Calls are
 * inlined. The public entry points check in_axes/out_axes/axis_size, trace the batched
 * function and simplify it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmap.h"

/* Per-variable batched values and their mapped axes while replaying f. */
typedef struct env {
    jx_val *x;
    int *d;
} env;

static jx_val atom_val(jx__trace *t, const env *v, const jx__atom *a) {
    return a->var >= 0 ? v->x[a->var] : jx__lit_val(t, *a);
}
static int atom_dim(const env *v, const jx__atom *a) { return a->var >= 0 ? v->d[a->var] : JX_NOBATCH; }

/* Checks a rule's output against what f's equation computed: the same aval once the
 * mapped axis (of the vmap's size) is taken out. A mismatch is a bug in the rule. */
static void check_output(jx__trace *t, const jx__vctx *cx, jx_loc loc, const jx__eqn *e, int i,
                         jx_val y, int yd, const jx_aval *want) {
    jx_aval got = jx__val_aval(y);
    if (got.rank < 0) return; /* the rule failed: its error is on the trace */
    bool ok = yd == JX_NOBATCH || (yd >= 0 && yd < got.rank && got.shape[yd] == cx->size);
    jx_aval un = ok ? jx__unbatched_aval(y, yd) : got;
    if (!ok || !jx_aval_equal(&un, want))
        jx__trace_fail(t, JX_ERR_INTERNAL, loc, jx__prims[e->prim].name,
                       "batch rule gave %s mapped at axis %d for output %d, expected %s with a "
                       "mapped axis of size %lld (a bug in jx)",
                       jx__avs(&got), yd, i, jx__avs(want), (long long)cx->size);
}

static jx_status vmap_eqn(const jx__vctx *cx, jx__trace *t, const jx_fn *f, const jx__eqn *e,
                          env *v) {
    jx_val xb[16], yb[8];
    int db[16], ydb[8];
    jx_val *x = e->nin <= 16 ? xb : malloc(sizeof *x * (size_t)e->nin);
    int *d = e->nin <= 16 ? db : malloc(sizeof *d * (size_t)e->nin);
    jx_val *y = e->nout <= 8 ? yb : malloc(sizeof *y * (size_t)e->nout);
    int *yd = e->nout <= 8 ? ydb : malloc(sizeof *yd * (size_t)e->nout);
    jx_loc loc = e->loc.file ? e->loc : cx->loc;
    if (!x || !d || !y || !yd) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "vmap", "out of memory");
        goto done;
    }
    bool any = false;
    for (int i = 0; i < e->nin; i++) {
        x[i] = atom_val(t, v, &e->in[i]);
        d[i] = atom_dim(v, &e->in[i]);
        any |= d[i] != JX_NOBATCH;
    }
    for (int i = 0; i < e->nout; i++) yd[i] = JX_NOBATCH;
    if (!any && !jx__vmap_binds_axis(cx, e)) {
        jx__bind(loc, (jx_prim)e->prim, e->nin, x, e->nattr, e->attrs, e->nout, y, NULL);
    } else if (e->prim == JX_PRIM_CALL) {
        const jx__attr *fa = jx__attr_get(e->nattr, e->attrs, JX_A_FN);
        JX__ASSERT(fa && fa->kind == JX_AK_FNS && fa->n == 1);
        jx__vmap_inline(cx, fa->u.fns[0], x, d, y, yd);
    } else if (!jx__batch_rules[e->prim]) {
        jx__trace_fail(t, JX_ERR_UNSUPPORTED, loc, jx__prims[e->prim].name,
                       "cannot be batched yet (no batch rule)");
    } else {
        jx__batch_rules[e->prim](cx, e, x, d, y, yd);
        for (int i = 0; i < e->nout && t->status == JX_OK; i++)
            check_output(t, cx, loc, e, i, y[i], yd[i], &f->vars[e->out[i]]);
    }
    for (int i = 0; i < e->nout && t->status == JX_OK; i++) {
        v->x[e->out[i]] = y[i];
        v->d[e->out[i]] = yd[i];
    }
done:
    if (x != xb) free(x);
    if (d != db) free(d);
    if (y != yb) free(y);
    if (yd != ydb) free(yd);
    return t->status;
}

/* The mapped size of x[i] (mapped at xdim[i]) against the vmap's size: the error names
 * the first input that disagrees, and the one the size came from. */
static bool check_sizes(jx__trace *t, const jx__vctx *cx, int n, const jx_val *x, const int *xdim) {
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (xdim[i] == JX_NOBATCH) continue;
        jx_aval a = jx__val_aval(x[i]);
        if (a.rank < 0) return false;
        if (xdim[i] < 0 || xdim[i] >= a.rank) {
            jx__trace_fail(t, JX_ERR_AXIS, cx->loc, "vmap", "in_axes[%d] = %d is out of range for input %d of rank %d",
                           i, xdim[i], i, a.rank);
            return false;
        }
        int64_t s = a.shape[xdim[i]];
        if (s == cx->size) {
            if (first < 0) first = i;
            continue;
        }
        if (first >= 0)
            jx__trace_fail(t, JX_ERR_SHAPE, cx->loc, "vmap",
                           "mapped inputs have different sizes: input %d has size %lld (axis %d), "
                           "input %d has size %lld (axis %d)",
                           first, (long long)cx->size, xdim[first], i, (long long)s, xdim[i]);
        else
            jx__trace_fail(t, JX_ERR_SHAPE, cx->loc, "vmap",
                           "axis_size %lld does not match input %d of size %lld (axis %d)",
                           (long long)cx->size, i, (long long)s, xdim[i]);
        return false;
    }
    return true;
}

jx_status jx__vmap_inline(const jx__vctx *cx, const jx_fn *f, const jx_val *x, const int *xdim,
                          jx_val *y, int *ydim) {
    jx__trace *t = jx__trace_top();
    if (!t) return jx__fail(JX_ERR_TRACE, cx->loc, "vmap", "called outside of a trace");
    if (!check_sizes(t, cx, f->nin, x, xdim)) return t->status;
    jx__vmap_rules_init();
    size_t n = (size_t)(f->nvars ? f->nvars : 1);
    env v = {calloc(n, sizeof(jx_val)), calloc(n, sizeof(int))};
    if (!v.x || !v.d) {
        jx__trace_fail(t, JX_ERR_NOMEM, cx->loc, "vmap", "out of memory");
    } else {
        for (int i = 0; i < f->nin; i++) {
            v.x[f->in[i]] = x[i];
            v.d[f->in[i]] = xdim[i];
        }
        for (int k = 0; k < f->neqn && t->status == JX_OK; k++) vmap_eqn(cx, t, f, &f->eqns[k], &v);
        for (int i = 0; i < f->nout && t->status == JX_OK; i++) {
            y[i] = atom_val(t, &v, &f->out[i]);
            ydim[i] = atom_dim(&v, &f->out[i]);
        }
    }
    free(v.x);
    free(v.d);
    return t->status;
}

/* f's input aval with the mapped axis (of size `size`) inserted at dim (in [0, rank]). */
static jx_aval batched_aval(jx_aval a, int dim, int64_t size) {
    if (dim == JX_NOBATCH) return a;
    for (int i = a.rank; i > dim; i--) a.shape[i] = a.shape[i - 1];
    a.shape[dim] = size;
    a.rank++;
    return a;
}

jx_fn *jx__vmap_fn(const jx__vctx *cx, const jx_fn *f, const int *in_dims, const int *out_dims,
                   bool *out_batched) {
    int n = f->nin, m = f->nout;
    jx_aval *av = malloc(sizeof *av * (size_t)(n + 1));
    jx_val *in = malloc(sizeof *in * (size_t)(n + 1)), *out = malloc(sizeof *out * (size_t)(m + 1));
    int *xd = malloc(sizeof *xd * (size_t)(n + 1)), *yd = malloc(sizeof *yd * (size_t)(m + 1));
    jx_fn *r = NULL;
    if (!av || !in || !out || !xd || !yd) {
        jx__fail(JX_ERR_NOMEM, cx->loc, "vmap", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        jx_aval a = f->vars[f->in[i]];
        xd[i] = in_dims[i] < 0 && in_dims[i] != JX_NOBATCH ? in_dims[i] + a.rank + 1 : in_dims[i];
        JX__ASSERT(xd[i] == JX_NOBATCH || (xd[i] >= 0 && xd[i] <= a.rank && a.rank < JX_MAX_RANK));
        av[i] = batched_aval(a, xd[i], cx->size);
    }
    char name[256];
    snprintf(name, sizeof name, "vmap_%s", jx_fn_name(f));
    jx__trace *t = jx__trace_begin(cx->loc, name, n, av, in, false);
    if (!t) goto done;
    if (jx__vmap_inline(cx, f, in, xd, out, yd) == JX_OK) {
        for (int i = 0; i < m; i++) {
            if (out_batched) out_batched[i] = yd[i] != JX_NOBATCH || (out_dims && out_dims[i] != JX_NOBATCH);
            if (!out_dims) {
                if (yd[i] != JX_NOBATCH) out[i] = jx__bfront(cx, cx->loc, out[i], yd[i]);
            } else if (out_dims[i] != JX_NOBATCH) {
                out[i] = jx__bmove(cx, cx->loc, out[i], yd[i], out_dims[i]);
            } else if (yd[i] != JX_NOBATCH) {
                jx__trace_fail(t, JX_ERR_ARG, cx->loc, "vmap",
                               "output %d of %s depends on the mapped axis but out_axes[%d] is not mapped",
                               i, jx_fn_name(f), i);
            }
        }
    }
    r = jx__trace_end(t, m, out, NULL, NULL);
done:
    free(av);
    free(in);
    free(out);
    free(xd);
    free(yd);
    return r;
}

/* ------------------------------------------------------------------ public API */

static const char *plural(int n, const char *one, const char *many, char *buf, size_t len) {
    snprintf(buf, len, "%d %s", n, n == 1 ? one : many);
    return buf;
}

bool jx__vmap_norm_axes(jx_loc loc, const char *op, jx_ints axes, int n, const int *rank, const char *what,
                        const char *item, int *dims) {
    for (int i = 0; i < n; i++) {
        int64_t a = axes.n ? axes.v[i] : 0;
        if (a == JX_NOT_MAPPED) {
            dims[i] = JX_NOBATCH;
            continue;
        }
        int r = rank[i] + 1;
        int64_t k = a < 0 ? a + r : a;
        if (k < 0 || k >= r || r > JX_MAX_RANK) {
            jx__fail(JX_ERR_AXIS, loc, op, "%s[%d] = %lld is out of range for %s %d of rank %d", what, i,
                     (long long)a, item, i, r);
            return false;
        }
        dims[i] = (int)k;
    }
    return true;
}

jx_fn *jx_vmap_named_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes,
                        int64_t axis_size, const char *axis_name) {
    if (!f) return jx__fail(JX_ERR_ARG, loc, "vmap", "function is NULL"), NULL;
    char b1[32], b2[32];
    const char *fname = jx_fn_name(f);
    if (in_axes.n && in_axes.n != f->nin)
        return jx__fail(JX_ERR_ARG, loc, "vmap", "in_axes has %s but %s takes %s",
                        plural(in_axes.n, "entry", "entries", b1, 32), fname, plural(f->nin, "input", "inputs", b2, 32)),
               NULL;
    if (out_axes.n && out_axes.n != f->nout)
        return jx__fail(JX_ERR_ARG, loc, "vmap", "out_axes has %s but %s gives %s",
                        plural(out_axes.n, "entry", "entries", b1, 32), fname, plural(f->nout, "output", "outputs", b2, 32)),
               NULL;
    if ((in_axes.n && !in_axes.v) || (out_axes.n && !out_axes.v))
        return jx__fail(JX_ERR_ARG, loc, "vmap", "in_axes or out_axes has entries but no values"), NULL;
    int n = f->nin, m = f->nout;
    int *rank = malloc(sizeof *rank * (size_t)(n + m + 1)), *dims = malloc(sizeof *dims * (size_t)(n + m + 1));
    jx_fn *raw = NULL, *r = NULL;
    if (!rank || !dims) {
        jx__fail(JX_ERR_NOMEM, loc, "vmap", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) rank[i] = f->vars[f->in[i]].rank;
    for (int i = 0; i < m; i++) rank[n + i] = jx__atom_aval(f, &f->out[i]).rank;
    if (!jx__vmap_norm_axes(loc, "vmap", in_axes, n, rank, "in_axes", "input", dims) ||
        !jx__vmap_norm_axes(loc, "vmap", out_axes, m, rank + n, "out_axes", "output", dims + n))
        goto done;
    bool mapped = false;
    for (int i = 0; i < n; i++) mapped |= dims[i] != JX_NOBATCH;
    if (axis_size < 0) {
        if (!mapped)
            jx__fail(JX_ERR_ARG, loc, "vmap", "no input is mapped and axis_size is not given");
        else
            jx__fail(JX_ERR_ARG, loc, "vmap",
                     "axis_size is not given: %s's inputs are traced without the mapped axis, "
                     "so its size must be passed", fname);
        goto done;
    }
    jx__vctx cx = {loc, axis_size, axis_name};
    raw = jx__vmap_fn(&cx, f, dims, dims + n, NULL);
    if (raw) r = jx_fn_simplify(raw);
done:
    jx_fn_release(raw);
    free(rank);
    free(dims);
    return r;
}

jx_fn *jx_vmap_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, int64_t axis_size) {
    return jx_vmap_named_at(loc, f, in_axes, out_axes, axis_size, NULL);
}
