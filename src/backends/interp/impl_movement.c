/* impl_movement.c: reference implementations of the data-movement primitives (see
 * prims.def). Each one describes its output as a strided view of its operand(s) and
 * hands it to jx__strided_copy, so every dtype is handled by element size alone.
 * Attributes were validated by the shape rules (shape_movement.c). */
#include <string.h>

#include "../../trace/ir.h"
#include "strided.h"

#define ATTR_INTS(key) jx__attr_ints(e->nattr, e->attrs, (key))

static size_t esize_of(const jx_aval *a) { return jx_dtype_size(a->dtype); }

/* Allocates out[0]; the caller fills it. */
static jx_array *alloc_out(const jx_aval *out_avals, jx_array **out) {
    out[0] = jx__array_alloc(&out_avals[0]);
    return out[0];
}

/* A plain copy of x's bytes into a new array of aval `a` (same element count). */
static jx_status copy_whole(const jx_array *x, const jx_aval *out_avals, jx_array **out) {
    jx_array *y = alloc_out(out_avals, out);
    if (!y) return jx_errcode();
    if (y->nbytes) memcpy(y->data, x->data, y->nbytes);
    return JX_OK;
}

/* An integer start operand (i32, i64 or u32 scalar), clamped into [0, hi]. */
static int64_t clamped_start(const jx_array *s, int64_t hi) {
    int64_t v = 0;
    switch (s->aval.dtype) {
    case JX_I32: v = *(const int32_t *)s->data; break;
    case JX_U32: v = *(const uint32_t *)s->data; break;
    case JX_I64: v = *(const int64_t *)s->data; break;
    default: break; /* the shape rule admits no other dtype */
    }
    return v < 0 ? 0 : v > hi ? hi : v;
}

/* ------------------------------------------------------------------ rules */

static jx_status impl_reshape(const jx__eqn *e, jx_array *const *in, const jx_aval *oa, jx_array **out) {
    return copy_whole(in[0], oa, out); /* squeeze and expand_dims too: row-major order is kept */
}

static jx_status impl_broadcast_in_dim(const jx__eqn *e, jx_array *const *in, const jx_aval *oa,
                                       jx_array **out) {
    const jx_array *x = in[0];
    jx_ints dims = ATTR_INTS(JX_A_DIMS);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t xst[JX_MAX_RANK], yst[JX_MAX_RANK], sst[JX_MAX_RANK] = {0};
    jx__row_strides(x->aval.rank, x->aval.shape, xst);
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int i = 0; i < dims.n; i++) /* stretched size-1 dims keep stride 0 */
        if (x->aval.shape[i] == oa->shape[dims.v[i]]) sst[dims.v[i]] = xst[i];
    jx__strided_copy(oa->rank, oa->shape, esize_of(oa), y->data, 0, yst, x->data, 0, sst);
    return JX_OK;
}

static jx_status impl_transpose(const jx__eqn *e, jx_array *const *in, const jx_aval *oa, jx_array **out) {
    const jx_array *x = in[0];
    jx_ints perm = ATTR_INTS(JX_A_PERM);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t xst[JX_MAX_RANK], yst[JX_MAX_RANK], sst[JX_MAX_RANK];
    jx__row_strides(x->aval.rank, x->aval.shape, xst);
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int i = 0; i < oa->rank; i++) sst[i] = xst[perm.v[i]];
    jx__strided_copy(oa->rank, oa->shape, esize_of(oa), y->data, 0, yst, x->data, 0, sst);
    return JX_OK;
}

static jx_status impl_slice(const jx__eqn *e, jx_array *const *in, const jx_aval *oa, jx_array **out) {
    const jx_array *x = in[0];
    jx_ints start = ATTR_INTS(JX_A_START), strides = ATTR_INTS(JX_A_STRIDES);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t xst[JX_MAX_RANK], yst[JX_MAX_RANK], sst[JX_MAX_RANK], off = 0;
    jx__row_strides(x->aval.rank, x->aval.shape, xst);
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int i = 0; i < oa->rank; i++) {
        sst[i] = xst[i] * strides.v[i];
        off += start.v[i] * xst[i];
    }
    jx__strided_copy(oa->rank, oa->shape, esize_of(oa), y->data, 0, yst, x->data, off, sst);
    return JX_OK;
}

static jx_status impl_dynamic_slice(const jx__eqn *e, jx_array *const *in, const jx_aval *oa,
                                    jx_array **out) {
    const jx_array *x = in[0];
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t xst[JX_MAX_RANK], yst[JX_MAX_RANK], off = 0;
    jx__row_strides(x->aval.rank, x->aval.shape, xst);
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int i = 0; i < oa->rank; i++)
        off += clamped_start(in[1 + i], x->aval.shape[i] - oa->shape[i]) * xst[i];
    jx__strided_copy(oa->rank, oa->shape, esize_of(oa), y->data, 0, yst, x->data, off, xst);
    return JX_OK;
}

static jx_status impl_dynamic_update_slice(const jx__eqn *e, jx_array *const *in, const jx_aval *oa,
                                           jx_array **out) {
    const jx_array *x = in[0], *u = in[1];
    jx_status st = copy_whole(x, oa, out);
    if (st != JX_OK) return st;
    int64_t yst[JX_MAX_RANK], ust[JX_MAX_RANK], off = 0;
    jx__row_strides(oa->rank, oa->shape, yst);
    jx__row_strides(u->aval.rank, u->aval.shape, ust);
    for (int i = 0; i < oa->rank; i++)
        off += clamped_start(in[2 + i], oa->shape[i] - u->aval.shape[i]) * yst[i];
    jx__strided_copy(oa->rank, u->aval.shape, esize_of(oa), out[0]->data, off, yst, u->data, 0, ust);
    return JX_OK;
}

/* Output position of operand index j along a dim is lo + j*(interior+1); only the
 * indices landing inside [0, n) are copied (negative lo/hi crop). */
static jx_status impl_pad(const jx__eqn *e, jx_array *const *in, const jx_aval *oa, jx_array **out) {
    const jx_array *x = in[0], *pv = in[1];
    jx_ints lo = ATTR_INTS(JX_A_LO), interior = ATTR_INTS(JX_A_INTERIOR);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    size_t es = esize_of(oa);
    jx__fill_elems(y->data, jx_aval_size(oa), es, pv->data);
    int64_t xst[JX_MAX_RANK], yst[JX_MAX_RANK], dst[JX_MAX_RANK], cnt[JX_MAX_RANK];
    int64_t xoff = 0, yoff = 0;
    jx__row_strides(x->aval.rank, x->aval.shape, xst);
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int i = 0; i < oa->rank; i++) {
        int64_t step = interior.v[i] + 1, l = lo.v[i], n = oa->shape[i], d = x->aval.shape[i];
        int64_t j0 = l < 0 ? (-l + step - 1) / step : 0;  /* first j with l + j*step >= 0 */
        int64_t j1 = n - 1 - l < 0 ? -1 : (n - 1 - l) / step; /* last j with l + j*step < n */
        if (j1 > d - 1) j1 = d - 1;
        if (j1 < j0) return JX_OK; /* everything cropped away */
        cnt[i] = j1 - j0 + 1;
        xoff += j0 * xst[i];
        yoff += (l + j0 * step) * yst[i];
        dst[i] = yst[i] * step;
    }
    jx__strided_copy(oa->rank, cnt, es, y->data, yoff, dst, x->data, xoff, xst);
    return JX_OK;
}

static jx_status impl_concatenate(const jx__eqn *e, jx_array *const *in, const jx_aval *oa,
                                  jx_array **out) {
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t yst[JX_MAX_RANK], xst[JX_MAX_RANK], at = 0;
    jx__row_strides(oa->rank, oa->shape, yst);
    for (int k = 0; k < e->nin; k++) {
        const jx_array *x = in[k];
        jx__row_strides(x->aval.rank, x->aval.shape, xst);
        jx__strided_copy(oa->rank, x->aval.shape, esize_of(oa), y->data, at * yst[axis], yst, x->data, 0, xst);
        at += x->aval.shape[axis];
    }
    return JX_OK;
}

static jx_status impl_rev(const jx__eqn *e, jx_array *const *in, const jx_aval *oa, jx_array **out) {
    const jx_array *x = in[0];
    jx_ints dims = ATTR_INTS(JX_A_DIMS);
    jx_array *y = alloc_out(oa, out);
    if (!y) return jx_errcode();
    int64_t st[JX_MAX_RANK], sst[JX_MAX_RANK], off = 0;
    jx__row_strides(oa->rank, oa->shape, st);
    memcpy(sst, st, sizeof st);
    for (int i = 0; i < dims.n; i++) {
        int k = (int)dims.v[i];
        if (oa->shape[k] == 0) continue;
        off += (oa->shape[k] - 1) * st[k];
        sst[k] = -st[k];
    }
    jx__strided_copy(oa->rank, oa->shape, esize_of(oa), y->data, 0, st, x->data, off, sst);
    return JX_OK;
}

void jx__impl_register_movement(jx__impl_rule *t) {
    t[JX_PRIM_BROADCAST_IN_DIM] = impl_broadcast_in_dim;
    t[JX_PRIM_RESHAPE] = impl_reshape;
    t[JX_PRIM_TRANSPOSE] = impl_transpose;
    t[JX_PRIM_SQUEEZE] = impl_reshape;
    t[JX_PRIM_EXPAND_DIMS] = impl_reshape;
    t[JX_PRIM_SLICE] = impl_slice;
    t[JX_PRIM_DYNAMIC_SLICE] = impl_dynamic_slice;
    t[JX_PRIM_DYNAMIC_UPDATE_SLICE] = impl_dynamic_update_slice;
    t[JX_PRIM_PAD] = impl_pad;
    t[JX_PRIM_CONCATENATE] = impl_concatenate;
    t[JX_PRIM_REV] = impl_rev;
}
