/* control_util.h: what the interpreter's control primitives (interp/impl_control.c) and
 * the jit's control steps (jit/exec_control.c) share: reading a scalar index or
 * predicate, releasing array lists, decoding scan's attributes and stacking its ys.
 * Private to src/. */
#ifndef JX_BACKENDS_CONTROL_UTIL_H
#define JX_BACKENDS_CONTROL_UTIL_H

#include "../trace/ir.h"

/* A scalar integer or bool array's value (cond's index, while's predicate). */
int64_t jx__scalar_i64(const jx_array *x);

/* Releases a[0..n) and sets them to NULL. */
void jx__release_all(int n, jx_array **a);

/* scan's attributes: length, reverse, and its operand groups (nc carries, nx xs, nk
 * consts) and its ny ys. */
typedef struct jx__scan_attrs {
    int64_t len;
    bool rev;
    int nc, nk, nx, ny;
} jx__scan_attrs;
jx__scan_attrs jx__scan_attrs_of(const jx__eqn *e);

/* Copies step i's ys y[0..ny) into block i (along axis 0) of the stacked ys[0..ny). */
void jx__scan_store_ys(int ny, jx_array *const *y, jx_array *const *ys, int64_t i);

#endif
