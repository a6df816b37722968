/* ops_movement.c: the public data-movement ops (jx_reshape, jx_transpose, jx_slice,
 * jx_pad, ...). They normalise negative axes, fill defaults, infer reshape's -1 and
 * drop no-op equations; the shape rules in shape_movement.c do all other checking.
 *
 * An axis out of range is passed through unchanged so the rule reports it as the user
 * wrote it. When there is no usable trace or operand, an op binds with no attributes:
 * the bind then fails before any rule runs, with the usual message. */
#include <stdio.h>
#include <string.h>

#include "ops_util.h"

/* Records an op wrapper's own error on the innermost trace; returns an invalid value. */
static jx_val op_fail(jx_loc loc, const char *op, jx_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static jx_val op_fail(jx_loc loc, const char *op, jx_status code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jx__trace *t = jx__trace_top();
    if (!t) {
        jx__fail(code, loc, op, "%s", msg);
        return JX_NONE;
    }
    jx__trace_fail(t, code, loc, op, "%s", msg);
    return (jx_val){t->id, -1};
}

/* x's aval, when there is a healthy trace and x is valid; otherwise the op should
 * just bind (which reports the problem). */
static bool usable(jx_val x, jx_aval *a) {
    jx__trace *t = jx__trace_top();
    *a = jx__val_aval(x);
    return t && t->status == JX_OK && a->rank >= 0;
}

static jx_val plain_bind(jx_loc loc, jx_prim p, int nin, const jx_val *in) {
    return jx__bind1(loc, p, nin, in, 0, NULL);
}

/* A caller's int list must be readable before anything copies it. */
static bool ints_ok(jx_loc loc, const char *op, const char *name, jx_ints v) {
    if (v.n >= 0 && (v.n == 0 || v.v)) return true;
    op_fail(loc, op, JX_ERR_ARG, "%s is not a valid int list (%d entries at %p)", name, v.n,
            (const void *)v.v);
    return false;
}

/* Axes counted from the end become non-negative, into buf (JX_MAX_RANK entries). A list
 * too long for buf is returned as is: the rule rejects it. */
static jx_ints norm_axes(jx_ints v, int rank, int64_t *buf) {
    if (v.n > JX_MAX_RANK) return v;
    for (int i = 0; i < v.n; i++) buf[i] = v.v[i] < 0 && v.v[i] >= -rank ? v.v[i] + rank : v.v[i];
    return (jx_ints){buf, v.n};
}

static bool same_ints(jx_ints v, const int64_t *w, int n) {
    if (v.n != n) return false;
    for (int i = 0; i < n; i++)
        if (v.v[i] != w[i]) return false;
    return true;
}

static bool is_iota(jx_ints v, int n) {
    int64_t iota[JX_MAX_RANK];
    for (int i = 0; i < n && i < JX_MAX_RANK; i++) iota[i] = i;
    return n <= JX_MAX_RANK && same_ints(v, iota, n);
}

static jx_val bind_x(jx_loc loc, jx_prim p, jx_val x, int nattr, const jx__attr *attrs) {
    return jx__bind1(loc, p, 1, &x, nattr, attrs);
}

/* ------------------------------------------------------------------ ops */

jx_val jx_broadcast_in_dim_at(jx_loc loc, jx_val x, jx_ints shape, jx_ints dims) {
    jx_aval a;
    if (!ints_ok(loc, "broadcast_in_dim", "shape", shape) || !ints_ok(loc, "broadcast_in_dim", "dims", dims))
        return plain_bind(loc, JX_PRIM_BROADCAST_IN_DIM, 1, &x);
    if (!usable(x, &a)) return plain_bind(loc, JX_PRIM_BROADCAST_IN_DIM, 1, &x);
    int64_t buf[JX_MAX_RANK];
    dims = norm_axes(dims, shape.n, buf);
    if (same_ints(shape, a.shape, a.rank) && is_iota(dims, a.rank)) return x;
    jx__attr at[2] = {jx__a_ints(JX_A_SHAPE, shape), jx__a_ints(JX_A_DIMS, dims)};
    return bind_x(loc, JX_PRIM_BROADCAST_IN_DIM, x, 2, at);
}

jx_val jx_broadcast_to_at(jx_loc loc, jx_val x, jx_ints shape) {
    jx_aval a;
    if (!ints_ok(loc, "broadcast_to", "shape", shape) || !usable(x, &a))
        return plain_bind(loc, JX_PRIM_BROADCAST_IN_DIM, 1, &x);
    bool fits = shape.n >= a.rank && shape.n <= JX_MAX_RANK;
    int lead = shape.n - a.rank;
    for (int i = 0; fits && i < a.rank; i++) fits = a.shape[i] == 1 || a.shape[i] == shape.v[lead + i];
    if (!fits) return op_fail(loc, "broadcast_to", JX_ERR_SHAPE, "cannot broadcast %s to %s", jx__avs(&a), jx__ints_str(shape));
    if (same_ints(shape, a.shape, a.rank)) return x;
    int64_t dims[JX_MAX_RANK];
    for (int i = 0; i < a.rank; i++) dims[i] = lead + i;
    jx__attr at[2] = {jx__a_ints(JX_A_SHAPE, shape), jx__a_ints(JX_A_DIMS, (jx_ints){dims, a.rank})};
    return bind_x(loc, JX_PRIM_BROADCAST_IN_DIM, x, 2, at);
}

jx_val jx_reshape_at(jx_loc loc, jx_val x, jx_ints shape) {
    jx_aval a;
    if (!ints_ok(loc, "reshape", "shape", shape) || !usable(x, &a)) return plain_bind(loc, JX_PRIM_RESHAPE, 1, &x);
    int64_t buf[JX_MAX_RANK];
    int hole = -1;
    for (int i = 0; i < shape.n && shape.n <= JX_MAX_RANK; i++) {
        if (shape.v[i] != -1) continue;
        if (hole >= 0)
            return op_fail(loc, "reshape", JX_ERR_ARG, "shape %s has more than one -1", jx__ints_str(shape));
        hole = i;
    }
    if (hole >= 0) { /* infer it from the other dims; a negative one is the rule's to report */
        int64_t known = 1, size = jx_aval_size(&a);
        bool neg = false;
        for (int i = 0; i < shape.n; i++) {
            int64_t d = buf[i] = shape.v[i];
            if (i == hole) continue;
            if (d < 0) neg = true;
            else if (d == 0 || known <= INT64_MAX / d) known *= d;
            else known = INT64_MAX; /* saturates: can only match an empty x */
        }
        if (!neg) {
            if (known == 0 || size % known != 0)
                return op_fail(loc, "reshape", JX_ERR_SHAPE, "cannot reshape %s to %s", jx__avs(&a), jx__ints_str(shape));
            buf[hole] = size / known;
            shape = (jx_ints){buf, shape.n};
        }
    }
    if (same_ints(shape, a.shape, a.rank)) return x;
    jx__attr at = jx__a_ints(JX_A_SHAPE, shape);
    return bind_x(loc, JX_PRIM_RESHAPE, x, 1, &at);
}

jx_val jx_transpose_at(jx_loc loc, jx_val x, jx_ints perm) {
    jx_aval a;
    if (!ints_ok(loc, "transpose", "perm", perm) || !usable(x, &a)) return plain_bind(loc, JX_PRIM_TRANSPOSE, 1, &x);
    int64_t buf[JX_MAX_RANK];
    perm = norm_axes(perm, a.rank, buf);
    if (is_iota(perm, a.rank)) return x;
    jx__attr at = jx__a_ints(JX_A_PERM, perm);
    return bind_x(loc, JX_PRIM_TRANSPOSE, x, 1, &at);
}

/* squeeze, expand_dims and rev: a dims list normalised against rank + extra. */
static jx_val dims_op(jx_loc loc, jx_prim p, jx_val x, jx_ints dims, int extra) {
    jx_aval a;
    if (!ints_ok(loc, jx__prims[p].name, "dims", dims) || !usable(x, &a)) return plain_bind(loc, p, 1, &x);
    if (dims.n == 0) return x;
    int64_t buf[JX_MAX_RANK];
    dims = norm_axes(dims, a.rank + extra, buf);
    jx__attr at = jx__a_ints(JX_A_DIMS, dims);
    return bind_x(loc, p, x, 1, &at);
}

jx_val jx_squeeze_at(jx_loc loc, jx_val x, jx_ints dims) { return dims_op(loc, JX_PRIM_SQUEEZE, x, dims, 0); }
jx_val jx_expand_dims_at(jx_loc loc, jx_val x, jx_ints dims) {
    return dims_op(loc, JX_PRIM_EXPAND_DIMS, x, dims, dims.n > 0 ? dims.n : 0);
}
jx_val jx_rev_at(jx_loc loc, jx_val x, jx_ints dims) { return dims_op(loc, JX_PRIM_REV, x, dims, 0); }

jx_val jx_slice_at(jx_loc loc, jx_val x, jx_ints start, jx_ints limit, jx_ints strides) {
    jx_aval a;
    if (!ints_ok(loc, "slice", "start", start) || !ints_ok(loc, "slice", "limit", limit) ||
        !ints_ok(loc, "slice", "strides", strides) || !usable(x, &a))
        return plain_bind(loc, JX_PRIM_SLICE, 1, &x);
    int64_t ones[JX_MAX_RANK], zeros[JX_MAX_RANK] = {0};
    for (int i = 0; i < JX_MAX_RANK; i++) ones[i] = 1;
    if (strides.n == 0) strides = (jx_ints){ones, a.rank};
    if (same_ints(start, zeros, a.rank) && same_ints(limit, a.shape, a.rank) && same_ints(strides, ones, a.rank))
        return x;
    jx__attr at[3] = {jx__a_ints(JX_A_START, start), jx__a_ints(JX_A_LIMIT, limit),
                      jx__a_ints(JX_A_STRIDES, strides)};
    return bind_x(loc, JX_PRIM_SLICE, x, 3, at);
}

/* x, then `pre` more operands, then rank(x) start indices (wrapped once when negative,
 * as JAX's public dynamic_slice does, when wrap). */
static jx_val dynamic_op(jx_loc loc, jx_prim p, jx_val x, const jx_val *pre, int npre, const jx_val *starts,
                         int nattr, const jx__attr *attrs, bool wrap) {
    jx_aval a;
    jx_val ops[2 + JX_MAX_RANK];
    ops[0] = x;
    for (int i = 0; i < npre; i++) ops[1 + i] = pre[i];
    if (!usable(x, &a)) return plain_bind(loc, p, 1 + npre, ops);
    if (a.rank > 0 && !starts) return op_fail(loc, jx__prims[p].name, JX_ERR_ARG, "starts is NULL for %s", jx__avs(&a));
    for (int i = 0; i < a.rank; i++) ops[1 + npre + i] = wrap ? jx__wrap_index(loc, starts[i], a.shape[i]) : starts[i];
    return jx__bind1(loc, p, 1 + npre + a.rank, ops, nattr, attrs);
}

static jx_val dynamic_slice(jx_loc loc, jx_val x, const jx_val *starts, jx_ints sizes, bool wrap) {
    if (!ints_ok(loc, "dynamic_slice", "sizes", sizes)) return plain_bind(loc, JX_PRIM_DYNAMIC_SLICE, 1, &x);
    jx__attr at = jx__a_ints(JX_A_SIZES, sizes);
    return dynamic_op(loc, JX_PRIM_DYNAMIC_SLICE, x, NULL, 0, starts, 1, &at, wrap);
}

jx_val jx_dynamic_slice_at(jx_loc loc, jx_val x, const jx_val *starts, jx_ints sizes) {
    return dynamic_slice(loc, x, starts, sizes, true);
}
jx_val jx__dynamic_slice_clamped_at(jx_loc loc, jx_val x, const jx_val *starts, jx_ints sizes) {
    return dynamic_slice(loc, x, starts, sizes, false);
}

jx_val jx_dynamic_update_slice_at(jx_loc loc, jx_val x, jx_val update, const jx_val *starts) {
    return dynamic_op(loc, JX_PRIM_DYNAMIC_UPDATE_SLICE, x, &update, 1, starts, 0, NULL, true);
}
jx_val jx__dynamic_update_slice_clamped_at(jx_loc loc, jx_val x, jx_val update, const jx_val *starts) {
    return dynamic_op(loc, JX_PRIM_DYNAMIC_UPDATE_SLICE, x, &update, 1, starts, 0, NULL, false);
}

jx_val jx_pad_at(jx_loc loc, jx_val x, jx_val padding_value, jx_ints lo, jx_ints hi, jx_ints interior) {
    jx_val ops[2] = {x, padding_value};
    jx_aval a;
    if (!ints_ok(loc, "pad", "lo", lo) || !ints_ok(loc, "pad", "hi", hi) ||
        !ints_ok(loc, "pad", "interior", interior) || !usable(x, &a))
        return plain_bind(loc, JX_PRIM_PAD, 2, ops);
    int64_t zeros[JX_MAX_RANK] = {0};
    if (interior.n == 0) interior = (jx_ints){zeros, a.rank}; /* JX_NOINTS: no interior padding */
    jx__attr at[3] = {jx__a_ints(JX_A_LO, lo), jx__a_ints(JX_A_HI, hi), jx__a_ints(JX_A_INTERIOR, interior)};
    return jx__bind1(loc, JX_PRIM_PAD, 2, ops, 3, at);
}

jx_val jx_concatenate_at(jx_loc loc, int n, const jx_val *xs, int axis) {
    if (n < 1 || !xs)
        return op_fail(loc, "concatenate", JX_ERR_ARG, "needs at least one operand (got %d%s)", n,
                       n >= 1 ? ", xs is NULL" : "");
    jx_aval a;
    if (!usable(xs[0], &a)) return plain_bind(loc, JX_PRIM_CONCATENATE, n, xs);
    int ax = jx__norm_axis(axis, a.rank);
    if (n == 1 && ax >= 0) return xs[0];
    jx__attr at = jx__a_int(JX_A_AXIS, ax >= 0 ? ax : axis);
    return jx__bind1(loc, JX_PRIM_CONCATENATE, n, xs, 1, &at);
}
