/* gradcheck.h: checks derivatives numerically, for the grad suites.
 * jt_jvp_error: jvp against central finite differences in f64.
 * jt_vjp_error: vjp against jvp by the identity <ybar, J xdot> = <J^T ybar, xdot>.
 * Both draw random directions from a fixed seed and return a relative error. */
#ifndef JX_TEST_GRADCHECK_H
#define JX_TEST_GRADCHECK_H

#include "harness.h"

/* A deterministic pseudo-random f64 array with entries in [lo, hi). */
jx_array *jt_random(jx_ints shape, double lo, double hi, uint64_t *seed);

/* max over outputs of |jvp - fd| / max(1, |fd|), fd by central differences with step h
 * (1e-6 is right for smooth f64 functions). Inputs of f must be f64 (others are passed
 * unchanged and get zero tangents). Returns INFINITY if anything fails (message printed). */
double jt_jvp_error(const jx_fn *f, jx_array *const *x, double h, uint64_t seed);

/* |<ybar, J xdot> - <J^T ybar, xdot>| / max(1, |<ybar, J xdot>|). */
double jt_vjp_error(const jx_fn *f, jx_array *const *x, uint64_t seed);

/* Traces body on f64 inputs of the given shapes and checks both errors are below tol on
 * random inputs in [lo, hi). Prints the figures when they are not. Returns 1 if fine. */
int jt_check_grads(const char *name, jx_body body, void *user, int nin, const jx_aval *avals,
                   double lo, double hi, double tol);

#endif
