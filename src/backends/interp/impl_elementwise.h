/* impl_elementwise.h: what impl_elementwise.c and impl_convert.c share: the loop macro
 * their kernels are written with, and the error for a dtype with no kernel. */
#ifndef JX_IMPL_ELEMENTWISE_H
#define JX_IMPL_ELEMENTWISE_H

#include "../../trace/ir.h"

/* for (int64_t i = 0; i < n; i++) { body }, in blocks of 16 with a fully unrolled inner
 * loop: GCC's -O2 cost model vectorises those (it will not add a scalar epilogue to a
 * loop of unknown length); the remainder runs as a plain loop. The pointers the body
 * uses must be restrict parameters (GCC ignores restrict on local pointers). */
#if defined(__clang__)
#define JX__UNROLL16 _Pragma("unroll 16")
#elif defined(__GNUC__)
#define JX__UNROLL16 _Pragma("GCC unroll 16")
#else
#define JX__UNROLL16
#endif
#define JX__VLOOP(i, n, ...)                                                  \
    do {                                                                      \
        int64_t i##_blk = 0, i##_n = (n);                                     \
        for (; i##_blk + 16 <= i##_n; i##_blk += 16)                          \
            JX__UNROLL16 for (int64_t i = i##_blk; i < i##_blk + 16; i++) { __VA_ARGS__; } \
        for (int64_t i = i##_blk; i < i##_n; i++) { __VA_ARGS__; }            \
    } while (0)

/* Fails (JX_ERR_INTERNAL, naming the equation's line) for an operand the shape rule
 * should have refused. */
jx_status jx__impl_no_kernel(const jx__eqn *e, const jx_aval *a);

/* convert_element_type, integer_pow, iota, constant (impl_convert.c). */
void jx__impl_register_convert(jx__impl_rule *t);

#endif /* JX_IMPL_ELEMENTWISE_H */
