/* rules_pmap.c: the batch rule of pmap (vmap outside a pmap). The vmapped axis goes
 * first in each batched operand, so every device's slice has it at axis 0; the body is
 * vmapped on those slices, and the pmap's own axes shift by one past it. A body output
 * that comes out batched is mapped at 0 of the result, next to the pmap's axis. A vmap
 * of the pmap's own axis name leaves the body's collectives of that name to the pmap,
 * which binds it innermost (shadowing, as in JAX). */
#include <string.h>

#include "vmap.h"
#include "../trace/rule_scratch.h"

static jx_status b_pmap(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, int *ydim) {
    jx__rs r;
    jx__vctx inner = *cx;
    const jx_fn *f = jx__eqn_fn(e, JX_A_FN, 0);
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    int64_t size = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, 1);
    jx_ints ia = jx__attr_ints(e->nattr, e->attrs, JX_A_IN_AXES), oa = jx__attr_ints(e->nattr, e->attrs, JX_A_OUT_AXES);
    if (inner.axis_name && name && strcmp(inner.axis_name, name) == 0) inner.axis_name = NULL;
    jx__rs_init(&r, e, "vmap", &inner);
    int n = e->nin, m = e->nout;
    int *bin = JX_RS_NEW(&r, int, n), *pin = JX_RS_NEW(&r, int, n), *pout = JX_RS_NEW(&r, int, m);
    bool *ob = JX_RS_NEW(&r, bool, m);
    jx_val *ops = JX_RS_NEW(&r, jx_val, n);
    if (!jx__rs_ok(&r)) return jx__rs_done(&r);
    for (int i = 0; i < n; i++) {
        bool b = bdim[i] != JX_NOBATCH;
        ops[i] = b ? jx__bfront(cx, e->loc, x[i], bdim[i]) : x[i];
        bin[i] = b ? 0 : JX_NOBATCH;
        pin[i] = ia.v[i] < 0 || !b ? (int)ia.v[i] : (int)ia.v[i] + 1;
    }
    jx_fn *g = jx__vmap_fn_rs(&r, f, bin, NULL, ob);
    if (!g) return jx__rs_done(&r);
    for (int j = 0; j < m; j++) {
        pout[j] = oa.v[j] < 0 || !ob[j] ? (int)oa.v[j] : (int)oa.v[j] + 1;
        ydim[j] = ob[j] ? 0 : JX_NOBATCH;
    }
    jx__pmap_bind(e->loc, g, name, size, pin, pout, ops, y);
    return jx__rs_done(&r);
}

void jx__vmap_register_pmap(jx__batch_rule *t) { t[JX_PRIM_PMAP] = b_pmap; }
