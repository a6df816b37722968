/* vmap_call.c: jx_vmap_call, vmap applied to traced values inside a body. Unlike
 * jx_vmap, which batches a function ahead of time for a given size, the size here comes
 * from the values, so mapped inputs of different sizes are found and named. */
#include <stdlib.h>

#include "vmap.h"

/* The traced values' mapped axes: in_axes[i] normalised against in[i]'s rank. */
static bool in_dims(jx__trace *t, jx_loc loc, jx_ints in_axes, int nin, const jx_val *in, int *dims,
                    int64_t *size) {
    *size = -1;
    for (int i = 0; i < nin; i++) {
        int64_t a = in_axes.n ? in_axes.v[i] : 0;
        if (a == JX_NOT_MAPPED) {
            dims[i] = JX_NOBATCH;
            continue;
        }
        jx_aval av = jx__val_aval(in[i]);
        if (av.rank < 0) return false;
        int64_t k = a < 0 ? a + av.rank : a;
        if (k < 0 || k >= av.rank) {
            jx__trace_fail(t, JX_ERR_AXIS, loc, "vmap", "in_axes[%d] = %lld is out of range for input %d of rank %d",
                           i, (long long)a, i, av.rank);
            return false;
        }
        dims[i] = (int)k;
        if (*size < 0) *size = av.shape[k];
    }
    if (*size < 0) {
        jx__trace_fail(t, JX_ERR_ARG, loc, "vmap", "no input is mapped, so the mapped size is unknown");
        return false;
    }
    return true;
}

void jx_vmap_call_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, int nin,
                     const jx_val *in, int nout, jx_val *out) {
    jx__trace *t = jx__trace_top();
    for (int i = 0; i < nout; i++) out[i] = JX_NONE;
    if (!t) {
        jx__fail(JX_ERR_TRACE, loc, "vmap", "jx_vmap_call is used inside a traced body");
        return;
    }
    if (!f || nin != f->nin || nout != f->nout || (in_axes.n && in_axes.n != nin) ||
        (out_axes.n && out_axes.n != nout)) {
        jx__trace_fail(t, JX_ERR_ARG, loc, "vmap",
                       "%s takes %d inputs and gives %d outputs; called with %d inputs, %d outputs, "
                       "%d in_axes, %d out_axes",
                       f ? jx_fn_name(f) : "(NULL)", f ? f->nin : 0, f ? f->nout : 0, nin, nout, in_axes.n,
                       out_axes.n);
        return;
    }
    int *dims = malloc(sizeof *dims * (size_t)(nin + nout + 1));
    jx_val *y = malloc(sizeof *y * (size_t)(nout + 1));
    int64_t size;
    if (!dims || !y) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "vmap", "out of memory");
    } else if (in_dims(t, loc, in_axes, nin, in, dims, &size)) {
        jx__vctx cx = {loc, size, NULL};
        int *ydim = dims + nin;
        if (jx__vmap_inline(&cx, f, in, dims, y, ydim) == JX_OK) {
            for (int i = 0; i < nout; i++) {
                int64_t a = out_axes.n ? out_axes.v[i] : 0;
                int r = jx__val_aval(y[i]).rank + (ydim[i] == JX_NOBATCH);
                int64_t k = a < 0 ? a + r : a;
                if (a == JX_NOT_MAPPED || k < 0 || k >= r) {
                    jx__trace_fail(t, JX_ERR_AXIS, loc, "vmap", "out_axes[%d] = %lld is out of range for output %d of rank %d",
                                   i, (long long)a, i, r);
                    break;
                }
                out[i] = jx__bmove(&cx, loc, y[i], ydim[i], (int)k);
            }
        }
    }
    free(dims);
    free(y);
}
