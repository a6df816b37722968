/* special.h: special functions that the reference interpreter and the CPU backend's
 * generated code both call, so that both give the same bits: lgamma without the global
 * signgam (thread-safe under the CPU pool) and digamma, which libm lacks. f32 variants
 * compute in double and round once. Private to src/backends. */
#ifndef JX_BACKENDS_SPECIAL_H
#define JX_BACKENDS_SPECIAL_H

double jx__lgamma(double x);
float jx__lgammaf(float x);
/* NaN at 0, the negative integers, -inf and NaN (JAX's values); +inf at +inf. */
double jx__digamma(double x);
float jx__digammaf(float x);

#endif /* JX_BACKENDS_SPECIAL_H */
