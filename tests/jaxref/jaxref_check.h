/* jaxref_check.h: the shared driver of the differential suites against JAX
 * (tests/jaxref/test_jaxref_*.c, each with its python side on jaxref_run.py). A suite is
 * a table of cases, each a function F of one to three float arrays with one output,
 * named alike in the suite's C apply and its python OPS. The driver writes every case's
 * inputs to a file, runs the suite's script once (one python3 process per suite), and
 * compares, per case, dtype (f32, f64) and order, every element of:
 *   order 0: F(x);
 *   order 1: the gradients of L(t, x) = sum(F(x + t v) * ct) in each x at t = 0;
 *   order 2: the gradients of dL/dt in each x at t = 0 (the Hessian of L times v),
 * for v_i[k] = sin(0.53 k + i + 0.2) and ct[k] = cos(0.37 k). Values agree when both are
 * NaN, equal, or within the case's tolerance (relative to max(1, |JAX|); 0 asks for
 * equality). Evaluation goes through jt_eval, so the jit copies (JX_TEST_JIT=1) compare
 * the jit with the interpreter as well. JR_KEEP=1 in the environment keeps the input file
 * (/tmp/jx-jaxref-*), to rerun the script by hand. */
#ifndef JX_TEST_JAXREF_CHECK_H
#define JX_TEST_JAXREF_CHECK_H

#include "harness.h"

/* Value domains of the inputs (see jr_value). */
enum {
    JR_ANY,    /* edge values: signed zeros, +-inf, NaN, 1e10, ties */
    JR_SMOOTH, /* in [-2, 2], full rank as matrices */
    JR_POS,    /* in [0.3, 2.8] */
    JR_UNIT,   /* in [-0.9, 0.9] */
    JR_GT1,    /* in [1.2, 4.2] */
    JR_TIES,   /* small integers in [-3, 2], many ties */
    JR_ZEROS,  /* JR_SMOOTH with every fifth element 0 */
    JR_INFS,   /* JR_SMOOTH with a few +-inf */
    JR_IDX,    /* integer-valued indices, negative and out of range ones included */
};

/* Case flags. */
enum {
    JR_NOJIT = 1,  /* left out of the jit copy (JX_TEST_JIT set): keeps that copy short */
    JR_F64 = 2,    /* f64 only (the f32 JAX value is known to be wrong; the case says why) */
};

typedef struct jr_case {
    const char *name;      /* F's key in the suite's apply and its python OPS */
    int nin, maxorder;     /* 1..3 inputs; orders 0..maxorder are compared */
    int domain;            /* JR_ANY ...: of every input but those in idx */
    int idx;               /* bit i set: input i takes JR_IDX values */
    int group;             /* row of the suite's tolerance table */
    int flags;             /* JR_NOJIT, JR_F64 */
    const char *shapes[3]; /* "3x4", "s" for a scalar */
} jr_case;

/* F of the case named `name` on its inputs x[0..nin). */
typedef jx_val (*jr_apply)(const char *name, const jx_val *x);

typedef struct jr_suite {
    const char *script; /* e.g. "jaxref/jaxref_conv.py", relative to tests/ */
    const jr_case *cases;
    int ncases;
    jr_apply apply;
    const double (*tols)[2]; /* tols[group] = {f32, f64} at order 0; 10x at orders 1 and 2 */
} jr_suite;

/* Element k of input i in domain d. */
double jr_value(int domain, int i, int64_t k);

/* Runs every case of s against JAX (CUnit assertions) and prints the counts of cases
 * (case x dtype x order) and elements compared and the worst errors, with their cases. */
void jr_run(const jr_suite *s);

/* main() of a suite: exit 77 (CTest: skipped) where python3 cannot import jax, else
 * runs `test` as the one test of a CUnit suite called `name`. */
int jr_main(const char *name, void (*test)(void));

#endif
