/* jit.h: internals of the compiler: fusion (fuse.c) over the groups and backend table of
 * src/backends/backend.h (the jit reaches every backend through that table alone) and
 * the switches (src/backends/debug.h) it uses. A CUDA backend reuses the fusion groups
 * and the buffer plan and brings its own kernel compiler and library calls. */
#ifndef JX_JIT_H
#define JX_JIT_H

#include <stdio.h>

#include "../backends/backend.h"
#include "../backends/prog.h"
#include "../backends/debug.h"

/* ------------------------------------------------------------------ fusion (fuse.c)
 * Backend independent. Splits a function's top-level equations into groups, in program
 * order (a group only reads variables of f's inputs or of earlier groups). */


/* Groups f (calls already inlined). fuse = false puts every equation in a group of its
 * own (JX_JIT_FUSE=0, for debugging). The backend be (may be NULL: none) decides four
 * things: its conv_views_ok lets a CONV group take in the transposes of its operands and
 * result (each where it says so), its dot_epilogue_ok lets a DOT group take a bias add
 * or a bias gradient, its row_groups lets loop groups merge row by row, its
 * owner_folds makes scatter_add and the cumulative ops loop ops. NULL on OOM. */
jx__fusion *jx__fuse(const jx_fn *f, bool fuse, const struct jx__backend *be);
/* The conv equation of CONV group g (NULL if none). */
const jx__eqn *jx__group_conv(const jx_fn *f, const jx__group *g);
/* Fills *cv for CONV group g of rank-4 operands; false otherwise. */
bool jx__conv_view_of(const jx_fn *f, const jx__group *g, jx__conv_view *cv);
/* Fills *ep for DOT group g holding an epilogue (fuse_epilogue.c); false otherwise. */
bool jx__dot_epi_of(const jx_fn *f, const jx__group *g, jx__dot_epi *ep);
void jx__fusion_free(jx__fusion *fu);
/* The groups as text (JX_DUMP=fusion): one line per group with its kind, equations
 * (primitive names) and argument avals. */
void jx__fusion_print(FILE *out, const jx_fn *f, const jx__fusion *fu);

#endif /* JX_JIT_H */
