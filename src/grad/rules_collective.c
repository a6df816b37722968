/* rules_collective.c: jvp and transpose rules for the collectives over a named axis.
 *  - psum is linear (its jvp is psum of the tangent); summing over the slices is its own
 *    transpose: each slice's input reaches every slice's output, so its cotangent is the
 *    sum of theirs, psum(ct).
 *  - pmax/pmin: like reduce_max, the tangent is shared equally among the slices whose x
 *    equals the result (ties split): psum(dx * at) / psum(at), at = (x == y).
 *  - all_gather is linear; its transpose takes this slice's row of the summed
 *    cotangents: psum(ct)[axis_index].
 *  - ppermute is linear; its transpose sends the cotangents back (the pairs reversed);
 *  - all_to_all is linear; its transpose is the all_to_all with split and concat axes
 *    swapped;
 *  - axis_index has no operand, so no tangent reaches it. */
#include <stdlib.h>

#include "grad.h"

#define JVP_ARGS const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy
#define TR_ARGS                                                                                    \
    const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct, \
        jx_val *ct_in

/* e's collective on v with e's attributes (the same axis name). */
static jx_val same(const jx__eqn *e, jx_val v) {
    return jx__bind1(e->loc, (jx_prim)e->prim, 1, &v, e->nattr, e->attrs);
}

/* e's axis name. */
static const char *axis_of(const jx__eqn *e) { return jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME); }

/* psum over e's axis. */
static jx_val psum(const jx__eqn *e, jx_val v) { return jx_psum_at(e->loc, v, axis_of(e)); }

static jx_status jvp_linear(JVP_ARGS) {
    jx__rebind(e, x, y);
    dy[0] = same(e, dx[0]);
    return jx_trace_status();
}

static jx_status jvp_pextreme(JVP_ARGS) {
    jx__rebind(e, x, y);
    jx_aval xa = jx__val_aval(x[0]);
    jx_val at = jx_convert_at(e->loc, jx_eq_at(e->loc, x[0], y[0]), xa.dtype);
    dy[0] = jx_div_at(e->loc, psum(e, jx_mul_at(e->loc, dx[0], at)), psum(e, at));
    return jx_trace_status();
}

static jx_status tr_psum(TR_ARGS) {
    (void)x, (void)av, (void)lin;
    ct_in[0] = psum(e, ct[0]);
    return jx_trace_status();
}

static jx_status tr_all_gather(TR_ARGS) {
    (void)x, (void)lin;
    jx_loc loc = e->loc;
    jx_val starts[JX_MAX_RANK + 1];
    int64_t sizes[JX_MAX_RANK + 1], zero = 0;
    int r = av[0].rank;
    starts[0] = jx_axis_index_at(loc, axis_of(e));
    sizes[0] = 1;
    for (int d = 0; d < r; d++) {
        starts[d + 1] = jx_scalar_at(loc, JX_I32, 0);
        sizes[d + 1] = av[0].shape[d];
    }
    jx_val row = jx__dynamic_slice_clamped_at(loc, psum(e, ct[0]), starts, (jx_ints){sizes, r + 1});
    ct_in[0] = jx_squeeze_at(loc, row, (jx_ints){&zero, 1});
    return jx_trace_status();
}

static jx_status tr_ppermute(TR_ARGS) {
    (void)x, (void)av, (void)lin;
    jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
    int64_t *back = malloc(sizeof *back * (size_t)(p.n + 1));
    if (!back) return jx__fail(JX_ERR_NOMEM, e->loc, "ppermute", "out of memory");
    for (int q = 0; q + 1 < p.n; q += 2) back[q] = p.v[q + 1], back[q + 1] = p.v[q];
    ct_in[0] = jx_ppermute_at(e->loc, ct[0], axis_of(e), (jx_ints){back, p.n});
    free(back);
    return jx_trace_status();
}

static jx_status tr_all_to_all(TR_ARGS) {
    (void)x, (void)av, (void)lin;
    int k = (int)jx__attr_int(e->nattr, e->attrs, JX_A_SPLIT_AXIS, 0), m = (int)jx__attr_int(e->nattr, e->attrs, JX_A_CONCAT_AXIS, 0);
    ct_in[0] = jx_all_to_all_at(e->loc, ct[0], axis_of(e), jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, 0), m, k);
    return jx_trace_status();
}

void jx__grad_register_collective(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_PPERMUTE] = jvp_linear;
    jvp[JX_PRIM_ALL_TO_ALL] = jvp_linear;
    tr[JX_PRIM_PPERMUTE] = tr_ppermute;
    tr[JX_PRIM_ALL_TO_ALL] = tr_all_to_all;
    jvp[JX_PRIM_PSUM] = jvp_linear;
    jvp[JX_PRIM_ALL_GATHER] = jvp_linear;
    jvp[JX_PRIM_PMAX] = jvp_pextreme;
    jvp[JX_PRIM_PMIN] = jvp_pextreme;
    tr[JX_PRIM_PSUM] = tr_psum;
    tr[JX_PRIM_ALL_GATHER] = tr_all_gather;
}
