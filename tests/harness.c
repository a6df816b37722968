/* harness.c: see harness.h. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

int jt_run(const char *suite, CU_TestInfo *tests) {
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

jx_status jt_trace_eval(jx_body body, void *user, int nin, const jx_aval *avals,
                        jx_array *const *in, int nout, jx_array **out) {
    jx_fn *f = jx_trace("test", body, user, nin, avals, nout);
    if (!f) return jx_errcode();
    jx_status st = jx_eval(f, nin, in, nout, out);
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
