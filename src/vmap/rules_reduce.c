/* rules_reduce.c: batch rules of the reductions (reduce_sum/max/min/prod, argmax/argmin)
 * and the cumulative ops (cumsum/cumprod/cummax/cummin). None of them needs the mapped
 * axis in a particular place: it stays where it is and the reduced or scanned axes are
 * renumbered around it, so no transpose is emitted. */
#include "vmap.h"

#define BARGS                                                                          \
    const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, \
        int *ydim

/* reduce_*: the axes shift past the mapped axis (still sorted); the output's mapped axis
 * moves down by the number of reduced axes below it. */
static jx_status b_reduce(BARGS) {
    (void)cx;
    int bd = bdim[0], below = 0;
    jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
    int64_t a[JX_MAX_RANK + 1];
    for (int i = 0; i < axes.n; i++) {
        a[i] = jx__bax(axes.v[i], bd);
        below += axes.v[i] < bd;
    }
    jx__attr at = jx__a_ints(JX_A_AXES, (jx_ints){a, axes.n});
    y[0] = jx__vrebind(e, 1, x, 1, &at);
    ydim[0] = bd - below;
    return jx_trace_status();
}

/* argmax/argmin drop their axis; cum* keep it. */
static jx_status b_axis(BARGS) {
    (void)cx;
    int bd = bdim[0];
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    jx__attr at = jx__a_int(JX_A_AXIS, jx__bax(axis, bd));
    y[0] = jx__vrebind(e, 1, x, 1, &at);
    bool drops = e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN;
    ydim[0] = drops && axis < bd ? bd - 1 : bd;
    return jx_trace_status();
}

void jx__vmap_register_reduce(jx__batch_rule *t) {
    t[JX_PRIM_REDUCE_SUM] = b_reduce;
    t[JX_PRIM_REDUCE_MAX] = b_reduce;
    t[JX_PRIM_REDUCE_MIN] = b_reduce;
    t[JX_PRIM_REDUCE_PROD] = b_reduce;
    t[JX_PRIM_ARGMAX] = b_axis;
    t[JX_PRIM_ARGMIN] = b_axis;
    t[JX_PRIM_CUMSUM] = b_axis;
    t[JX_PRIM_CUMPROD] = b_axis;
    t[JX_PRIM_CUMMAX] = b_axis;
    t[JX_PRIM_CUMMIN] = b_axis;
}
