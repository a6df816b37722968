/* harness.h: shared helpers for the CUnit suites: running a suite, tracing and
 * evaluating small functions, and assertions on arrays and error messages. */
#ifndef JX_TEST_HARNESS_H
#define JX_TEST_HARNESS_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

#include "jx.h"

/* Runs the tests of one suite (NULL-terminated CU_TestInfo list); returns the exit
 * status: 0 when every assertion passed. */
int jt_run(const char *suite, CU_TestInfo *tests);

/* Evaluates f like jx_eval. Under JX_TEST_JIT=1 (CTest's jit/ copies of every suite) it
 * also compiles f with jx_jit for the CPU, runs it, and asserts the outputs equal the
 * interpreter's: integers and bools exactly, f32 within 2e-5 and f64 within 1e-12
 * (relative to max(1, |value|)), NaNs where the interpreter has NaNs. Under
 * JX_TEST_JIT=cuda (CTest's cuda/ copies) it does the same with the CUDA jit, and
 * jt_run exits 77 (CTest: skipped) where no CUDA device is found. Returns the
 * interpreter's outputs, so every suite's own assertions still hold. */
jx_status jt_eval(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out);
/* Comparisons made by jt_eval against the jit so far (0 unless JX_TEST_JIT=1). */
long jt_jit_checks(void);

/* Traces body with the given avals and evaluates it on in[]; out[] receives nout
 * new arrays. Returns the status of the first failing step (message in jx_errmsg). */
jx_status jt_trace_eval(jx_body body, void *user, int nin, const jx_aval *avals,
                        jx_array *const *in, int nout, jx_array **out);

/* An array of dtype t and the given shape from doubles (exact for small integers and
 * values the dtype holds); NULL on a bad shape. */
jx_array *jt_array(jx_dtype t, jx_ints shape, const double *v);

/* Traces body on the avals of in[0..nin), evaluates it, releases the inputs, and returns
 * output 0 (the body has one output); NULL, with the error printed, when that fails. */
jx_array *jt_eval1(jx_body body, void *user, int nin, jx_array **in);

/* Max |a[i] - want[i]| relative to max(1, |want[i]|); NaN must match NaN and
 * infinities must match exactly. Returns INFINITY on a size mismatch. */
double jt_max_err(const jx_array *a, const double *want, int64_t n);

/* Asserts y (then released) has dtype t, the given shape, and values within tol of want;
 * line is the caller's, printed on a failure. */
void jt_check_array(int line, jx_array *y, jx_dtype t, jx_ints shape, const double *want, double tol);

/* True when the last error message contains s. */
int jt_err_has(const char *s);

/* Asserts the array equals want (n doubles) within tol. */
#define JT_ASSERT_ARRAY(a, want, n, tol)                                         \
    do {                                                                         \
        double jt__e = jt_max_err((a), (want), (n));                             \
        if (!(jt__e <= (tol))) fprintf(stderr, "\n  %s:%d: error %g\n", __FILE__, __LINE__, jt__e); \
        CU_ASSERT(jt__e <= (tol));                                               \
    } while (0)

/* Asserts the last error message contains s (and prints it when it does not). */
#define JT_ASSERT_ERR(s)                                                         \
    do {                                                                         \
        if (!jt_err_has(s)) fprintf(stderr, "\n  %s:%d: error was '%s', wanted '%s'\n", __FILE__, __LINE__, jx_errmsg(), (s)); \
        CU_ASSERT(jt_err_has(s));                                                \
    } while (0)

/* Writes the coco-tiny folder (JX_SOURCE_DIR/../shared/data/coco-tiny) to dir (n bytes);
 * returns 1 when its annotations are there, else 0 after a note on stderr. */
int jt_coco_tiny(char *dir, size_t n);

/* "file.c:123:" for this file and a given line, to check an error names the place. */
const char *jt_place(const char *file, int line);
/* Traces body (one output) on av[0..nin) and asserts that it fails with an error that
 * contains msg and names file:*line (the body sets *line to its failing op's line). */
void jt_assert_trace_fails(jx_body body, void *user, int nin, const jx_aval *av, const char *msg,
                           const char *file, const int *line);
/* Asserts that f's text form contains each of want[0..n) and parses back to the same
 * text. */
void jt_assert_text_round_trip(const jx_fn *f, int n, const char *const *want);

/* How many times `what` (e.g. " = scan[") occurs in f's text (jx_fn_to_string). */
int jt_count_in_ir(const jx_fn *f, const char *what);

#endif
