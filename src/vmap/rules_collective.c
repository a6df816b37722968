/* rules_collective.c: batch rules of the collectives over a named axis (psum, pmax,
 * pmin, axis_index, all_gather). Under the vmap that binds their axis name they become
 * ordinary operations along the mapped axis, and their results are the same in every
 * slice (unmapped), as in JAX:
 *  - psum/pmax/pmin of a mapped x: reduce_sum/max/min over the mapped axis; of an
 *    unmapped x: x * size (psum), x itself (pmax/pmin);
 *  - axis_index: iota over the mapped axis (mapped at 0);
 *  - all_gather: x with its mapped axis moved first (broadcast when unmapped).
 * A collective over another name (an outer vmap's, seen inside an inner one) is bound
 * again on the batched value, which keeps its mapped axis: the outer vmap binds it. */
#include <string.h>

#include "vmap.h"

#define BARGS                                                                          \
    const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, \
        int *ydim

static bool is_collective(int prim) {
    return prim == JX_PRIM_PSUM || prim == JX_PRIM_PMAX || prim == JX_PRIM_PMIN ||
           prim == JX_PRIM_AXIS_INDEX || prim == JX_PRIM_ALL_GATHER;
}

/* Whether e is a collective over cx's axis name. */
static bool binds(const jx__vctx *cx, const jx__eqn *e) {
    if (!cx->axis_name || !is_collective(e->prim)) return false;
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    return name && strcmp(name, cx->axis_name) == 0;
}

static bool fn_binds(const jx__vctx *cx, const jx_fn *f) {
    for (int k = 0; k < f->neqn; k++)
        if (jx__vmap_binds_axis(cx, &f->eqns[k])) return true;
    return false;
}

bool jx__vmap_binds_axis(const jx__vctx *cx, const jx__eqn *e) {
    if (!cx->axis_name) return false;
    if (binds(cx, e)) return true;
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS)
            for (int j = 0; j < e->attrs[a].n; j++)
                if (fn_binds(cx, e->attrs[a].u.fns[j])) return true;
    return false;
}

/* psum/pmax/pmin. */
static jx_status b_reduce(BARGS) {
    int d = bdim[0];
    if (!binds(cx, e)) {
        y[0] = jx__vrebind(e, 1, x, 0, NULL);
        ydim[0] = d;
        return jx_trace_status();
    }
    jx_loc loc = e->loc;
    ydim[0] = JX_NOBATCH;
    if (d == JX_NOBATCH) {
        jx_val n = jx_scalar_like_at(loc, x[0], (double)cx->size);
        y[0] = e->prim == JX_PRIM_PSUM ? jx_mul_at(loc, x[0], n) : x[0];
        return jx_trace_status();
    }
    int64_t ax = d;
    jx_ints axes = {&ax, 1};
    y[0] = e->prim == JX_PRIM_PSUM   ? jx_reduce_sum_at(loc, x[0], axes)
           : e->prim == JX_PRIM_PMAX ? jx_reduce_max_at(loc, x[0], axes)
                                     : jx_reduce_min_at(loc, x[0], axes);
    return jx_trace_status();
}

/* axis_index: it has no operand, so it only gets here when it names cx's axis. */
static jx_status b_axis_index(BARGS) {
    (void)x, (void)bdim;
    if (!binds(cx, e)) {
        y[0] = jx__vrebind(e, 0, NULL, 0, NULL);
        ydim[0] = JX_NOBATCH;
        return jx_trace_status();
    }
    int64_t n = cx->size;
    y[0] = jx_iota_at(e->loc, JX_I32, (jx_ints){&n, 1}, 0);
    ydim[0] = 0;
    return jx_trace_status();
}

static jx_status b_all_gather(BARGS) {
    int d = bdim[0];
    if (!binds(cx, e)) { /* the gathered axis comes first: the mapped one moves up */
        y[0] = jx__vrebind(e, 1, x, 0, NULL);
        ydim[0] = d == JX_NOBATCH ? d : d + 1;
        return jx_trace_status();
    }
    int64_t want = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, -1);
    if (want != cx->size) {
        jx__trace_fail(jx__trace_top(), JX_ERR_SHAPE, e->loc, "all_gather",
                       "axis_size is %lld but the vmap of axis '%s' has size %lld", (long long)want,
                       cx->axis_name, (long long)cx->size);
        return jx_trace_status();
    }
    y[0] = jx__bfront(cx, e->loc, x[0], d);
    ydim[0] = JX_NOBATCH;
    return jx_trace_status();
}

void jx__vmap_register_collective(jx__batch_rule *t) {
    t[JX_PRIM_PSUM] = b_reduce;
    t[JX_PRIM_PMAX] = b_reduce;
    t[JX_PRIM_PMIN] = b_reduce;
    t[JX_PRIM_AXIS_INDEX] = b_axis_index;
    t[JX_PRIM_ALL_GATHER] = b_all_gather;
}
