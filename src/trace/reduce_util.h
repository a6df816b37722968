/* reduce_util.h: private declarations shared by the reduction, dot_general and composite
 * files (shape rules, op wrappers, interpreter rules); not part of the IR contract. */
#ifndef JX_REDUCE_UTIL_H
#define JX_REDUCE_UTIL_H

#include "ir.h"
#include "ops_util.h"

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
