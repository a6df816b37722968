/* vmap.h: internals of batching: the batch rule table and the helpers rules are written
 * with. A rule emits IR with jx's own ops on the current trace (like grad's rules), so
 * what it produces can be differentiated, batched again or compiled. */
#ifndef JX_VMAP_H
#define JX_VMAP_H

#include "../trace/ir.h"

/* A value's batch dimension: the axis that is mapped, or JX_NOBATCH if the value is the
 * same for every slice (not mapped). */
#define JX_NOBATCH (-1)

/* What every rule may need of the vmap in progress. */
typedef struct jx__vctx {
    jx_loc loc;            /* the vmap call's place (rules use e->loc for what they emit) */
    int64_t size;          /* the mapped axis size */
    const char *axis_name; /* NULL when the axis is unnamed */
} jx__vctx;

/* batch rule: emits the batched form of e on the current trace. x are e's operands as
 * batched values (literal operands arrive as rank-0 values with bdim JX_NOBATCH); bdim[i]
 * is the mapped axis of x[i] in x[i]'s own (batched) rank, or JX_NOBATCH; at least one
 * operand is batched, or jx__vmap_binds_axis(cx, e). Writes y[] (e's outputs, batched) and ydim[] (their mapped axes, or
 * JX_NOBATCH for outputs that are the same in every slice). Returns the trace's status. */
typedef jx_status (*jx__batch_rule)(const jx__vctx *cx, const jx__eqn *e, const jx_val *x,
                                    const int *bdim, jx_val *y, int *ydim);

extern jx__batch_rule jx__batch_rules[JX_PRIM_COUNT];
void jx__vmap_rules_init(void);

/* One registration function per group file (rules_<group>.c). */
void jx__vmap_register_elementwise(jx__batch_rule *t);
void jx__vmap_register_movement(jx__batch_rule *t);
void jx__vmap_register_reduce(jx__batch_rule *t);
void jx__vmap_register_linalg(jx__batch_rule *t);
void jx__vmap_register_lapack(jx__batch_rule *t);
void jx__vmap_register_index(jx__batch_rule *t);
void jx__vmap_register_control(jx__batch_rule *t);
void jx__vmap_register_custom(jx__batch_rule *t);
void jx__vmap_register_collective(jx__batch_rule *t);
void jx__vmap_register_pmap(jx__batch_rule *t);

/* Whether e must go through its batch rule even when no operand is batched: it is, or
 * its nested functions hold, a collective over cx's axis name (rules_collective.c). */
bool jx__vmap_binds_axis(const jx__vctx *cx, const jx__eqn *e);

/* ------------------------------------------------------------------ helpers (batch_util.c) */

/* x with its mapped axis moved from `from` to `to` (a transpose; x itself when equal).
 * If from is JX_NOBATCH, x is broadcast to have the mapped axis (of size cx->size) at
 * `to`. to may be negative (counts from the end of the result's rank). */
jx_val jx__bmove(const jx__vctx *cx, jx_loc loc, jx_val x, int from, int to);
/* x with the mapped axis first (broadcasting an unbatched x): jx__bmove(..., 0). */
jx_val jx__bfront(const jx__vctx *cx, jx_loc loc, jx_val x, int from);
/* Rank and aval of a batched value without its mapped axis (what f saw). */
jx_aval jx__unbatched_aval(jx_val x, int bdim);
/* Axis a of the unbatched value, numbered in the batched value whose mapped axis is bd. */
static inline int64_t jx__bax(int64_t a, int bd) { return a < bd ? a : a + 1; }
/* x of shape (size), one scalar per slice, broadcast to the batched shape of an operand
 * of unbatched aval `full` mapped at d: x's values along axis d. */
jx_val jx__bspread(const jx__vctx *cx, jx_loc loc, jx_val x, const jx_aval *full, int d);
/* e's primitive bound again on nin operands x with e's attributes, those whose key is in
 * rep[0..nrep) replaced by rep's (appended when e lacks them); one output. */
jx_val jx__vrebind(const jx__eqn *e, int nin, const jx_val *x, int nrep, const jx__attr *rep);

/* ------------------------------------------------------------------ the transformation (vmap.c) */

/* Emits the batched form of f on the current trace: x inputs with mapped axes xdim[i]
 * (JX_NOBATCH if not mapped); y, ydim receive the outputs and their mapped axes
 * (JX_NOBATCH where an output is the same for every slice). Calls are inlined. */
jx_status jx__vmap_inline(const jx__vctx *cx, const jx_fn *f, const jx_val *x, const int *xdim,
                          jx_val *y, int *ydim);

/* f batched as a function: input i is mapped at in_dims[i] (JX_NOBATCH: not mapped), every
 * output is moved to out_dims[i] (JX_NOBATCH in out_dims: the output must be unbatched
 * and stays so; an output that comes out unbatched for a mapped out_dims is broadcast).
 * If out_dims is NULL, outputs get mapped axis 0 where batched and stay unbatched where
 * not; *out_batched (may be NULL, nout entries) tells which. Used by the control-flow
 * rules to batch nested functions. Not simplified. */
jx_fn *jx__vmap_fn(const jx__vctx *cx, const jx_fn *f, const int *in_dims, const int *out_dims,
                   bool *out_batched);

/* Normalises axes[i] (one entry per rank[i], negative counting from the end of rank + 1,
 * JX_NOT_MAPPED -> JX_NOBATCH; no entries: 0 everywhere) into dims; the error names the
 * op ("vmap"/"pmap"), `what` ("in_axes"/"out_axes") and `item` ("input"/"output"). */
bool jx__vmap_norm_axes(jx_loc loc, const char *op, jx_ints axes, int n, const int *rank, const char *what,
                        const char *item, int *dims);

/* ------------------------------------------------------------------ nested functions (batch_util.c) */

/* What the control and custom-derivative rules use to batch their nested functions. */
struct jx__rs;
/* f batched (jx__vmap_fn with the rule's vmap context r->cx), owned by the rule's arena;
 * NULL on error or when the rule's trace has already failed. */
jx_fn *jx__vmap_fn_rs(struct jx__rs *r, const jx_fn *f, const int *in_dims, const int *out_dims,
                      bool *out_batched);
/* The mapped axis jx__vmap_fn gives an output that is batched (0) or not (JX_NOBATCH). */
static inline int jx__bdim_of(bool batched) { return batched ? 0 : JX_NOBATCH; }
/* Whether the n flags a and b agree. */
bool jx__bools_same(int n, const bool *a, const bool *b);

#endif /* JX_VMAP_H */
