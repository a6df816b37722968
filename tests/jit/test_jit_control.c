/* test_jit_control.c: cond, while and scan run by the jit's executor around compiled
 * sub-programs, compared with the interpreter: branches and clamping, loops whose carry
 * is updated in place, scans forwards and backwards with consts, nesting, and gradients
 * through a scan. */
#include "jit_util.h"

/* ------------------------------------------------------------------ cond */

static void br_exp(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_exp(in[0]);
    out[1] = jx_sum(in[1], JX_NOINTS);
}

static void br_neg(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_neg(jx_mul(in[0], in[0]));
    out[1] = jx_reduce_max(in[1], JX_NOINTS);
}

static void br_lit(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0];
    out[1] = jx_scalar(JX_F32, 7);
}

/* cond(index, x (5), y (2,3)) over three branches */
static void cond3(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_body br[3] = {br_exp, br_neg, br_lit};
    jx_switch(in[0], 3, br, NULL, 2, in + 1, 2, out);
}

static void test_cond(void) {
    jx_aval av[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F32, 5), JX_AVAL(JX_F32, 2, 3)};
    jx_fn *f = jx_trace("cond3", cond3, NULL, 3, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x = ju_ramp(JX_INTS(5), 0.5, -1), *y = ju_ramp(JX_INTS(2, 3), -1, 2);
    int idx[] = {-4, 0, 1, 2, 9}; /* clamped into [0, 2] */
    for (int i = 0; i < 5; i++) {
        jx_array *in[3] = {jx_array_scalar(JX_I32, idx[i]), x, y};
        CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 3, in), 2);
        jx_array_release(in[0]);
    }
    jx_array_release(x);
    jx_array_release(y);
    jx_fn_release(f);
}

static void pick_pos(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_sqrt(in[0]);
}

static void pick_neg(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], jx_scalar(JX_F32, -3));
}

/* a bool predicate computed inside the function */
static void cond_bool(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_body br[2] = {pick_neg, pick_pos};
    jx_val p = jx_gt(jx_sum(in[0], JX_NOINTS), jx_scalar(JX_F32, 0));
    jx_switch(p, 2, br, NULL, 1, in, 1, out);
}

static void test_cond_bool(void) {
    jx_aval a = JX_AVAL(JX_F32, 4);
    jx_fn *f = jx_trace("cond_bool", cond_bool, NULL, 1, &a, 1);
    jx_array *pos = ju_ramp(JX_INTS(4), 1, 1), *neg = ju_ramp(JX_INTS(4), -1, -1), *y = NULL;
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &pos), 1);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &neg), 1);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &neg, 1, &y), JX_OK);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(y, 3), 12, 1e-6);
    jx_array_release(y);
    jx_exec_release(x);
    jx_array_release(pos);
    jx_array_release(neg);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ while */

static void w_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 10));
}

/* carry (i, v (64), s): v = v * 0.9 + c, s += sum(v); c is a captured const */
static void w_body(jx_val *out, const jx_val *in, void *user) {
    jx_val c = *(const jx_val *)user;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(jx_mul(in[1], jx_scalar(JX_F32, 0.9)), c);
    out[2] = jx_add(in[2], jx_sum(out[1], JX_NOINTS));
}

static void while_loop(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val c = jx_tanh(in[1]);
    jx_val init[3] = {jx_scalar(JX_I32, 0), in[0], jx_scalar(JX_F32, 0)};
    jx_while(w_cond, w_body, &c, 3, init, out);
}

static void test_while(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 64), JX_AVAL(JX_F32, 64)};
    jx_fn *f = jx_trace("while_loop", while_loop, NULL, 2, av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {ju_ramp(JX_INTS(64), 0.25, -3), ju_ramp(JX_INTS(64), 0.01, -0.2)};
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 2, in), 3);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_array *out[3] = {NULL, NULL, NULL};
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 3, out), JX_OK);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out[0], 0), 10, 0);
    for (int i = 0; i < 3; i++) jx_array_release(out[i]);
    /* the interpreter device agrees too */
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_INTERP, NULL, 2, in), 3);
    jx_exec_release(x);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(f);
}

/* a loop that never runs gives back its initial carry */
static void w_never(jx_val *out, const jx_val *in, void *user) {
    (void)user, (void)in;
    out[0] = jx_scalar(JX_BOOL, 0);
}

static void w_double(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], jx_scalar(JX_F32, 2));
}

static void while_never(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_while(w_never, w_double, NULL, 1, in, out);
}

static void test_while_zero_trips(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("while_never", while_never, NULL, 1, &a, 1);
    jx_array *x = ju_ramp(JX_INTS(3), 1, 1);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &x), 1);
    jx_array_release(x);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ scan */

/* carry (acc (3)), x_t (3) -> (acc + x_t * k, acc * x_t) with k a const */
static void s_body(jx_val *out, const jx_val *in, void *user) {
    jx_val k = *(const jx_val *)user;
    out[0] = jx_add(in[0], jx_mul(in[1], k));
    out[1] = jx_mul(in[0], in[1]);
}

typedef struct scan_args {
    int reverse;
} scan_args;

static void scan_fn(jx_val *out, const jx_val *in, void *user) {
    const scan_args *a = user;
    jx_val k = jx_exp(in[2]);
    jx_scan(s_body, &k, 6, a->reverse, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 6, 3), JX_AVAL(JX_F32, 3)};
    jx_array *in[3] = {ju_ramp(JX_INTS(3), 1, 0.5), ju_ramp(JX_INTS(6, 3), 0.3, -2), ju_ramp(JX_INTS(3), 0.1, 0)};
    for (int rev = 0; rev < 2; rev++) {
        scan_args a = {rev};
        jx_fn *f = jx_trace("scan", scan_fn, &a, 3, av, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 3, in), 2);
        jx_fn_release(f);
    }
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
}

/* ------------------------------------------------------------------ nesting and grad */

/* a fori loop (a scan) whose body runs a while loop and a cond */
static void outer_step(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[3] = {jx_scalar(JX_I32, 0), in[1], jx_scalar(JX_F32, 0)};
    jx_val w[3];
    jx_while(w_cond, w_body, (void *)&in[1], 3, init, w);
    jx_body br[2] = {pick_neg, pick_pos};
    jx_val p = jx_eq(jx_rem(in[0], jx_scalar(JX_I32, 2)), jx_scalar(JX_I32, 0));
    jx_val c;
    jx_val a = jx_abs(w[1]);
    jx_switch(p, 2, br, NULL, 1, &a, 1, &c);
    out[0] = jx_add(jx_mul(in[1], jx_scalar(JX_F32, 0.5)), jx_mul(c, jx_scalar(JX_F32, 0.01)));
}

static void nested(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_fori_loop(0, 4, outer_step, NULL, 1, in, out);
}

static void test_nested(void) {
    jx_aval a = JX_AVAL(JX_F32, 8);
    jx_fn *f = jx_trace("nested", nested, NULL, 1, &a, 1);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x = ju_ramp(JX_INTS(8), 0.3, -1);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &x), 1);
    jx_array_release(x);
    jx_fn_release(f);
}

/* sum over a fori loop of x = sin(x) * w: reverse mode through a scan */
static void fori_body(jx_val *out, const jx_val *in, void *user) {
    jx_val w = *(const jx_val *)user;
    out[0] = jx_mul(jx_sin(in[1]), w);
}

static void fori_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x;
    jx_fori_loop(0, 5, fori_body, (void *)&in[1], 1, &in[0], &x);
    out[0] = jx_sum(jx_mul(x, x), JX_NOINTS);
}

static void test_grad_through_scan(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 16), JX_AVAL(JX_F32, 16)};
    jx_fn *f = jx_trace("fori_loss", fori_loss, NULL, 2, av, 1);
    jx_fn *g = f ? jx_grad(f, JX_INTS(0, 1)) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {ju_ramp(JX_INTS(16), 0.2, -1.5), ju_ramp(JX_INTS(16), 0.05, 0.6)};
    CU_ASSERT_EQUAL(ju_check(g, JX_DEVICE_CPU, NULL, 2, in), 2);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"cond: integer index, clamped, three branches", test_cond},
        {"cond: bool predicate computed in the function", test_cond_bool},
        {"while: carried state, consts, counter", test_while},
        {"while: zero trips gives the initial carry", test_while_zero_trips},
        {"scan: forwards and reverse, consts, stacked ys", test_scan},
        {"nesting: while and cond inside a fori loop", test_nested},
        {"grad through a fori loop (scan) jits", test_grad_through_scan},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_control", tests);
    jx_jit_cache_clear();
    return rc;
}
