/* test_fori.c: jx_fori_loop traced and evaluated: the counter's values, zero and
 * negative trip counts, the scan it lowers to, and errors naming the caller's line. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

typedef struct bounds {
    int64_t lo, hi;
    int n;         /* carries passed (may be bad on purpose) */
    int null_init; /* pass NULL for init */
    int null_body; /* pass NULL for the body */
    int line;      /* where the fori_loop call is, for error tests */
} bounds;

/* carry (acc, count) -> (acc + i * x, count + 1); x is captured from the outer trace. */
typedef struct step_user {
    jx_val x;
} step_user;

static void step(jx_val *out, const jx_val *in, void *u) {
    const step_user *s = u;
    jx_val fi = jx_convert(in[0], JX_F64);
    out[0] = jx_add(in[1], jx_mul(fi, s->x));
    out[1] = jx_add(in[2], jx_scalar(JX_I32, 1));
}

static void loop_body(jx_val *out, const jx_val *in, void *u) {
    bounds *b = u;
    step_user s = {in[0]};
    jx_val init[2] = {jx_zeros_like(in[0]), jx_scalar(JX_I32, 0)};
    b->line = __LINE__ + 1;
    jx_fori_loop(b->lo, b->hi, b->null_body ? NULL : step, &s, b->n, b->null_init ? NULL : init, out);
}

/* Runs the loop over x = [1, 2, 3]; returns the status and fills acc and count. */
static jx_status run(bounds *b, double *acc, int64_t *count, jx_fn **fn) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    jx_fn *f = jx_trace("fori", loop_body, b, 1, &a, 2);
    if (!f) return jx_errcode();
    jx_status st = jx_fn_typecheck(f);
    double xv[3] = {1, 2, 3};
    jx_array *x = jt_array(JX_F64, (jx_ints){(int64_t[]){3}, 1}, xv), *out[2] = {NULL, NULL};
    if (st == JX_OK) st = jt_eval(f, 1, &x, 2, out);
    if (st == JX_OK) {
        const double *p = jx_array_data(out[0]);
        for (int i = 0; i < 3; i++) acc[i] = p[i];
        *count = *(const int32_t *)jx_array_data(out[1]);
    }
    jx_array_release(x);
    jx_array_release(out[0]);
    jx_array_release(out[1]);
    if (fn) *fn = f;
    else jx_fn_release(f);
    return st;
}

/* sum over i in [lo, hi) of i * x, and the trip count. */
static void check_range(int64_t lo, int64_t hi, double isum, int64_t trips) {
    bounds b = {lo, hi, 2, 0, 0, 0};
    double acc[3] = {0};
    int64_t count = -1;
    CU_ASSERT_EQUAL_FATAL(run(&b, acc, &count, NULL), JX_OK);
    double want[3] = {isum * 1, isum * 2, isum * 3};
    for (int i = 0; i < 3; i++) CU_ASSERT_DOUBLE_EQUAL(acc[i], want[i], 1e-12);
    CU_ASSERT_EQUAL(count, trips);
}

static void test_values(void) {
    check_range(2, 6, 2 + 3 + 4 + 5, 4);
    check_range(0, 1, 0, 1);
    check_range(0, 100, 4950, 100);
}

static void test_zero_trips(void) {
    check_range(3, 3, 0, 0);
    check_range(0, 0, 0, 0);
}

static void test_negative_range(void) {
    check_range(-3, 2, -3 - 2 - 1 + 0 + 1, 5); /* negative counters are fine */
    check_range(5, 1, 0, 0);                   /* upper < lower: no trips */
    check_range(-2, -7, 0, 0);
}

/* The loop is one scan whose length is the trip count and whose first carry is i32. */
static void test_lowers_to_scan(void) {
    bounds b = {4, 9, 2, 0, 0, 0};
    double acc[3];
    int64_t count;
    jx_fn *f = NULL;
    CU_ASSERT_EQUAL_FATAL(run(&b, acc, &count, &f), JX_OK);
    const jx__eqn *scan = NULL;
    for (int k = 0; k < f->neqn; k++)
        if (f->eqns[k].prim == (int16_t)JX_PRIM_SCAN) scan = &f->eqns[k];
    CU_ASSERT_PTR_NOT_NULL_FATAL(scan);
    CU_ASSERT_EQUAL(jx__attr_int(scan->nattr, scan->attrs, JX_A_LENGTH, -1), 5);
    CU_ASSERT_EQUAL(jx__attr_int(scan->nattr, scan->attrs, JX_A_NUM_CARRY, -1), 3);
    jx_fn_release(f);
}

/* Each bad call fails the trace with a message naming the fori_loop line. */
static void check_error(bounds b, const char *msg) {
    double acc[3];
    int64_t count;
    CU_ASSERT_NOT_EQUAL(run(&b, acc, &count, NULL), JX_OK);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, b.line));
    JT_ASSERT_ERR("fori_loop");
}

static void test_errors(void) {
    check_error((bounds){0, 3, -1, 0, 0, 0}, "bad carry or output list (-1 carries)");
    check_error((bounds){0, 3, 2, 1, 0, 0}, "bad carry or output list (2 carries)");
    check_error((bounds){0, 3, 2, 0, 1, 0}, "body is NULL");
    check_error((bounds){0, (int64_t)INT32_MAX + 1, 2, 0, 0, 0}, "do not fit an i32 counter");
    check_error((bounds){INT32_MIN, INT32_MAX, 2, 0, 0, 0}, "do not fit an i32 counter");
    check_error((bounds){INT64_MIN, 0, 2, 0, 0, 0}, "do not fit an i32 counter");
}

static void test_outside_trace(void) {
    jx_val out = {0, 0}, init = JX_NONE;
    jx_fori_loop(0, 3, step, NULL, 1, &init, &out);
    CU_ASSERT_EQUAL(out.id, -1);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TRACE);
    JT_ASSERT_ERR("outside of a trace");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"sum of i * x over [lo, hi)", test_values},
        {"zero trips return the initial carries", test_zero_trips},
        {"negative counters and upper < lower", test_negative_range},
        {"lowers to one scan", test_lowers_to_scan},
        {"bad arguments name the caller's line", test_errors},
        {"outside of a trace", test_outside_trace},
        CU_TEST_INFO_NULL,
    };
    return jt_run("fori_loop", tests);
}
