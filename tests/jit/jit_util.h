/* jit_util.h: helpers shared by the jit suites (tests/jit/test_jit_*.c): compile a
 * function, run it, and compare its outputs with the reference interpreter's. */
#ifndef JX_TEST_JIT_UTIL_H
#define JX_TEST_JIT_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Tolerance of a jit result against the interpreter (fused kernels may reassociate). */
static inline double ju_tol(jx_dtype t) {
    return t == JX_F32 ? 2e-5 : t == JX_F64 ? 1e-12 : 0;
}

/* Whether got equals want within ju_tol (NaN where want has NaN); prints the first
 * difference with the caller's line. */
static inline int ju_close(int line, const jx_array *got, const jx_array *want) {
    jx_aval ga = jx_array_aval(got), wa = jx_array_aval(want);
    if (!jx_aval_equal(&ga, &wa)) {
        fprintf(stderr, "\n  line %d: aval differs\n", line);
        return 0;
    }
    double tol = ju_tol(wa.dtype);
    for (int64_t i = 0; i < jx_array_size(want); i++) {
        double g = jx_array_get(got, i), w = jx_array_get(want, i);
        int ok = isnan(w) ? isnan(g) : (g == w || fabs(g - w) <= tol * (fabs(w) > 1 ? fabs(w) : 1));
        if (!ok) {
            fprintf(stderr, "\n  line %d: element %lld: jit %.17g, interpreter %.17g\n", line, (long long)i, g, w);
            return 0;
        }
    }
    return 1;
}

/* Whether a and b hold the same bytes (and avals). */
static inline int ju_same_bits(const jx_array *a, const jx_array *b) {
    jx_aval x = jx_array_aval(a), y = jx_array_aval(b);
    return jx_aval_equal(&x, &y) && memcmp(jx_array_data(a), jx_array_data(b), jx_array_nbytes(a)) == 0;
}

/* Compiles f with opts for device, runs it on in[] and asserts every output equals
 * jx_eval's (within ju_tol). Returns the number of outputs that matched; -1 when the jit
 * or the run failed (the error is printed). */
static inline int ju_check_at(int line, const jx_fn *f, jx_device dev, const jx_jit_opts *opts, int nin,
                              jx_array *const *in) {
    int nout = jx_fn_num_outputs(f), matched = 0;
    jx_array **want = calloc((size_t)nout + 1, sizeof *want), **got = calloc((size_t)nout + 1, sizeof *got);
    jx_exec *x = jx_jit(f, dev, opts);
    if (!x || jx_exec_run(x, nin, in, nout, got) != JX_OK) {
        fprintf(stderr, "\n  line %d: jit failed: %s\n", line, jx_errmsg());
        matched = -1;
    } else if (jx_eval(f, nin, in, nout, want) != JX_OK) {
        fprintf(stderr, "\n  line %d: eval failed: %s\n", line, jx_errmsg());
        matched = -1;
    } else {
        for (int i = 0; i < nout; i++) matched += ju_close(line, got[i], want[i]);
    }
    CU_ASSERT_EQUAL(matched, nout);
    for (int i = 0; i < nout; i++) {
        jx_array_release(want[i]);
        jx_array_release(got[i]);
    }
    free(want);
    free(got);
    jx_exec_release(x);
    return matched;
}
#define ju_check(...) ju_check_at(__LINE__, __VA_ARGS__)

/* An f32 array of the given shape holding i * scale + offset at flat index i. */
static inline jx_array *ju_ramp(jx_ints shape, double scale, double offset) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    float *d = a ? jx_array_data_mut(a) : NULL;
    for (int64_t i = 0; d && i < jx_array_size(a); i++) d[i] = (float)((double)i * scale + offset);
    return a;
}

/* A body of 8 elementwise binary ops in a chain on (in[0], in[1]): one fusable LOOP
 * group whose every step can write in place. */
static inline void ju_chain8(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0], y = in[1];
    x = jx_add(x, y), x = jx_mul(x, y), x = jx_sub(x, y), x = jx_max(x, y);
    x = jx_add(x, y), x = jx_mul(x, y), x = jx_min(x, y), x = jx_sub(x, y);
    o[0] = x;
}

#endif
