/* control_util.h: what the interpreter's control primitives (interp/impl_control.c), the
 * jit's control steps (jit/exec_control.c) and the CUDA backend's (cuda/control.c) share:
 * reading a scalar index or predicate, releasing array lists, decoding scan's attributes,
 * and the while and scan loops themselves.
 * Private to src/. */
#ifndef JX_BACKENDS_CONTROL_UTIL_H
#define JX_BACKENDS_CONTROL_UTIL_H

#include "../trace/ir.h"

/* A scalar integer or bool array's value (cond's index, while's predicate). */
int64_t jx__scalar_i64(const jx_array *x);

/* x's scalar integer value into *v, read on the host (a device array is downloaded). */
jx_status jx__scalar_read(jx_array *x, int64_t *v);
/* cond's branch for index x among n branches: clamped into 0..n-1, as lax.switch does. */
jx_status jx__branch_index(jx_array *x, int n, int *branch);

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

/* The loops of while and scan, shared by the interpreter (interp/impl_control.c), the
 * CPU jit (jit/exec_control.c) and the CUDA backend (cuda/control.c), which differ in how
 * a nested function runs and where the arrays live. */
typedef struct jx__loop_ops {
    void *ctx;
    /* Runs nested function k (while: 0 its cond, 1 its body; scan: 0 its body) on args
     * into res (new references); don[i]: args[i] is the loop's alone, so the run may take
     * its storage. */
    jx_status (*run)(void *ctx, int k, jx_array *const *args, const bool *don, jx_array **res);
    /* scan, NULL for host arrays: *slot (the previous step's, the loop's reference, NULL
     * at first; reused or replaced) becomes block i of x's len blocks along axis 0, of
     * aval av */
    jx_status (*slice)(void *ctx, jx_array **slot, const jx_array *x, const jx_aval *av, int64_t i, int64_t len);
    /* scan, NULL for host arrays: new stacked ys of aval av (every block written later) */
    jx_array *(*stack_new)(void *ctx, const jx_aval *av);
    /* scan, NULL for host arrays: copies y into block i of ys */
    jx_status (*store)(void *ctx, jx_array *y, jx_array *ys, int64_t i);
} jx__loop_ops;

/* while: the carry (the first NUM_CARRY inputs) through cond and body until cond's
 * predicate (read on the host) is false; out gets the final carry. */
jx_status jx__while_run(const jx__eqn *e, jx_array *const *in, jx_array **out, const jx__loop_ops *ops);
/* scan: the body over the slices of xs, in order or reversed; out gets the final carry,
 * then the stacked ys (avals oav). */
jx_status jx__scan_run(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out,
                       const jx__loop_ops *ops);

#endif
