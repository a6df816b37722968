/* grad.h: internals of forward and reverse mode: the jvp and transpose rule tables and
 * the helpers rules are written with. Rules emit IR with jx's own ops on the current
 * trace, so whatever they produce can be differentiated again. */
#ifndef JX_GRAD_H
#define JX_GRAD_H

#include "../trace/ir.h"

/* A symbolic zero tangent or cotangent: JX_NONE (trace 0). Rules skip work on it. */
static inline bool jx__is_zero(jx_val v) { return v.trace == 0 && v.id < 0; }
#define JX_ZERO JX_NONE

/* jvp rule: emits e's primal outputs into y (usually jx__rebind) and its tangent outputs
 * into dy (JX_ZERO where zero), given primal operands x and tangents dx (JX_ZERO where
 * zero; at least one is non-zero). Tangents are linear in dx: the ops applied to dx must
 * be ones with a transpose rule, with x-only values as the other operands. Returns the
 * trace's status. */
typedef jx_status (*jx__jvp_rule)(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y,
                                  jx_val *dy);
/* transpose rule (linear primitives): e is linear in the operands with lin[i]; x[i] holds
 * the value of every other operand (JX_ZERO for linear ones); av[i] is every operand's
 * aval; ct are the cotangents of e's outputs (JX_ZERO where zero; at least one is
 * non-zero). Writes ct_in[i] (of aval av[i]) for each linear operand (JX_ZERO where
 * zero). Returns the trace's status. */
typedef jx_status (*jx__transpose_rule)(const jx__eqn *e, const jx_val *x, const jx_aval *av,
                                        const bool *lin, const jx_val *ct, jx_val *ct_in);

extern jx__jvp_rule jx__jvp_rules[JX_PRIM_COUNT];
extern jx__transpose_rule jx__transpose_rules[JX_PRIM_COUNT];
void jx__grad_rules_init(void);

/* One registration function per group file (rules_<group>.c). */
void jx__grad_register_elementwise(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_movement(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_reduce(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_linalg(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_lapack(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_index(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_control(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_custom(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_collective(jx__jvp_rule *jvp, jx__transpose_rule *tr);
void jx__grad_register_pmap(jx__jvp_rule *jvp, jx__transpose_rule *tr);

/* ------------------------------------------------------------------ helpers for rules */

/* Binds e's primitive and attributes again on operands x; outputs into y. */
jx_status jx__rebind(const jx__eqn *e, const jx_val *x, jx_val *y);
/* Same primitive, other operands and attributes (e.g. a transposed dot_general). */
jx_val jx__bind_like(const jx__eqn *e, jx_prim prim, int nin, const jx_val *x, int nattr,
                     const jx__attr *attrs);
/* a + b where either may be JX_ZERO. */
jx_val jx__add_tan(jx_loc loc, jx_val a, jx_val b);
/* A materialised zero array of aval a. */
jx_val jx__zeros(jx_loc loc, const jx_aval *a);
/* ct summed down to aval a: undoes a rank-0 operand's broadcast in a binary primitive
 * (reduce_sum over all axes when a has rank 0 and ct does not); ct otherwise. */
jx_val jx__unbroadcast(jx_loc loc, jx_val ct, const jx_aval *a);
/* Whether values of this dtype carry derivatives (f32, f64). */
static inline bool jx__differentiable(jx_dtype t) { return t == JX_F32 || t == JX_F64; }

/* ------------------------------------------------------------------ the transformations */

/* Emits the jvp of f on the current trace: x primal inputs, dx tangents (JX_ZERO where
 * zero); y, dy receive outputs and output tangents (JX_ZERO where zero). Calls are
 * inlined. */
jx_status jx__jvp_inline(jx_loc loc, const jx_fn *f, const jx_val *x, const jx_val *dx, jx_val *y,
                         jx_val *dy);

/* f's jvp as a function (x..., dx...) -> (y..., dy...) with a tangent for every input;
 * zero output tangents are materialised. Not simplified. */
jx_fn *jx__jvp_fn(jx_loc loc, const jx_fn *f);

/* Splits a function into what can be computed from its first nknown inputs and the rest,
 * which must be linear in the remaining inputs (JAX's partial evaluation):
 *   known:  (known inputs...) -> (known outputs..., residuals...)
 *   linear: (residuals..., unknown inputs...) -> (unknown outputs...)
 * out_known[i] tells which of f's outputs are known (computed by `known`); the others
 * come from `linear`, in order. *nres receives the residual count. */
jx_status jx__partial_eval(jx_loc loc, const jx_fn *f, int nknown, jx_fn **known, jx_fn **linear,
                           bool *out_known, int *nres);

/* Emits the transpose of a linear function on the current trace: lin takes (residuals...,
 * linear inputs...) as made by jx__partial_eval, which guarantees every equation reads a
 * linear input (a function that computes on residuals alone must be split first); res are the residual values, ct the
 * cotangents of its outputs (JX_ZERO where zero); ct_in receives the cotangents of the
 * linear inputs (JX_ZERO where zero). */
jx_status jx__transpose_inline(jx_loc loc, const jx_fn *lin, int nres, const jx_val *res,
                               const jx_val *ct, jx_val *ct_in);

/* ------------------------------------------------------------------ nested functions (rules_control.c)
 * What the rules of the higher-order primitives (cond, scan, pmap) build their bodies
 * with, on the rule's scratch (rule_scratch.h). */
struct jx__rs;

/* f's jvp as a closed function (x..., dx_i where has[i]...) -> (y..., dy_j where
 * want[j]...), wanted zero tangents materialised. want may be NULL (none); nz (may be
 * NULL) receives which output tangents are non-zero. */
jx_fn *jx__grad_jvp_fn(struct jx__rs *c, const jx_fn *f, const bool *has, const bool *want, bool *nz);

/* f split by partial evaluation on its first nknown inputs. */
typedef struct jx__split {
    jx_fn *known, *lin;
    bool *ok;      /* which of f's outputs known computes */
    int nres, nko; /* residuals; known outputs before them */
} jx__split;
bool jx__grad_split_fn(struct jx__rs *c, const jx_fn *f, int nknown, jx__split *s);
/* The first n outputs of a split jvp'd function are primal: they must be known. */
bool jx__grad_primal_known(struct jx__rs *c, const jx__split *s, int n);
/* The transpose of f, linear in its inputs with lin[i], as a closed function
 * (the other inputs..., cotangents of the outputs with ctm[j]...) -> (cotangents of the
 * linear inputs...), zeros materialised. */
jx_fn *jx__grad_transpose_fn(struct jx__rs *c, const jx_fn *f, const bool *lin, const bool *ctm);

#endif /* JX_GRAD_H */
