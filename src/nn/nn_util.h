/* nn_util.h: small helpers shared by src/nn: recording an error and returning an
 * invalid value, and evaluating a small traced body on host arrays. Private to src/nn. */
#ifndef JX_NN_UTIL_H
#define JX_NN_UTIL_H

#include <jx.h>

/* Records the error (jx_error_at) and returns JX_NONE, for ops that give a value. */
jx_val jx__nn_fail(jx_loc loc, jx_status code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Traces body (nin inputs of in's avals, one output) and evaluates it on in with the
 * reference interpreter; returns the output (a new reference) or NULL with the error set.
 * The host forms of the PRNG and the initializers are built on it. */
jx_array *jx__nn_eval1(jx_loc loc, const char *name, jx_body body, void *user, int nin, jx_array *const *in);

#endif
