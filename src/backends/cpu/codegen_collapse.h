/* codegen_collapse.h: a loop group seen with adjacent dims merged (codegen_collapse.c),
 * apart from codegen.h so that tests can reach it without LLVM's headers. */
#ifndef JX_CODEGEN_COLLAPSE_H
#define JX_CODEGEN_COLLAPSE_H

#include "cpu.h"

/* The function seen by the code generator: f is a shallow copy of the original whose
 * avals and whose group's equations (their attributes) are the view's own. */
typedef struct jx__cg_view {
    jx_fn f;
    jx_aval *vars;
    jx__eqn *eqns;
    jx__attr *attrs;
} jx__cg_view;

/* Fills v and returns true when some dims of g's values merge (and g's outputs keep one
 * shape); false with v empty when none do, when g has other movement than broadcasts,
 * reshapes and reductions, or when memory runs out. Free with jx__cg_view_free (an empty
 * view too). */
bool jx__cg_collapse(const jx_fn *f, const jx__group *g, jx__cg_view *v);
void jx__cg_view_free(jx__cg_view *v);

/* Whether a and b have the same dims apart from 1s (a reshape that maps dims one to one):
 * their count n, with dim da[i] of a being dim db[i] of b; -1 when not. */
int jx__cg_reshape_pairs(const jx_aval *a, const jx_aval *b, int *da, int *db);

#endif
