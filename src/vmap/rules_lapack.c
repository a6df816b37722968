/* rules_lapack.c: batch rules of the linear-algebra primitives (cholesky,
 * triangular_solve, lu, eigh, qr, svd; see prims.def): their leading dims are already batch dims, so the
 * mapped axis moves to the front (an unmapped operand is broadcast to it) and the
 * primitive is bound again. */
#include "vmap.h"

static jx_status batch_front(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y,
                             int *ydim) {
    jx_val z[2];
    for (int i = 0; i < e->nin; i++) z[i] = jx__bfront(cx, e->loc, x[i], bdim[i]);
    jx__bind(e->loc, (jx_prim)e->prim, e->nin, z, e->nattr, e->attrs, e->nout, y, NULL);
    for (int i = 0; i < e->nout; i++) ydim[i] = 0;
    return jx_trace_status();
}

void jx__vmap_register_lapack(jx__batch_rule *t) {
    t[JX_PRIM_CHOLESKY] = batch_front;
    t[JX_PRIM_TRIANGULAR_SOLVE] = batch_front;
    t[JX_PRIM_LU] = batch_front;
    t[JX_PRIM_EIGH] = batch_front;
    t[JX_PRIM_QR] = batch_front;
    t[JX_PRIM_SVD] = batch_front;
}
