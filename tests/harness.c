/* harness.c: see harness.h. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int jit_wanted(void);

int jt_run(const char *suite, CU_TestInfo *tests) {
    jx_device_mem_stats ms;
    if (jit_wanted() == 2 && jx_device_mem_stats_get(JX_DEVICE_CUDA, &ms) != JX_OK) {
        printf("%s: skipped under JX_TEST_JIT=cuda: %s\n", suite, jx_errmsg());
        return 77; /* CTest: SKIP_RETURN_CODE */
    }
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_SuiteInfo suites[] = {{suite, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int failed = (int)(CU_get_number_of_failures() + CU_get_number_of_tests_failed());
    int ran = (int)CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || ran == 0 ? 1 : 0;
}

static long jit_checks;
long jt_jit_checks(void) { return jit_checks; }

/* JX_TEST_JIT: 0 (unset), 1 (the CPU jit) or 2 ("cuda": the CUDA jit). */
static int jit_wanted(void) {
    static int wanted = -1;
    if (wanted < 0) {
        const char *e = getenv("JX_TEST_JIT");
        wanted = !e || !*e || strcmp(e, "0") == 0 ? 0 : strcmp(e, "cuda") == 0 ? 2 : 1;
    }
    return wanted;
}

/* Tolerance of a jit result against the interpreter, relative to max(1, |want|). */
static double jit_tol(jx_dtype t) {
    switch (t) {
    case JX_F32: return 2e-5;
    case JX_F64: return 1e-12;
    case JX_F16: case JX_BF16: return 1e-2;
    default: return 0;
    }
}

/* Asserts the jit's output i equals the interpreter's. */
static void compare_jit(const jx_fn *f, int i, const jx_array *got, const jx_array *want) {
    jx_aval ga = jx_array_aval(got), wa = jx_array_aval(want);
    char b1[64], b2[64];
    if (!jx_aval_equal(&ga, &wa)) {
        fprintf(stderr, "\n  jit: %s output %d is %s, interpreter gave %s\n", jx_fn_name(f), i,
                jx_aval_str(&ga, b1, 64), jx_aval_str(&wa, b2, 64));
        CU_FAIL("jit output aval differs from the interpreter's");
        return;
    }
    int64_t n = jx_array_size(want);
    double tol = jit_tol(wa.dtype), worst = 0;
    int64_t at = -1;
    for (int64_t k = 0; k < n; k++) {
        double g = jx_array_get(got, k), w = jx_array_get(want, k);
        double d;
        if (isnan(w) || isnan(g)) d = isnan(w) && isnan(g) ? 0 : INFINITY;
        else if (isinf(w) || isinf(g)) d = g == w ? 0 : INFINITY;
        else d = fabs(g - w) / (fabs(w) > 1 ? fabs(w) : 1);
        if (d > worst) worst = d, at = k;
    }
    jit_checks++;
    if (worst > tol) {
        fprintf(stderr, "\n  jit: %s output %d (%s) differs at element %lld: %.17g vs interpreter %.17g\n",
                jx_fn_name(f), i, jx_aval_str(&wa, b1, 64), (long long)at, jx_array_get(got, at),
                jx_array_get(want, at));
        CU_FAIL("jit output differs from the interpreter's");
    }
}

jx_status jt_eval(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out) {
    jx_status st = jx_eval(f, nin, in, nout, out);
    if (st != JX_OK || !jit_wanted()) return st;
    jx_exec *x = jx_jit(f, jit_wanted() == 2 ? JX_DEVICE_CUDA : JX_DEVICE_CPU, NULL);
    jx_array **got = calloc((size_t)nout + 1, sizeof *got);
    if (!x || !got || jx_exec_run(x, nin, in, nout, got) != JX_OK) {
        fprintf(stderr, "\n  jit of %s failed: %s\n", jx_fn_name(f), jx_errmsg());
        CU_FAIL("jit failed where the interpreter succeeded");
    } else {
        for (int i = 0; i < nout; i++) compare_jit(f, i, got[i], out[i]);
    }
    for (int i = 0; got && i < nout; i++) jx_array_release(got[i]);
    free(got);
    jx_exec_release(x);
    return st;
}

jx_status jt_trace_eval(jx_body body, void *user, int nin, const jx_aval *avals,
                        jx_array *const *in, int nout, jx_array **out) {
    jx_fn *f = jx_trace("test", body, user, nin, avals, nout);
    if (!f) return jx_errcode();
    jx_status st = jt_eval(f, nin, in, nout, out);
    jx_fn_release(f);
    return st;
}

jx_array *jt_eval1(jx_body body, void *user, int nin, jx_array **in) {
    jx_aval av[16] = {{0}};
    jx_array *y = NULL;
    for (int i = 0; i < nin && i < 16; i++) av[i] = jx_array_aval(in[i]);
    if (nin > 16 || jt_trace_eval(body, user, nin, av, in, 1, &y) != JX_OK)
        fprintf(stderr, "\n  unexpected: %s\n", jx_errmsg());
    for (int i = 0; i < nin; i++) jx_array_release(in[i]);
    return y;
}

jx_array *jt_array(jx_dtype t, jx_ints shape, const double *v) {
    jx_array *d = jx_array_new(JX_F64, shape, v);
    jx_array *a = d ? jx_array_astype(d, t) : NULL;
    jx_array_release(d);
    return a;
}

double jt_max_err(const jx_array *a, const double *want, int64_t n) {
    if (!a || jx_array_size(a) != n) return INFINITY;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = jx_array_get(a, i), w = want[i];
        if (isnan(w) || isnan(g)) {
            if (!(isnan(w) && isnan(g))) return INFINITY;
            continue;
        }
        if (isinf(w) || isinf(g)) {
            if (g != w) return INFINITY;
            continue;
        }
        double d = fabs(g - w) / (fabs(w) > 1 ? fabs(w) : 1);
        if (d > worst) worst = d;
    }
    return worst;
}

void jt_check_array(int line, jx_array *y, jx_dtype t, jx_ints shape, const double *want, double tol) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    jx_aval got = jx_array_aval(y), w = jx_aval_make(t, shape);
    if (!jx_aval_equal(&got, &w)) {
        char b1[64], b2[64];
        fprintf(stderr, "\n  line %d: got %s, want %s\n", line, jx_aval_str(&got, b1, 64), jx_aval_str(&w, b2, 64));
    }
    CU_ASSERT(jx_aval_equal(&got, &w));
    double e = jt_max_err(y, want, jx_array_size(y));
    if (!(e <= tol)) fprintf(stderr, "\n  line %d: error %g\n", line, e);
    CU_ASSERT(e <= tol);
    jx_array_release(y);
}

int jt_err_has(const char *s) { return strstr(jx_errmsg(), s) != NULL; }

const char *jt_place(const char *file, int line) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s:%d:", file, line);
    return buf;
}

void jt_assert_text_round_trip(const jx_fn *f, int n, const char *const *want) {
    char *t1 = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
    for (int i = 0; i < n; i++) {
        if (!strstr(t1, want[i])) fprintf(stderr, "\n  '%s' is not in the text form", want[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(t1, want[i]));
    }
    jx_fn *g = jx_fn_parse(t1);
    CU_ASSERT_PTR_NOT_NULL(g);
    char *t2 = g ? jx_fn_to_string(g) : NULL;
    CU_ASSERT(t2 && strcmp(t1, t2) == 0);
    free(t1);
    free(t2);
    jx_fn_release(g);
}

void jt_assert_trace_fails(jx_body body, void *user, int nin, const jx_aval *av, const char *msg,
                           const char *file, const int *line) {
    jx_fn *f = jx_trace("fails", body, user, nin, av, 1);
    CU_ASSERT_PTR_NULL(f);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(file, *line));
    jx_fn_release(f);
}

int jt_count_in_ir(const jx_fn *f, const char *what) {
    char *s = jx_fn_to_string(f);
    int k = 0;
    for (const char *p = s; p && (p = strstr(p, what)); p++) k++;
    free(s);
    return k;
}

int jt_coco_tiny(char *dir, size_t n) {
    const char *src = getenv("JX_SOURCE_DIR");
    snprintf(dir, n, "%s/../shared/data/coco-tiny", src ? src : "..");
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/annotations/instances_val2017.json", dir);
    FILE *f = fopen(probe, "r");
    if (!f) {
        fprintf(stderr, "SKIP: coco-tiny not found at %s\n", dir);
        return 0;
    }
    fclose(f);
    return 1;
}
