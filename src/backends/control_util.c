/* control_util.c: helpers shared by the interpreter's and the jit's control primitives
 * (see control_util.h). */
#include <string.h>

#include "control_util.h"

int64_t jx__scalar_i64(const jx_array *x) {
    switch (x->aval.dtype) {
    case JX_BOOL:
    case JX_U8: return *(const uint8_t *)x->data;
    case JX_I32: return *(const int32_t *)x->data;
    case JX_U32: return *(const uint32_t *)x->data;
    case JX_I64: return *(const int64_t *)x->data;
    default: return (int64_t)jx_array_get(x, 0);
    }
}

void jx__release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) {
        jx_array_release(a[i]);
        a[i] = NULL;
    }
}

jx__scan_attrs jx__scan_attrs_of(const jx__eqn *e) {
    jx__scan_attrs s;
    s.len = jx__attr_int(e->nattr, e->attrs, JX_A_LENGTH, 0);
    s.rev = jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0) != 0;
    s.nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    s.nk = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, 0);
    s.nx = e->nin - s.nc - s.nk;
    s.ny = e->nout - s.nc;
    return s;
}

void jx__scan_store_ys(int ny, jx_array *const *y, jx_array *const *ys, int64_t i) {
    for (int j = 0; j < ny; j++)
        if (y[j]->nbytes) memcpy((char *)ys[j]->data + (size_t)i * y[j]->nbytes, y[j]->data, y[j]->nbytes);
}
