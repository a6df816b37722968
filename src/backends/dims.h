/* dims.h: dimension arithmetic shared by the reference interpreter and the CPU backend
 * (dot_general operand layouts, convolution tap tables), so both read the attributes
 * the same way. Private to src/backends. */
#ifndef JX_BACKENDS_DIMS_H
#define JX_BACKENDS_DIMS_H

#include "../trace/ir.h"

/* A dot_general operand's dim order: perm = its batch dims, then the dims in neither
 * list (in order) and its contract dims, contract before free when contract_first (the
 * rhs). Returns the product of the free dims' sizes. */
int64_t jx__dot_layout(const jx_aval *x, jx_ints batch, jx_ints contract, bool contract_first, int *perm);

/* For one convolution dim: the input index each (tap t, output o) reads,
 * tab[t * out + o], or -1 where it falls on padding or on a hole of the dilated input
 * (position o*stride + t*k_dil - lo of the dilated input). A malloc'd table; NULL when
 * out of memory or when k * out overflows. */
int64_t *jx__conv_tap_table(int64_t in, int64_t in_dil, int64_t lo, int64_t k, int64_t k_dil, int64_t stride,
                            int64_t out);

#endif
