/* rules_movement.c: batch rules of the data-movement primitives (see prims.def).
 * Wherever the primitive allows it, the mapped axis stays where it is and the axis
 * attributes are renumbered around it, so no transpose is emitted; reshape must see the
 * mapped axis first. Batched start indices of dynamic_slice become per-lane gathers
 * (indices start+iota), and those of dynamic_update_slice a gather of the update into
 * place and a select under the window's mask: never a loop over the lanes. */
#include <stdlib.h>

#include "vmap.h"

#define BARGS                                                                          \
    const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, \
        int *ydim

/* Room for a batched value's axes: one more than the unbatched rank. */
#define NAX (JX_MAX_RANK + 1)

static jx_ints attr(const jx__eqn *e, jx__akey k) { return jx__attr_ints(e->nattr, e->attrs, k); }

/* v with `val` inserted at position `at`, written to buf (NAX entries). */
static jx_ints ins(int64_t *buf, jx_ints v, int at, int64_t val) {
    for (int i = 0, k = 0; i <= v.n; i++) buf[i] = i == at ? val : v.v[k++];
    return (jx_ints){buf, v.n + 1};
}

/* Every entry of an axis list renumbered with jx__bax, written to buf. */
static jx_ints bax_all(int64_t *buf, jx_ints v, int bd) {
    for (int i = 0; i < v.n; i++) buf[i] = jx__bax(v.v[i], bd);
    return (jx_ints){buf, v.n};
}

/* How many entries of an axis list lie below bd. */
static int below(jx_ints v, int bd) {
    int n = 0;
    for (int i = 0; i < v.n; i++) n += v.v[i] < bd;
    return n;
}

static jx_ints shape_of(const jx_aval *a) { return (jx_ints){a->shape, a->rank}; }

/* ------------------------------------------------------------------ pure renumbering */

/* The output's mapped axis goes right after the output dim that operand dim bd-1 maps
 * to, which keeps dims strictly increasing. */
static jx_status b_broadcast_in_dim(BARGS) {
    int bd = bdim[0];
    jx_ints shape = attr(e, JX_A_SHAPE), dims = attr(e, JX_A_DIMS);
    int p = bd == 0 ? 0 : (int)dims.v[bd - 1] + 1;
    int64_t s[NAX], d[NAX];
    for (int i = 0; i <= dims.n; i++) {
        int64_t o = i == bd ? -1 : dims.v[i < bd ? i : i - 1];
        d[i] = i == bd ? p : o < p ? o : o + 1;
    }
    jx__attr a[2] = {jx__a_ints(JX_A_SHAPE, ins(s, shape, p, cx->size)),
                     jx__a_ints(JX_A_DIMS, (jx_ints){d, dims.n + 1})};
    y[0] = jx__vrebind(e, 1, x, 2, a);
    ydim[0] = p;
    return jx_trace_status();
}

/* Row-major regrouping only commutes with a leading mapped axis. */
static jx_status b_reshape(BARGS) {
    int64_t s[NAX];
    jx_val xf = jx__bfront(cx, e->loc, x[0], bdim[0]);
    jx__attr a = jx__a_ints(JX_A_SHAPE, ins(s, attr(e, JX_A_SHAPE), 0, cx->size));
    y[0] = jx__vrebind(e, 1, &xf, 1, &a);
    ydim[0] = 0;
    return jx_trace_status();
}

/* The mapped axis keeps its place in the output; the other entries are renumbered. */
static jx_status b_transpose(BARGS) {
    int bd = bdim[0];
    jx_ints perm = attr(e, JX_A_PERM);
    int64_t q[NAX];
    for (int i = 0; i <= perm.n; i++) q[i] = i == bd ? bd : jx__bax(perm.v[i < bd ? i : i - 1], bd);
    jx__attr a = jx__a_ints(JX_A_PERM, (jx_ints){q, perm.n + 1});
    y[0] = jx__vrebind(e, 1, x, 1, &a);
    ydim[0] = bd;
    return jx_trace_status();
}

/* squeeze and rev: a dims list renumbered; squeeze drops the dims below the mapped axis. */
static jx_status b_dims(BARGS) {
    int bd = bdim[0];
    jx_ints dims = attr(e, JX_A_DIMS);
    int64_t d[NAX];
    jx__attr a = jx__a_ints(JX_A_DIMS, bax_all(d, dims, bd));
    y[0] = jx__vrebind(e, 1, x, 1, &a);
    ydim[0] = e->prim == JX_PRIM_SQUEEZE ? bd - below(dims, bd) : bd;
    return jx_trace_status();
}

/* dims are output positions: the mapped axis goes right after the output position of
 * operand dim bd-1, so operand dims keep their order. */
static jx_status b_expand_dims(BARGS) {
    int bd = bdim[0];
    jx_ints dims = attr(e, JX_A_DIMS);
    jx_aval xa = jx__unbatched_aval(x[0], bd);
    int r = xa.rank + dims.n;
    bool added[NAX] = {false};
    for (int i = 0; i < dims.n; i++)
        if (dims.v[i] >= 0 && dims.v[i] < r) added[dims.v[i]] = true;
    int p = 0;
    for (int o = 0, k = 0; o < r && k < bd; o++)
        if (!added[o] && ++k == bd) p = o + 1;
    int64_t d[NAX];
    for (int i = 0; i < dims.n; i++) d[i] = dims.v[i] < p ? dims.v[i] : dims.v[i] + 1;
    jx__attr a = jx__a_ints(JX_A_DIMS, (jx_ints){d, dims.n});
    y[0] = jx__vrebind(e, 1, x, 1, &a);
    ydim[0] = p;
    return jx_trace_status();
}

/* The whole mapped axis is kept: start 0, limit size, stride 1. */
static jx_status b_slice(BARGS) {
    int bd = bdim[0];
    int64_t s[NAX], l[NAX], t[NAX];
    jx__attr a[3] = {jx__a_ints(JX_A_START, ins(s, attr(e, JX_A_START), bd, 0)),
                     jx__a_ints(JX_A_LIMIT, ins(l, attr(e, JX_A_LIMIT), bd, cx->size)),
                     jx__a_ints(JX_A_STRIDES, ins(t, attr(e, JX_A_STRIDES), bd, 1))};
    y[0] = jx__vrebind(e, 1, x, 3, a);
    ydim[0] = bd;
    return jx_trace_status();
}

/* Unbatched operands are broadcast to the first batched operand's mapped axis. */
static jx_status b_concatenate(BARGS) {
    int b = JX_NOBATCH;
    for (int i = 0; i < e->nin && b == JX_NOBATCH; i++) b = bdim[i];
    jx_val buf[16];
    jx_val *xs = e->nin <= 16 ? buf : malloc(sizeof *xs * (size_t)e->nin);
    if (!xs) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, e->loc, "vmap", "out of memory");
        return jx_trace_status();
    }
    for (int i = 0; i < e->nin; i++) xs[i] = jx__bmove(cx, e->loc, x[i], bdim[i], b);
    jx__attr a = jx__a_int(JX_A_AXIS, jx__bax(jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0), b));
    y[0] = jx__vrebind(e, e->nin, xs, 1, &a);
    ydim[0] = b;
    if (xs != buf) free(xs);
    return jx_trace_status();
}

/* pad's attributes with a zero entry for a mapped axis at bd (bd < 0: unchanged). */
static void pad_attrs(const jx__eqn *e, int bd, int64_t buf[3][NAX], jx__attr a[3]) {
    static const jx__akey keys[3] = {JX_A_LO, JX_A_HI, JX_A_INTERIOR};
    for (int k = 0; k < 3; k++) {
        jx_ints v = attr(e, keys[k]);
        a[k] = jx__a_ints(keys[k], bd < 0 ? v : ins(buf[k], v, bd, 0));
    }
}

/* A batched padding value: pad with zero, then select the lane's value where the
 * padding is (a mask made by padding false with true, so cropping and interior padding
 * are handled by pad itself); no copy of an unbatched operand is made. */
static jx_status b_pad(BARGS) {
    int64_t buf[3][NAX];
    jx__attr a[3];
    int xb = bdim[0];
    pad_attrs(e, xb, buf, a);
    if (bdim[1] == JX_NOBATCH) {
        y[0] = jx__vrebind(e, 2, x, 3, a);
        ydim[0] = xb;
        return jx_trace_status();
    }
    jx_aval xa = jx__unbatched_aval(x[0], xb);
    jx_val ops[2] = {x[0], jx_scalar_at(e->loc, xa.dtype, 0)};
    jx_val padded = jx__vrebind(e, 2, ops, 3, a);
    pad_attrs(e, -1, buf, a);
    jx_val m[2] = {jx_full_at(e->loc, JX_BOOL, shape_of(&xa), 0), jx_scalar_at(e->loc, JX_BOOL, 1)};
    jx_val mask = jx__vrebind(e, 2, m, 3, a);
    int yb = xb >= 0 ? xb : 0;
    if (xb >= 0) mask = jx_expand_dims_at(e->loc, mask, (jx_ints){(int64_t[]){xb}, 1});
    int64_t vs[NAX];
    for (int i = 0; i <= xa.rank; i++) vs[i] = i == yb ? cx->size : 1;
    jx_val v = jx_reshape_at(e->loc, x[1], (jx_ints){vs, xa.rank + 1});
    y[0] = jx_select_at(e->loc, mask, v, padded);
    ydim[0] = yb;
    return jx_trace_status();
}

/* ------------------------------------------------------------------ dynamic slicing */

static bool any_batched(int n, const int *bdim) {
    for (int i = 0; i < n; i++)
        if (bdim[i] != JX_NOBATCH) return true;
    return false;
}

/* A start index as i64 (i32 stays i32), clamped into [0, hi] like the primitive does;
 * a batched start (rank 1, mapped axis 0) is clamped lane by lane. */
static jx_val clamp_start(jx_loc loc, jx_val s, int64_t hi) {
    jx_dtype t = jx_dtype_of(s) == JX_I32 ? JX_I32 : JX_I64;
    if (jx_dtype_of(s) != t) s = jx_convert_at(loc, s, t);
    s = jx_min_at(loc, s, jx_scalar_at(loc, t, (double)hi));
    return jx_max_at(loc, s, jx_scalar_at(loc, t, 0));
}

/* Starts for a dynamic_slice / dynamic_update_slice of the batched operand: out[k] for
 * operand dim k, a literal 0 for the mapped axis bd (bd < 0: none). Returns the count. */
static int starts_with_axis(jx_loc loc, int r, const jx_val *starts, int bd, jx_val *out) {
    for (int i = 0, k = 0; i <= r; i++) {
        if (i == bd) out[i] = jx_scalar_at(loc, JX_I32, 0);
        else if (k < r) out[i] = starts[k++];
    }
    return bd >= 0 ? r + 1 : r;
}

/* dynamic_slice: the dims with unbatched starts are sliced first (one dynamic_slice of
 * the whole batch); each dim with a batched start is then a gather of start+iota, lane
 * by lane (nbatch 1), or, while x is still unbatched, a plain gather that introduces the
 * mapped axis (nbatch 0). A dim kept whole ignores its start (it clamps to 0). */
static jx_status b_dynamic_slice(BARGS) {
    int r = e->nin - 1, cb = bdim[0];
    jx_ints sizes = attr(e, JX_A_SIZES);
    jx_val cur = x[0];
    jx_aval xa = jx__unbatched_aval(x[0], cb);
    jx_val st[NAX + 1];
    int64_t sz[NAX];
    if (!any_batched(r, bdim + 1)) {
        starts_with_axis(e->loc, r, x + 1, cb, st + 1);
        st[0] = x[0];
        jx__attr a = jx__a_ints(JX_A_SIZES, ins(sz, sizes, cb, cx->size));
        y[0] = jx__vrebind(e, r + 2, st, 1, &a);
        ydim[0] = cb;
        return jx_trace_status();
    }
    bool pre = false; /* is there an unbatched start that cuts its dim? */
    jx_val plain[JX_MAX_RANK];
    int64_t psz[JX_MAX_RANK];
    for (int d = 0; d < r; d++) {
        bool batched = bdim[1 + d] != JX_NOBATCH;
        plain[d] = batched ? jx_scalar_at(e->loc, JX_I32, 0) : x[1 + d];
        psz[d] = batched ? xa.shape[d] : sizes.v[d];
        pre |= !batched && sizes.v[d] < xa.shape[d];
    }
    if (pre) {
        int n = starts_with_axis(e->loc, r, plain, cb, st + 1);
        st[0] = cur;
        jx_ints s = {psz, r};
        jx__attr a = jx__a_ints(JX_A_SIZES, cb >= 0 ? ins(sz, s, cb, cx->size) : s);
        cur = jx__bind1(e->loc, JX_PRIM_DYNAMIC_SLICE, n + 1, st, 1, &a);
    }
    for (int d = 0; d < r; d++) {
        if (bdim[1 + d] == JX_NOBATCH || sizes.v[d] == xa.shape[d]) continue;
        jx_val s = clamp_start(e->loc, jx__bfront(cx, e->loc, x[1 + d], bdim[1 + d]),
                               xa.shape[d] - sizes.v[d]);
        jx_dtype t = jx_dtype_of(s);
        s = jx_reshape_at(e->loc, s, JX_INTS(cx->size, 1));
        jx_val idx = jx_add_at(e->loc, s, jx_iota_at(e->loc, t, JX_INTS(1, sizes.v[d]), 1));
        if (cb == JX_NOBATCH) {
            cur = jx__gather_clamped_at(e->loc, cur, idx, d, 0); /* (x[:d], B, size, x[d+1:]) */
            cur = jx__bfront(cx, e->loc, cur, d);
        } else {
            cur = jx__gather_clamped_at(e->loc, jx__bfront(cx, e->loc, cur, cb), idx, d + 1, 1);
        }
        cb = 0;
    }
    y[0] = cur;
    ydim[0] = cb;
    return jx_trace_status();
}

/* dynamic_update_slice with batched starts: along each dim the update is cut by, the
 * update is gathered into place (output position p reads update index p - start) and a
 * mask keeps the window; the result selects the placed update inside it and x outside. */
static jx_val dus_batched(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim) {
    int r = e->nin - 2;
    jx_loc loc = e->loc;
    jx_aval xa = jx__unbatched_aval(x[0], bdim[0]), ua = jx__unbatched_aval(x[1], bdim[1]);
    jx_val u = jx__bfront(cx, loc, x[1], bdim[1]), mask = JX_NONE;
    int64_t full[NAX];
    full[0] = cx->size;
    for (int d = 0; d < r; d++) full[d + 1] = xa.shape[d];
    for (int d = 0; d < r; d++) {
        if (ua.shape[d] == xa.shape[d]) continue; /* the start clamps to 0 */
        bool sb = bdim[2 + d] != JX_NOBATCH;
        jx_val s = clamp_start(loc, sb ? jx__bfront(cx, loc, x[2 + d], bdim[2 + d]) : x[2 + d],
                               xa.shape[d] - ua.shape[d]);
        jx_dtype t = jx_dtype_of(s);
        jx_val p = sb ? jx_iota_at(loc, t, JX_INTS(1, xa.shape[d]), 1)
                      : jx_iota_at(loc, t, JX_INTS(xa.shape[d]), 0);
        if (sb) s = jx_reshape_at(loc, s, JX_INTS(cx->size, 1));
        jx_val idx = jx_sub_at(loc, p, s); /* (B, X_d) or (X_d) */
        u = jx__gather_clamped_at(loc, u, idx, d + 1, sb ? 1 : 0);
        jx_val ok = jx_and_at(loc, jx_ge_at(loc, idx, jx_scalar_at(loc, t, 0)),
                              jx_lt_at(loc, idx, jx_scalar_at(loc, t, (double)ua.shape[d])));
        ok = jx_broadcast_in_dim_at(loc, ok, (jx_ints){full, r + 1},
                                    sb ? JX_INTS(0, d + 1) : JX_INTS(d + 1));
        mask = mask.id < 0 ? ok : jx_and_at(loc, mask, ok);
    }
    if (mask.id < 0) return u;
    /* select broadcasts an unbatched x against the leading mapped axis */
    jx_val xv = bdim[0] == JX_NOBATCH ? x[0] : jx__bfront(cx, loc, x[0], bdim[0]);
    return jx_select_at(loc, mask, u, xv);
}

static jx_status b_dynamic_update_slice(BARGS) {
    int r = e->nin - 2;
    if (any_batched(r, bdim + 2)) {
        y[0] = dus_batched(cx, e, x, bdim);
        ydim[0] = 0;
        return jx_trace_status();
    }
    int b = bdim[0] != JX_NOBATCH ? bdim[0] : bdim[1];
    jx_val ops[NAX + 2];
    ops[0] = jx__bmove(cx, e->loc, x[0], bdim[0], b);
    ops[1] = jx__bmove(cx, e->loc, x[1], bdim[1], b);
    int n = starts_with_axis(e->loc, r, x + 2, b, ops + 2);
    y[0] = jx__bind1(e->loc, JX_PRIM_DYNAMIC_UPDATE_SLICE, n + 2, ops, e->nattr, e->attrs);
    ydim[0] = b;
    return jx_trace_status();
}

void jx__vmap_register_movement(jx__batch_rule *t) {
    t[JX_PRIM_BROADCAST_IN_DIM] = b_broadcast_in_dim;
    t[JX_PRIM_RESHAPE] = b_reshape;
    t[JX_PRIM_TRANSPOSE] = b_transpose;
    t[JX_PRIM_SQUEEZE] = b_dims;
    t[JX_PRIM_REV] = b_dims;
    t[JX_PRIM_EXPAND_DIMS] = b_expand_dims;
    t[JX_PRIM_SLICE] = b_slice;
    t[JX_PRIM_DYNAMIC_SLICE] = b_dynamic_slice;
    t[JX_PRIM_DYNAMIC_UPDATE_SLICE] = b_dynamic_update_slice;
    t[JX_PRIM_PAD] = b_pad;
    t[JX_PRIM_CONCATENATE] = b_concatenate;
}
