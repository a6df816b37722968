/* test_cond_switch.c: jx_cond with lax.cond's argument order (pred, true_fn, false_fn),
 * bool and integer predicates (nonzero is true), under vmap and grad; jx_switch with
 * lax.switch's clamped index; a NULL branch named in the error. Values are JAX's. */
#include "harness.h"

static void twice(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], jx_scalar(JX_F64, 2));
}
static void plus100(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(in[0], jx_scalar(JX_F64, 100));
}
static void cube(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], jx_mul(in[0], in[0]));
}

/* lax.cond(in[1], twice, plus100, in[0]) */
static void body_cond(jx_val *out, const jx_val *in, void *u) { jx_cond(in[1], twice, plus100, u, 1, in, 1, out); }

/* lax.switch(in[1], [twice, plus100, cube], in[0]) */
static void body_switch(jx_val *out, const jx_val *in, void *u) {
    jx_switch(in[1], 3, (const jx_body[]){twice, plus100, cube}, u, 1, in, 1, out);
}

static double run(jx_body b, jx_dtype pt, double pred, double x) {
    jx_array *in[2] = {jx_array_scalar(JX_F64, x), jx_array_scalar(pt, pred)};
    jx_array *y = jt_eval1(b, NULL, 2, in);
    double v = y ? jx_array_get(y, 0) : NAN;
    jx_array_release(y);
    return v;
}

static void test_cond_order(void) {
    CU_ASSERT_EQUAL(run(body_cond, JX_BOOL, 1, 3), 6);   /* true runs true_fn */
    CU_ASSERT_EQUAL(run(body_cond, JX_BOOL, 0, 3), 103); /* false runs false_fn */
    CU_ASSERT_EQUAL(run(body_cond, JX_I32, -1, 3), 6);   /* an integer: nonzero is true */
    CU_ASSERT_EQUAL(run(body_cond, JX_I32, 5, 3), 6);
    CU_ASSERT_EQUAL(run(body_cond, JX_I32, 0, 3), 103);
    CU_ASSERT_EQUAL(run(body_cond, JX_U8, 2, 3), 6);
}

static void test_switch_clamps(void) {
    CU_ASSERT_EQUAL(run(body_switch, JX_I32, 0, 3), 6);
    CU_ASSERT_EQUAL(run(body_switch, JX_I32, 1, 3), 103);
    CU_ASSERT_EQUAL(run(body_switch, JX_I32, 2, 3), 27);
    CU_ASSERT_EQUAL(run(body_switch, JX_I32, -1, 3), 6); /* clamped to 0 */
    CU_ASSERT_EQUAL(run(body_switch, JX_I64, 7, 3), 27); /* clamped to 2 */
}

/* jax.vmap(lambda x, p: lax.cond(p, twice, plus100, x))([1, 2, 3], [True, False, True]) */
static void test_cond_vmap(void) {
    jx_aval av[2] = {JX_SCALAR(JX_F64), JX_SCALAR(JX_BOOL)};
    jx_fn *f = jx_trace("c", body_cond, NULL, 2, av, 1), *v = f ? jx_vmap(f, JX_NOINTS, JX_NOINTS, 3) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double xs[3] = {1, 2, 3}, ps[3] = {1, 0, 1}, want[3] = {2, 102, 6};
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(3), xs), jt_array(JX_BOOL, JX_INTS(3), ps)}, *y = NULL;
    CU_ASSERT_EQUAL(jt_eval(v, 2, in, 1, &y), JX_OK);
    JT_ASSERT_ARRAY(y, want, 3, 0);
    jx_array_release(y);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(v);
    jx_fn_release(f);
}

/* jax.grad(lambda x: lax.cond(True, twice, plus100, x))(3.) = 2, with False: 1 */
static void test_cond_grad(void) {
    jx_aval av[2] = {JX_SCALAR(JX_F64), JX_SCALAR(JX_BOOL)};
    jx_fn *f = jx_trace("c", body_cond, NULL, 2, av, 1), *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    for (int p = 0; p < 2; p++) {
        jx_array *in[2] = {jx_array_scalar(JX_F64, 3), jx_array_scalar(JX_BOOL, p)}, *y = NULL;
        CU_ASSERT_EQUAL(jt_eval(g, 2, in, 1, &y), JX_OK);
        CU_ASSERT_EQUAL(y ? jx_array_get(y, 0) : NAN, p ? 2 : 1);
        jx_array_release(y);
        jx_array_release(in[0]);
        jx_array_release(in[1]);
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

static int null_line;
static void body_null(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    null_line = __LINE__ + 1;
    jx_cond(in[1], NULL, plus100, NULL, 1, in, 1, out);
}

static void test_cond_null_branch(void) {
    jx_aval av[2] = {JX_SCALAR(JX_F64), JX_SCALAR(JX_BOOL)};
    jx_fn *f = jx_trace("c", body_null, NULL, 2, av, 1);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    JT_ASSERT_ERR("cond: true_fn is NULL");
    JT_ASSERT_ERR(jt_place(__FILE__, null_line));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"cond runs true_fn when pred holds", test_cond_order},
        {"switch clamps its index", test_switch_clamps},
        {"cond under vmap selects per lane", test_cond_vmap},
        {"grad through cond", test_cond_grad},
        {"a NULL branch is named", test_cond_null_branch},
        CU_TEST_INFO_NULL,
    };
    return jt_run("cond_switch", tests);
}
