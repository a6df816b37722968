/* rules_index.c: batch rules for gather, scatter_add, sort, top_k and threefry2x32 (see
 * prims.def). gather and scatter_add take the mapped axis as one more shared batch dim
 * (nbatch + 1) when the indices are mapped, and otherwise just carry it along: mapped
 * indices alone need no copy of x; sort and top_k sort along an axis the mapped one
 * never is; threefry is elementwise over its four operands. */
#include <stdlib.h>

#include "vmap.h"

/* ------------------------------------------------------------------ gather, scatter_add */

static jx_val bind_index(const jx__eqn *e, jx_prim p, int nin, const jx_val *in, int64_t axis,
                         int64_t nbatch) {
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, axis), jx__a_int(JX_A_NBATCH, nbatch)};
    return jx__bind1(e->loc, p, nin, in, 2, at);
}

/* out = x.shape[:axis] + idx.shape[nbatch:] + x.shape[axis+1:], the first nbatch dims
 * shared. Both mapped: one more shared dim in front. x mapped: its axis goes right after
 * the shared dims, and is there in the output. Indices mapped: the axis is one of the
 * indices' own dims (moved after the shared ones if it is among them) and appears where
 * gather puts those. */
static jx_status batch_gather(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                              jx_val *y, int *ydim) {
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int nb = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0);
    int bx = bdim[0], bi = bdim[1];
    jx_val in[2] = {x[0], x[1]};
    if (bx != JX_NOBATCH && bi != JX_NOBATCH) {
        in[0] = jx__bfront(cx, e->loc, x[0], bx);
        in[1] = jx__bfront(cx, e->loc, x[1], bi);
        y[0] = bind_index(e, JX_PRIM_GATHER, 2, in, axis + 1, nb + 1);
        ydim[0] = 0;
    } else if (bx != JX_NOBATCH) {
        in[0] = jx__bmove(cx, e->loc, x[0], bx, nb);
        y[0] = bind_index(e, JX_PRIM_GATHER, 2, in, axis + 1, nb);
        ydim[0] = nb;
    } else {
        if (bi < nb) {
            in[1] = jx__bmove(cx, e->loc, x[1], bi, nb);
            bi = nb;
        }
        y[0] = bind_index(e, JX_PRIM_GATHER, 2, in, axis, nb);
        ydim[0] = (int)axis + bi - nb;
    }
    return jx_trace_status();
}

/* The output has x's shape and is mapped whatever is mapped, so x is broadcast when it
 * is not. Indices mapped: every operand's mapped axis goes first, one more shared dim.
 * Otherwise x's and the updates' go right after the shared dims (the updates have
 * gather's shape, which puts it there too). */
static jx_status batch_scatter_add(const jx__vctx *cx, const jx__eqn *e, const jx_val *x,
                                   const int *bdim, jx_val *y, int *ydim) {
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int nb = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0);
    jx_val in[3] = {x[0], x[1], x[2]};
    if (bdim[1] != JX_NOBATCH) {
        for (int i = 0; i < 3; i++) in[i] = jx__bfront(cx, e->loc, x[i], bdim[i]);
        y[0] = bind_index(e, JX_PRIM_SCATTER_ADD, 3, in, axis + 1, nb + 1);
        ydim[0] = 0;
    } else {
        in[0] = jx__bmove(cx, e->loc, x[0], bdim[0], nb);
        in[2] = jx__bmove(cx, e->loc, x[2], bdim[2], nb);
        y[0] = bind_index(e, JX_PRIM_SCATTER_ADD, 3, in, axis + 1, nb);
        ydim[0] = nb;
    }
    return jx_trace_status();
}

/* ------------------------------------------------------------------ sort, top_k */

/* Every operand gets its mapped axis where the first mapped one has it (broadcasting
 * unmapped ones: they are permuted per slice), and the sorted axis is renumbered. */
static jx_status batch_sort(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                            jx_val *y, int *ydim) {
    int n = e->nin, p = JX_NOBATCH;
    for (int i = 0; i < n && p == JX_NOBATCH; i++) p = bdim[i];
    int64_t axis = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int64_t num_keys = jx__attr_int(e->nattr, e->attrs, JX_A_NUM_KEYS, 1);
    jx_val buf[16];
    jx_val *in = n <= 16 ? buf : malloc(sizeof *in * (size_t)n);
    if (!in) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, e->loc, "sort", "vmap: out of memory");
        return jx_trace_status();
    }
    for (int i = 0; i < n; i++) in[i] = jx__bmove(cx, e->loc, x[i], bdim[i], p);
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, axis >= p ? axis + 1 : axis),
                      jx__a_int(JX_A_NUM_KEYS, num_keys)};
    jx__bind(e->loc, JX_PRIM_SORT, n, in, 2, at, e->nout, y, NULL);
    for (int i = 0; i < e->nout; i++) ydim[i] = p;
    if (in != buf) free(in);
    return jx_trace_status();
}

/* top_k works on the last axis: a mapped axis elsewhere stays where it is. */
static jx_status batch_top_k(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                             jx_val *y, int *ydim) {
    int b = bdim[0];
    jx_val v = x[0];
    if (b == jx_rank(v) - 1) {
        v = jx__bfront(cx, e->loc, v, b);
        b = 0;
    }
    jx__bind(e->loc, JX_PRIM_TOP_K, 1, &v, e->nattr, e->attrs, 2, y, NULL);
    ydim[0] = ydim[1] = b;
    return jx_trace_status();
}

/* ------------------------------------------------------------------ threefry2x32 */

/* Elementwise over (k0, k1, x0, x1): the counters and any key of their shape get the
 * mapped axis at one place p; an unmapped scalar key stays a scalar, a mapped scalar key
 * (a key per slice) is broadcast along the counters' dims. */
static jx_status batch_threefry(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                                jx_val *y, int *ydim) {
    static const int order[4] = {2, 3, 0, 1};
    jx_aval ua[4];
    for (int i = 0; i < 4; i++) ua[i] = jx__unbatched_aval(x[i], bdim[i]);
    jx_aval ctr = ua[2];
    int p = JX_NOBATCH;
    for (int k = 0; k < 4 && p == JX_NOBATCH; k++) {
        int i = order[k];
        if (bdim[i] != JX_NOBATCH && ua[i].rank == ctr.rank) p = bdim[i];
    }
    if (p == JX_NOBATCH) p = 0;
    jx_val in[4];
    for (int i = 0; i < 4; i++) {
        bool scalar_key = i < 2 && ua[i].rank == 0;
        if (scalar_key && bdim[i] == JX_NOBATCH) { /* the same for every slice */
            in[i] = x[i];
        } else if (!scalar_key || ctr.rank == 0) {
            in[i] = jx__bmove(cx, e->loc, x[i], bdim[i], p);
        } else { /* a scalar key per slice: (B) -> the counters' batched shape */
            in[i] = jx__bspread(cx, e->loc, x[i], &ctr, p);
        }
    }
    jx__bind(e->loc, JX_PRIM_THREEFRY2X32, 4, in, e->nattr, e->attrs, 2, y, NULL);
    ydim[0] = ydim[1] = p;
    return jx_trace_status();
}

void jx__vmap_register_index(jx__batch_rule *t) {
    t[JX_PRIM_GATHER] = batch_gather;
    t[JX_PRIM_SCATTER_ADD] = batch_scatter_add;
    t[JX_PRIM_SORT] = batch_sort;
    t[JX_PRIM_TOP_K] = batch_top_k;
    t[JX_PRIM_THREEFRY2X32] = batch_threefry;
}
