/* pass_util.h: machinery shared by the IR passes (pass_*.c): rebuilding a function with
 * some equations dropped and some variables replaced, and literal <-> array helpers.
 * Private to src/trace. */
#ifndef JX_PASS_UTIL_H
#define JX_PASS_UTIL_H

#include "ir.h"

/* A pass applied to nested functions (call/cond/while/scan bodies). */
typedef jx_fn *(*jx__pass_fn)(const jx_fn *f);

/* Rebuilds f on a fresh trace, so every shape rule re-runs and variables are renumbered.
 * Equation k is replayed when keep is NULL or keep[k] != 0. Every variable v read by a
 * kept equation or by an output is first replaced by sub[v] (sub NULL: no replacement);
 * sub[v] must be a literal or a variable that maps to itself, defined by a kept equation
 * or an input. Nested functions are replaced by nested(fn) (NULL: kept as they are);
 * their signatures must not change. Inputs, outputs, names and locs are kept.
 * Returns a new function, or NULL with jx_errmsg() set. */
jx_fn *jx__fn_rebuild(const jx_fn *f, const uint8_t *keep, const jx__atom *sub,
                      jx__pass_fn nested);

/* jx__fn_rebuild replaying eqns[k] in place of f->eqns[k] (f->neqn entries): a pass
 * that rewrites an equation into another primitive edits a copy of f->eqns. A replaced
 * equation keeps its out ids and must give the avals f records for them. */
jx_fn *jx__fn_rebuild_eqns(const jx_fn *f, const jx__eqn *eqns, const uint8_t *keep, const jx__atom *sub,
                           jx__pass_fn nested);

/* Rewrites transposes around matmuls (pass_dot.c): y = transpose(dot_general(a, b)),
 * where the dot has no other use and the perm swaps its lhs-free and rhs-free output
 * groups (batch dims first, in place), becomes y = dot_general(b, a) with the lhs/rhs
 * attributes swapped; transpose(transpose(x)) becomes one transpose, or x when the
 * composition is the identity. Nested bodies are rewritten inside. Part of
 * jx_fn_simplify. Returns a new function, or NULL with jx_errmsg() set. */
jx_fn *jx__fn_fold_dot_transpose(const jx_fn *f);

/* A malloc'd substitution table with sub[v] = v for every variable of f (free() it);
 * NULL with the error set when out of memory. */
jx__atom *jx__sub_identity(const jx_fn *f);

/* The atom an operand reads once sub is applied. */
static inline jx__atom jx__sub_atom(const jx__atom *sub, const jx__atom *a) {
    return a->var >= 0 && sub ? sub[a->var] : *a;
}

/* True when two atoms are the same variable or literals of equal dtype and bits. */
bool jx__atom_same(const jx__atom *a, const jx__atom *b);

/* A rank-0 array holding a literal exactly; NULL with the error set on OOM. */
jx_array *jx__lit_array(const jx__atom *a);
/* Element 0 of an array as a literal of its dtype, exactly. */
jx__atom jx__array_lit(const jx_array *x);

#endif /* JX_PASS_UTIL_H */
