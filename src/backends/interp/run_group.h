/* run_group.h: a fusion group's equations run one by one through the interpreter, and
 * the NaN checks of JX_DEBUG_NANS (run_group.c), for the executors of every backend. */
#ifndef JX_INTERP_RUN_GROUP_H
#define JX_INTERP_RUN_GROUP_H

#include "../backend.h"

/* Runs the equations of group g of f one by one with the interpreter's impl rules: env
 * (per variable) holds the operands and receives every output (new references). With
 * check_nan, fails at the first equation whose float output holds a NaN. */
jx_status jx__run_eqns_interp(const jx_fn *f, const jx__group *g, jx_array **env, bool check_nan);
/* Whether a float array holds a NaN (false for other dtypes). */
bool jx__array_has_nan(const jx_array *a);
/* The JX_DEBUG_NANS failure for equation e: "<file>:<line>: <prim>: produced NaN". */
jx_status jx__nan_fail(const jx__eqn *e);

#endif /* JX_INTERP_RUN_GROUP_H */
