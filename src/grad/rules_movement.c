/* rules_movement.c: jvp and transpose rules for the data-movement primitives (see
 * prims.def). Every one of them is linear in its data operands, so the jvp applies the
 * same primitive to the tangents, and each transpose routes cotangents back to where
 * the elements came from. Integer operands (dynamic slice starts) are never linear. */
#include <stdlib.h>

#include "grad.h"

/* How many leading operands carry data (the rest are integer start indices). */
static int data_operands(const jx__eqn *e) {
    switch (e->prim) {
    case JX_PRIM_CONCATENATE: return e->nin;
    case JX_PRIM_DYNAMIC_UPDATE_SLICE:
    case JX_PRIM_PAD: return 2;
    default: return 1;
    }
}

static jx_ints shape_of(const jx_aval *a) { return (jx_ints){a->shape, a->rank}; }

static jx_val zeros_like_val(jx_loc loc, jx_val x) {
    jx_aval a = jx__val_aval(x);
    return jx__zeros(loc, &a);
}

/* ------------------------------------------------------------------ jvp */

/* The same primitive and attributes on the tangents: zero tangents of data operands
 * are materialised so the result is a full-aval tangent; index operands stay primal. */
static jx_status jvp_linear(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    jx_val buf[16];
    jx_val *ops = e->nin <= 16 ? buf : malloc(sizeof *ops * (size_t)e->nin);
    if (!ops) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, e->loc, "jvp", "out of memory");
        return jx_trace_status();
    }
    int nd = data_operands(e);
    for (int i = 0; i < e->nin; i++)
        ops[i] = i >= nd ? x[i] : jx__is_zero(dx[i]) ? zeros_like_val(e->loc, x[i]) : dx[i];
    dy[0] = jx__bind1(e->loc, (jx_prim)e->prim, e->nin, ops, e->nattr, e->attrs);
    if (ops != buf) free(ops);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ transpose */

#define TR_ARGS                                                                                    \
    const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct, \
        jx_val *ct_in

static jx_ints attr(const jx__eqn *e, jx__akey k) { return jx__attr_ints(e->nattr, e->attrs, k); }

/* Sums over the output dims the operand did not have or had as size 1, then restores
 * the operand's size-1 dims with a reshape. */
static jx_status tr_broadcast_in_dim(TR_ARGS) {
    (void)x, (void)lin;
    jx_ints dims = attr(e, JX_A_DIMS);
    jx_aval o = jx__val_aval(ct[0]);
    bool keep[JX_MAX_RANK] = {false};
    for (int i = 0; i < dims.n; i++) keep[dims.v[i]] = av[0].shape[i] != 1 || o.shape[dims.v[i]] == 1;
    int64_t axes[JX_MAX_RANK];
    int n = 0;
    for (int d = 0; d < o.rank; d++)
        if (!keep[d]) axes[n++] = d;
    jx_val s = n ? jx_reduce_sum_at(e->loc, ct[0], (jx_ints){axes, n}) : ct[0];
    ct_in[0] = jx_reshape_at(e->loc, s, shape_of(&av[0]));
    return jx_trace_status();
}

/* reshape, squeeze and expand_dims only regroup the elements: reshape back. */
static jx_status tr_reshape(TR_ARGS) {
    (void)x, (void)lin;
    ct_in[0] = jx_reshape_at(e->loc, ct[0], shape_of(&av[0]));
    return jx_trace_status();
}

static jx_status tr_transpose(TR_ARGS) {
    (void)x, (void)lin;
    jx_ints perm = attr(e, JX_A_PERM);
    int64_t inv[JX_MAX_RANK];
    for (int i = 0; i < perm.n; i++) inv[perm.v[i]] = i;
    ct_in[0] = jx_transpose_at(e->loc, ct[0], (jx_ints){inv, av[0].rank});
    return jx_trace_status();
}

static jx_status tr_rev(TR_ARGS) {
    (void)x, (void)lin, (void)av;
    ct_in[0] = jx_rev_at(e->loc, ct[0], attr(e, JX_A_DIMS));
    return jx_trace_status();
}

/* Zeros where the slice skipped elements: pad with the start in front and stride-1
 * between kept elements, and whatever is left at the back. */
static jx_status tr_slice(TR_ARGS) {
    (void)x, (void)lin;
    jx_ints start = attr(e, JX_A_START), strides = attr(e, JX_A_STRIDES);
    jx_aval c = jx__val_aval(ct[0]);
    int64_t lo[JX_MAX_RANK], hi[JX_MAX_RANK], in[JX_MAX_RANK];
    int r = av[0].rank;
    for (int i = 0; i < r; i++) {
        int64_t d = c.shape[i];
        lo[i] = start.v[i];
        in[i] = strides.v[i] - 1;
        hi[i] = av[0].shape[i] - lo[i] - d - (d > 1 ? (d - 1) * in[i] : 0);
    }
    jx_val z = jx_scalar_at(e->loc, av[0].dtype, 0);
    ct_in[0] = jx_pad_at(e->loc, ct[0], z, (jx_ints){lo, r}, (jx_ints){hi, r}, (jx_ints){in, r});
    return jx_trace_status();
}

static jx_status tr_dynamic_slice(TR_ARGS) {
    (void)lin;
    ct_in[0] = jx__dynamic_update_slice_clamped_at(e->loc, jx__zeros(e->loc, &av[0]), ct[0], x + 1);
    return jx_trace_status();
}

/* The operand keeps the cotangent outside the window, the update gets the window. */
static jx_status tr_dynamic_update_slice(TR_ARGS) {
    if (lin[0]) ct_in[0] = jx__dynamic_update_slice_clamped_at(e->loc, ct[0], jx__zeros(e->loc, &av[1]), x + 2);
    if (lin[1]) ct_in[1] = jx__dynamic_slice_clamped_at(e->loc, ct[0], x + 2, shape_of(&av[1]));
    return jx_trace_status();
}

/* The operand's cotangent is the strided window of ct where its elements landed (after
 * undoing negative, cropping padding with zeros); the padding value received the rest. */
static jx_status tr_pad(TR_ARGS) {
    (void)x;
    jx_ints lo = attr(e, JX_A_LO), hi = attr(e, JX_A_HI), interior = attr(e, JX_A_INTERIOR);
    int r = av[0].rank;
    int64_t plo[JX_MAX_RANK], phi[JX_MAX_RANK], zero[JX_MAX_RANK] = {0};
    int64_t start[JX_MAX_RANK], limit[JX_MAX_RANK], step[JX_MAX_RANK];
    bool crop = false;
    for (int i = 0; i < r; i++) {
        plo[i] = lo.v[i] < 0 ? -lo.v[i] : 0;
        phi[i] = hi.v[i] < 0 ? -hi.v[i] : 0;
        crop |= plo[i] || phi[i];
        int64_t d = av[0].shape[i];
        start[i] = lo.v[i] > 0 ? lo.v[i] : 0;
        step[i] = interior.v[i] + 1;
        limit[i] = start[i] + (d > 0 ? (d - 1) * step[i] + 1 : 0);
    }
    jx_val full = ct[0];
    if (crop)
        full = jx_pad_at(e->loc, ct[0], jx_scalar_at(e->loc, av[0].dtype, 0), (jx_ints){plo, r},
                         (jx_ints){phi, r}, (jx_ints){zero, r});
    jx_val cx = jx_slice_at(e->loc, full, (jx_ints){start, r}, (jx_ints){limit, r}, (jx_ints){step, r});
    if (lin[0]) ct_in[0] = cx;
    if (lin[1])
        ct_in[1] = jx_sub_at(e->loc, jx_reduce_sum_at(e->loc, ct[0], JX_NOINTS),
                             jx_reduce_sum_at(e->loc, cx, JX_NOINTS));
    return jx_trace_status();
}

static jx_status tr_concatenate(TR_ARGS) {
    (void)x;
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int r = av[0].rank;
    int64_t start[JX_MAX_RANK] = {0}, limit[JX_MAX_RANK];
    for (int i = 0; i < r; i++) limit[i] = av[0].shape[i];
    limit[axis] = 0;
    for (int k = 0; k < e->nin; k++) {
        start[axis] = limit[axis];
        limit[axis] += av[k].shape[axis];
        if (lin[k]) ct_in[k] = jx_slice_at(e->loc, ct[0], (jx_ints){start, r}, (jx_ints){limit, r}, JX_NOINTS);
    }
    return jx_trace_status();
}

void jx__grad_register_movement(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    static const jx_prim linear[] = {
        JX_PRIM_BROADCAST_IN_DIM, JX_PRIM_RESHAPE, JX_PRIM_TRANSPOSE,     JX_PRIM_SQUEEZE,
        JX_PRIM_EXPAND_DIMS,      JX_PRIM_SLICE,   JX_PRIM_DYNAMIC_SLICE, JX_PRIM_DYNAMIC_UPDATE_SLICE,
        JX_PRIM_PAD,              JX_PRIM_CONCATENATE, JX_PRIM_REV,
    };
    for (size_t i = 0; i < sizeof linear / sizeof linear[0]; i++) jvp[linear[i]] = jvp_linear;
    tr[JX_PRIM_BROADCAST_IN_DIM] = tr_broadcast_in_dim;
    tr[JX_PRIM_RESHAPE] = tr_reshape;
    tr[JX_PRIM_SQUEEZE] = tr_reshape;
    tr[JX_PRIM_EXPAND_DIMS] = tr_reshape;
    tr[JX_PRIM_TRANSPOSE] = tr_transpose;
    tr[JX_PRIM_REV] = tr_rev;
    tr[JX_PRIM_SLICE] = tr_slice;
    tr[JX_PRIM_DYNAMIC_SLICE] = tr_dynamic_slice;
    tr[JX_PRIM_DYNAMIC_UPDATE_SLICE] = tr_dynamic_update_slice;
    tr[JX_PRIM_PAD] = tr_pad;
    tr[JX_PRIM_CONCATENATE] = tr_concatenate;
}
