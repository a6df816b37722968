/* rules_elementwise.c: batch rules of the elementwise group: unary ops, binary ops,
 * comparisons, select, convert_element_type, integer_pow and stop_gradient.
 *
 * Unary ops keep the mapped axis where it is. For n-ary ops the primitive takes operands
 * of one shape, or rank-0 operands that broadcast; so the output's mapped axis is that of
 * a full-rank mapped operand (no transpose for it), other full-rank operands have their
 * mapped axis moved there or get it by broadcast_in_dim (fused by the jit, not a copy),
 * and rank-0 unmapped operands stay scalars. */
#include "vmap.h"

/* Same primitive and attributes on the batched operand: the mapped axis stays. */
static jx_status rule_unary(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                            jx_val *y, int *ydim) {
    jx_status st = jx__bind(e->loc, (jx_prim)e->prim, 1, x, e->nattr, e->attrs, 1, y, NULL);
    ydim[0] = bdim[0];
    return st;
}

/* binary, compare and select: see the file comment. */
static jx_status rule_nary(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                           jx_val *y, int *ydim) {
    enum { MAXN = 3 };
    int n = e->nin, full = -1, d = -1;
    JX__ASSERT(n <= MAXN);
    jx_aval un[MAXN];
    for (int i = 0; i < n; i++) {
        un[i] = jx__unbatched_aval(x[i], bdim[i]);
        if (un[i].rank < 0) return jx__trace_top()->status;
        if (full < 0 || un[i].rank > un[full].rank) full = i;
    }
    int r = un[full].rank;
    /* the output's mapped axis: a full-rank mapped operand's, else 0 */
    for (int i = 0; i < n && d < 0; i++)
        if (bdim[i] != JX_NOBATCH && un[i].rank == r) d = bdim[i];
    if (d < 0) d = 0;
    jx_val z[MAXN];
    for (int i = 0; i < n; i++) {
        if (bdim[i] == JX_NOBATCH && un[i].rank == 0) {
            z[i] = x[i]; /* a scalar broadcasts in the primitive itself */
        } else if (un[i].rank == r) {
            z[i] = jx__bmove(cx, e->loc, x[i], bdim[i], d);
        } else {
            /* a mapped operand that was rank 0 in f (shape [size]) spreads over the full
             * operand's shape, its values along the mapped axis d */
            JX__ASSERT(un[i].rank == 0 && bdim[i] == 0);
            z[i] = jx__bspread(cx, e->loc, x[i], &un[full], d);
        }
    }
    jx_status st = jx__bind(e->loc, (jx_prim)e->prim, n, z, e->nattr, e->attrs, 1, y, NULL);
    ydim[0] = d;
    return st;
}

void jx__vmap_register_elementwise(jx__batch_rule *t) {
    for (int p = 0; p < JX_PRIM_COUNT; p++) {
        jx__pclass c = jx__prims[p].cls;
        if (c == JX__UNARY) t[p] = rule_unary; /* incl. convert, integer_pow, stop_gradient */
        if (c == JX__BINARY || c == JX__COMPARE) t[p] = rule_nary;
    }
    t[JX_PRIM_SELECT] = rule_nary;
}
