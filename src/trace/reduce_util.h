/* reduce_util.h: private declarations shared by the reduction, dot_general and composite
 * files (shape rules, op wrappers, interpreter rules); not part of the IR contract. */
#ifndef JX_REDUCE_UTIL_H
#define JX_REDUCE_UTIL_H

#include "ir.h"
#include "ops_util.h"

/* The summation order of floating reduce_sum and reduce_prod, shared by every backend so
 * that they agree bit for bit. The n values an output element folds (its reduced
 * elements in row-major order) are cut into blocks of JX__RED_BLOCK; each block is
 * folded sequentially from the identity; block sums are combined pairwise, like a binary
 * counter: after block c (counting from 1) the new sum absorbs, from the left, one
 * stacked sum per trailing zero bit of c (stack[top-1] op acc), then is pushed; at the
 * end the stack folds from its top down (total = stack[i] op total). n <= JX__RED_BLOCK
 * is the plain sequential fold. The error grows with log2(n / JX__RED_BLOCK), not n, and
 * the order depends on n alone (not on threads or how a kernel's range is split).
 * Integer sums and products wrap, so their order never matters; max and min are exact. */
enum { JX__RED_BLOCK = 128, JX__RED_STACK = 64 };

/* The dot_general shape rule (shape_dot.c), registered by shape_reduce.c. */
jx_status jx__shape_dot_general(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                int maxout, jx_aval *out, int *nout, jx__rule_err *err);

/* The dot_general interpreter rule (impl_dot.c), registered by impl_reduce.c. */
jx_status jx__impl_dot_general(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                               jx_array **out);

/* Normalises the axes of a reduction over x (JX_NOINTS: all of x's axes) into out[]
 * (room for JX_MAX_RANK), sorted; *n gets their count. On a bad or repeated axis it
 * records the error as jx__ops_fail (ops_util.h) does, naming `what`, and returns false. x must be
 * valid (rank >= 0). */
bool jx__norm_axes(jx_loc loc, const char *what, const jx_aval *x, jx_ints axes, int64_t *out,
                   int *n);

#endif /* JX_REDUCE_UTIL_H */
