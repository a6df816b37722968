/* test_jit_exec_nans.c: JX_DEBUG_NANS=1 (set by main before anything reads it): a run
 * producing a NaN fails naming the first primitive that made it and the user's line, in
 * the top-level function and inside a loop body; runs without NaNs are unaffected. */
#define _POSIX_C_SOURCE 200809L
#include "jit_util.h"

static int log_line, body_line;

/* y = exp(log(x - 2) * 3): log of a negative number gives the first NaN */
static void log_neg(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val d = jx_sub(in[0], jx_scalar(JX_F32, 2));
    log_line = __LINE__ + 1;
    jx_val l = jx_log(d);
    out[0] = jx_exp(jx_mul(l, jx_scalar(JX_F32, 3)));
}

static void test_nan_names_line(void) {
    jx_aval a = JX_AVAL(JX_F32, 6);
    jx_fn *f = jx_trace("log_neg", log_neg, NULL, 1, &a, 1);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *ok = ju_ramp(JX_INTS(6), 1, 3), *bad = ju_ramp(JX_INTS(6), 1, 0), *y = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &ok, 1, &y), JX_OK);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(y, 0), 1, 1e-6); /* exp(3 log 1) */
    jx_array_release(y);
    y = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &bad, 1, &y), JX_ERR_RUNTIME);
    CU_ASSERT_PTR_NULL(y);
    JT_ASSERT_ERR(jt_place(__FILE__, log_line));
    JT_ASSERT_ERR("log: produced NaN (JX_DEBUG_NANS)");
    jx_array_release(ok);
    jx_array_release(bad);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void w_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 5));
}

/* v = sqrt(v - 1) each trip: negative by the third trip for v = 2.5 */
static void w_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    jx_val d = jx_sub(in[1], jx_scalar(JX_F32, 1));
    body_line = __LINE__ + 1;
    out[1] = jx_sqrt(d);
}

static void loop(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_I32, 0), in[0]};
    jx_val r[2];
    jx_while(w_cond, w_body, NULL, 2, init, r);
    out[0] = r[1];
}

static void test_nan_in_loop_body(void) {
    jx_aval a = JX_AVAL(JX_F32, 4);
    jx_fn *f = jx_trace("loop", loop, NULL, 1, &a, 1);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *v = jx_array_full(JX_F32, JX_INTS(4), 2.5), *y = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &v, 1, &y), JX_ERR_RUNTIME);
    JT_ASSERT_ERR(jt_place(__FILE__, body_line));
    JT_ASSERT_ERR("sqrt: produced NaN");
    jx_array_release(v);
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    setenv("JX_DEBUG_NANS", "1", 1);
    CU_TestInfo tests[] = {
        {"a NaN names the primitive and the user's line", test_nan_names_line},
        {"a NaN inside a while body names the body's line", test_nan_in_loop_body},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_nans", tests);
    jx_jit_cache_clear();
    return rc;
}
