/* op_bodies.h: one-op bodies shared by the grad and vmap suites (test_grad_movement.c
 * and test_vmap_movement.c; test_grad_conv.c and test_vmap_linalg.c): each takes its op
 * parameters from `user` (a jt_move or a jt_window) so one trace per parameter set runs
 * the same op under both transforms. Static inline so a suite may leave some unused. */
#ifndef JX_TEST_OP_BODIES_H
#define JX_TEST_OP_BODIES_H

#include "jx.h"

/* Parameters of a data-movement op: up to three int lists (shape, dims, starts, limits,
 * strides, padding, in the op's argument order), an operand count and an axis. */
typedef struct jt_move {
    jx_ints a, b, c;
    int n, axis;
} jt_move;

/* Defines static inline body `name` computing sin(expr), where expr may use the inputs
 * `in` and the parameters `p` (a const jt_move *); the sin keeps the output a computed
 * value, so grad checks also carry a residual. */
#define JT_MOVE_BODY(name, expr)                                          \
    static inline void name(jx_val *o, const jx_val *in, void *u) {       \
        const jt_move *p = u;                                             \
        (void)p;                                                          \
        o[0] = jx_sin(expr);                                              \
    }
JT_MOVE_BODY(jt_b_bcast, jx_broadcast_in_dim(in[0], p->a, p->b))
JT_MOVE_BODY(jt_b_bcast_to, jx_broadcast_to(in[0], p->a))
JT_MOVE_BODY(jt_b_reshape, jx_reshape(in[0], p->a))
JT_MOVE_BODY(jt_b_transpose, jx_transpose(in[0], p->a))
JT_MOVE_BODY(jt_b_squeeze, jx_squeeze(in[0], p->a))
JT_MOVE_BODY(jt_b_expand, jx_expand_dims(in[0], p->a))
JT_MOVE_BODY(jt_b_rev, jx_rev(in[0], p->a))
JT_MOVE_BODY(jt_b_slice, jx_slice(in[0], p->a, p->b, p->c))
JT_MOVE_BODY(jt_b_pad, jx_pad(in[0], in[1], p->a, p->b, p->c))
JT_MOVE_BODY(jt_b_pad_lit, jx_pad(in[0], jx_scalar(JX_F64, 0.5), p->a, p->b, p->c))
JT_MOVE_BODY(jt_b_concat, jx_concatenate(p->n, in, p->axis))

/* Parameters of a window op (reduce_window, select_and_scatter_add, ...). */
typedef struct jt_window {
    jx_window_kind kind;
    jx_ints window, strides, lo, hi;
} jt_window;

/* reduce_window(in[0]) with the jt_window in user. */
static inline void jt_b_pool(jx_val *out, const jx_val *in, void *user) {
    const jt_window *w = user;
    out[0] = jx_reduce_window(in[0], w->kind, w->window, w->strides, w->lo, w->hi);
}

#endif
