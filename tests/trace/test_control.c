/* test_control.c: call, cond, while and scan traced from C bodies and evaluated by the
 * interpreter, checked against plain C loops; captured values and nesting. */
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

/* Traces body and typechecks the result; prints the error when either fails. */
static jx_fn *trace_ok(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout) {
    jx_fn *f = jx_trace(name, body, user, nin, av, nout);
    if (!f) fprintf(stderr, "\n  trace of %s failed: %s\n", name, jx_errmsg());
    else if (jx_fn_typecheck(f) != JX_OK) fprintf(stderr, "\n  typecheck of %s failed: %s\n", name, jx_errmsg());
    return f;
}

static jx_status eval(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out) {
    jx_status st = jt_eval(f, nin, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    return st;
}

static void release_arrays(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

static const jx__eqn *only_eqn(const jx_fn *f, jx_prim prim) {
    for (int k = 0; k < f->neqn; k++)
        if (f->eqns[k].prim == (int16_t)prim) return &f->eqns[k];
    return NULL;
}

/* ------------------------------------------------------------------ call */

static void sq_plus1(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(jx_mul(in[0], in[0]), jx_scalar(JX_F32, 1));
}

static void call_twice(jx_val *out, const jx_val *in, void *user) {
    jx_val y;
    jx_call((const jx_fn *)user, 1, in, 1, &y);
    jx_call((const jx_fn *)user, 1, &y, 1, out);
}

static void call_once(jx_val *out, const jx_val *in, void *user) { jx_call((const jx_fn *)user, 1, in, 1, out); }

static void test_call(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = trace_ok("sq_plus1", sq_plus1, NULL, 1, &a, 1);
    jx_fn *g = trace_ok("twice", call_twice, f, 1, &a, 1);
    jx_fn *h = trace_ok("outer", call_once, g, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 2);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(h), 1);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(h), 1 + 2 + 2 * 2);
    jx_fn_release(f); /* the call equations keep their own references */
    jx_fn_release(g);
    jx_array *x = jx_array_arange(JX_F32, 0, 3, 1), *y = NULL;
    CU_ASSERT_EQUAL(eval(h, 1, &x, 1, &y), JX_OK);
    double want[3] = {2, 5, 26}; /* f(f(x)) with f(x) = x*x + 1 */
    JT_ASSERT_ARRAY(y, want, 3, 0);
    release_arrays(1, &x);
    release_arrays(1, &y);
    jx_fn_release(h);
}

/* ------------------------------------------------------------------ cond */

static void br_add1(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], jx_scalar_like(in[0], 1));
}
static void br_mul2(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], jx_scalar_like(in[0], 2));
}
static void br_neg(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_neg(in[0]);
}
static const jx_body three[3] = {br_add1, br_mul2, br_neg};

static void cond3(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_switch(in[0], 3, three, NULL, 1, &in[1], 1, out);
}

/* Evaluates f(index, x) with an index array of the given dtype. */
static void check_cond3(jx_fn *f, jx_dtype it, double index, const double *want) {
    jx_array *in[2] = {jx_array_scalar(it, index), jx_array_new(JX_F32, JX_INTS(2), (float[]){1, -2})};
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(eval(f, 2, in, 1, &y), JX_OK);
    JT_ASSERT_ARRAY(y, want, 2, 0);
    release_arrays(2, in);
    jx_array_release(y);
}

static void test_cond_index(void) {
    const double b0[2] = {2, -1}, b1[2] = {2, -4}, b2[2] = {-1, 2};
    jx_dtype types[3] = {JX_I32, JX_I64, JX_U8};
    for (int k = 0; k < 3; k++) {
        jx_aval av[2] = {JX_SCALAR(types[k]), JX_AVAL(JX_F32, 2)};
        jx_fn *f = trace_ok("cond3", cond3, NULL, 2, av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 1);
        if (types[k] != JX_U8) {
            check_cond3(f, types[k], -5, b0); /* clamped to the first branch */
        }
        check_cond3(f, types[k], 0, b0);
        check_cond3(f, types[k], 1, b1);
        check_cond3(f, types[k], 2, b2);
        check_cond3(f, types[k], 7, b2); /* clamped to the last */
        jx_fn_release(f);
    }
}

/* |x| computed the long way: x < 0 picks branch 1 (neg), else branch 0 (times two). */
static void cond_bool(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val p = jx_lt(in[0], jx_scalar(JX_F32, 0));
    jx_switch(p, 2, (const jx_body[]){br_mul2, br_neg}, NULL, 1, in, 1, out);
}

static void test_cond_bool(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    jx_fn *f = trace_ok("cond_bool", cond_bool, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double xs[3] = {-3, 4, 0}, want[3] = {3, 8, 0};
    for (int i = 0; i < 3; i++) {
        jx_array *x = jx_array_scalar(JX_F32, xs[i]), *y = NULL;
        CU_ASSERT_EQUAL(eval(f, 1, &x, 1, &y), JX_OK);
        JT_ASSERT_ARRAY(y, &want[i], 1, 0);
        jx_array_release(x);
        jx_array_release(y);
    }
    jx_fn_release(f);
}

/* Three branches that each use different values of the enclosing trace. */
static void cap_a(jx_val *out, const jx_val *in, void *user) { out[0] = jx_add(in[0], ((const jx_val *)user)[0]); }
static void cap_b(jx_val *out, const jx_val *in, void *user) { out[0] = jx_mul(in[0], ((const jx_val *)user)[1]); }
static void cap_ret(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    out[0] = ((const jx_val *)user)[1]; /* a captured value as the output itself */
}

static void cond_caps(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val ab[2] = {in[2], in[3]};
    jx_switch(in[0], 3, (const jx_body[]){cap_a, cap_b, cap_ret}, ab, 1, &in[1], 1, out);
}

static void test_cond_captures(void) {
    jx_aval v = JX_AVAL(JX_F32, 2);
    jx_aval av[4] = {JX_SCALAR(JX_I32), v, v, v};
    jx_fn *f = trace_ok("cond_caps", cond_caps, NULL, 4, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = only_eqn(f, JX_PRIM_COND);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->nin, 4); /* index, x, then a and b once each */
    const jx__attr *br = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(br);
    for (int b = 0; b < 3; b++) CU_ASSERT_EQUAL(jx_fn_num_inputs(br->u.fns[b]), 3);
    double want[3][2] = {{11, 22}, {100, 400}, {100, 200}};
    for (int i = 0; i < 3; i++) {
        jx_array *in[4] = {jx_array_scalar(JX_I32, i), jx_array_new(JX_F32, JX_INTS(2), (float[]){1, 2}),
                           jx_array_new(JX_F32, JX_INTS(2), (float[]){10, 20}),
                           jx_array_new(JX_F32, JX_INTS(2), (float[]){100, 200})};
        jx_array *y = NULL;
        CU_ASSERT_EQUAL(eval(f, 4, in, 1, &y), JX_OK);
        JT_ASSERT_ARRAY(y, want[i], 2, 0);
        release_arrays(4, in);
        jx_array_release(y);
    }
    jx_fn_release(f);
}

static void br_lit(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    out[0] = jx_scalar(JX_F64, 5); /* a literal output */
}
static void br_id(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0];
}
static void cond_lit(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_switch(in[0], 2, (const jx_body[]){br_lit, br_id}, NULL, 1, &in[1], 1, out);
}

static void test_cond_literal_branch(void) {
    jx_aval av[2] = {JX_SCALAR(JX_BOOL), JX_SCALAR(JX_F64)};
    jx_fn *f = trace_ok("cond_lit", cond_lit, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int p = 0; p < 2; p++) {
        jx_array *in[2] = {jx_array_scalar(JX_BOOL, p), jx_array_scalar(JX_F64, -0.25)}, *y = NULL;
        CU_ASSERT_EQUAL(eval(f, 2, in, 1, &y), JX_OK);
        double want = p ? -0.25 : 5;
        JT_ASSERT_ARRAY(y, &want, 1, 0);
        release_arrays(2, in);
        jx_array_release(y);
    }
    jx_fn_release(f);
}

/* No operands at all: each branch only reads values of the enclosing trace. */
static void pick_x(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    out[0] = jx_neg(((const jx_val *)user)[0]);
}
static void pick_y(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    out[0] = ((const jx_val *)user)[1];
}
static void cond_no_operands(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_switch(in[0], 2, (const jx_body[]){pick_x, pick_y}, (void *)&in[1], 0, NULL, 1, out);
}

static void test_cond_no_operands(void) {
    jx_aval av[3] = {JX_SCALAR(JX_BOOL), JX_AVAL(JX_I64, 2), JX_AVAL(JX_I64, 2)};
    jx_fn *f = trace_ok("cond_no_operands", cond_no_operands, NULL, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(only_eqn(f, JX_PRIM_COND)->nin, 3);
    double want[2][2] = {{-1, 2}, {30, 40}};
    for (int p = 0; p < 2; p++) {
        jx_array *in[3] = {jx_array_scalar(JX_BOOL, p), jx_array_new(JX_I64, JX_INTS(2), (int64_t[]){1, -2}),
                           jx_array_new(JX_I64, JX_INTS(2), (int64_t[]){30, 40})};
        jx_array *y = NULL;
        CU_ASSERT_EQUAL(eval(f, 3, in, 1, &y), JX_OK);
        JT_ASSERT_ARRAY(y, want[p], 2, 0);
        release_arrays(3, in);
        jx_array_release(y);
    }
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ while */

static void i_lt10(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 10));
}
static void count_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(in[1], *(const jx_val *)user); /* captured x */
}
static void while_count(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_I32, 0), jx_zeros_like(in[0])}; /* a literal carry, too */
    jx_while(i_lt10, count_body, (void *)&in[0], 2, init, out);
}

static void test_while_counter(void) {
    jx_aval a = JX_AVAL(JX_F32, 2);
    jx_fn *f = trace_ok("while_count", while_count, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = only_eqn(f, JX_PRIM_WHILE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->nin, 3); /* two carries, x as a const */
    CU_ASSERT_EQUAL(jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, -1), 2);
    jx_array *x = jx_array_new(JX_F32, JX_INTS(2), (float[]){0.5f, -3}), *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 1, &x, 2, y), JX_OK);
    double n = 10, acc[2] = {5, -30};
    JT_ASSERT_ARRAY(y[0], &n, 1, 0);
    JT_ASSERT_ARRAY(y[1], acc, 2, 1e-6);
    CU_ASSERT_EQUAL(jx_array_dtype(y[0]), JX_I32);
    release_arrays(1, &x);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* Newton's method for sqrt(a), a captured by both cond and body (one const). */
static void newton_cond(jx_val *out, const jx_val *in, void *user) {
    jx_val a = *(const jx_val *)user;
    jx_val err = jx_abs(jx_sub(jx_mul(in[1], in[1]), a));
    out[0] = jx_and(jx_lt(in[0], jx_scalar(JX_I32, 100)), jx_gt(err, jx_mul(a, jx_scalar(JX_F64, 1e-14))));
}
static void newton_body(jx_val *out, const jx_val *in, void *user) {
    jx_val a = *(const jx_val *)user;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_mul(jx_scalar(JX_F64, 0.5), jx_add(in[1], jx_div(a, in[1])));
}
static void newton(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_I32, 0), in[0]};
    jx_while(newton_cond, newton_body, (void *)&in[0], 2, init, out);
}

static void test_while_newton(void) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *f = trace_ok("newton", newton, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(only_eqn(f, JX_PRIM_WHILE)->nin, 3);
    double as[3] = {2, 100, 1e6};
    for (int i = 0; i < 3; i++) {
        jx_array *x = jx_array_scalar(JX_F64, as[i]), *y[2] = {NULL, NULL};
        CU_ASSERT_EQUAL(eval(f, 1, &x, 2, y), JX_OK);
        double want = sqrt(as[i]);
        JT_ASSERT_ARRAY(y[1], &want, 1, 1e-14);
        CU_ASSERT(jx_array_get(y[0], 0) > 2 && jx_array_get(y[0], 0) < 100);
        jx_array_release(x);
        release_arrays(2, y);
    }
    jx_fn_release(f);
}

/* cond captures n and body captures step: two consts, one from each. */
static void i_lt_n(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_lt(in[0], ((const jx_val *)user)[0]);
}
static void step_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(in[1], jx_mul(in[0], ((const jx_val *)user)[1]));
}
static void while_caps(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_I32, 0), jx_scalar(JX_I32, 0)};
    jx_while(i_lt_n, step_body, (void *)in, 2, init, out);
}

static void test_while_cond_captures(void) {
    jx_aval av[2] = {JX_SCALAR(JX_I32), JX_SCALAR(JX_I32)};
    jx_fn *f = trace_ok("while_caps", while_caps, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = only_eqn(f, JX_PRIM_WHILE);
    CU_ASSERT_EQUAL(e->nin, 4);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(jx__attr_get(e->nattr, e->attrs, JX_A_COND)->u.fns[0]), 4);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(jx__attr_get(e->nattr, e->attrs, JX_A_BODY)->u.fns[0]), 4);
    int ns[3] = {5, 0, -3};
    double want_s[3] = {20, 0, 0}, want_i[3] = {5, 0, 0};
    for (int k = 0; k < 3; k++) {
        jx_array *in[2] = {jx_array_scalar(JX_I32, ns[k]), jx_array_scalar(JX_I32, 2)}, *y[2] = {NULL, NULL};
        CU_ASSERT_EQUAL(eval(f, 2, in, 2, y), JX_OK);
        JT_ASSERT_ARRAY(y[0], &want_i[k], 1, 0);
        JT_ASSERT_ARRAY(y[1], &want_s[k], 1, 0);
        release_arrays(2, in);
        release_arrays(2, y);
    }
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ scan */

static void cs_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = out[1] = jx_add(in[0], in[1]);
}
static void cumsum_scan(jx_val *out, const jx_val *in, void *user) {
    jx_val init = jx_scalar(JX_F32, 0);
    jx_scan(cs_body, NULL, 5, *(const int *)user, 1, &init, 1, in, 1, out);
}

static void test_scan_cumsum(void) {
    jx_aval a = JX_AVAL(JX_F32, 5);
    float xv[5] = {1, 2, 3, 4, 5};
    for (int rev = 0; rev < 2; rev++) {
        jx_fn *f = trace_ok("cumsum", cumsum_scan, &rev, 1, &a, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_array *x = jx_array_new(JX_F32, JX_INTS(5), xv), *y[2] = {NULL, NULL};
        CU_ASSERT_EQUAL(eval(f, 1, &x, 2, y), JX_OK);
        double want[5], c = 0;
        for (int t = 0; t < 5; t++) { /* the plain loop, with reverse as lax.scan */
            int i = rev ? 4 - t : t;
            c += xv[i];
            want[i] = c;
        }
        JT_ASSERT_ARRAY(y[0], &c, 1, 0);
        JT_ASSERT_ARRAY(y[1], want, 5, 0);
        jx_array_release(x);
        release_arrays(2, y);
        jx_fn_release(f);
    }
}

/* h_t = tanh(h W + x_t U + b): carry h (1,3), xs (T,1,2), W (3,3), U (2,3), b (3) captured. */
enum { T = 4 };
static void rnn_body(jx_val *out, const jx_val *in, void *user) {
    const jx_val *p = user; /* W, U, b */
    jx_val h = jx_tanh(jx_add(jx_add(jx_matmul(in[0], p[0]), jx_matmul(in[1], p[1])), p[2]));
    out[0] = out[1] = h;
}
static void rnn(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_scan(rnn_body, (void *)&in[2], T, 0, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan_rnn(void) {
    jx_aval av[5] = {JX_AVAL(JX_F32, 1, 3), JX_AVAL(JX_F32, T, 1, 2), JX_AVAL(JX_F32, 3, 3),
                     JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3)};
    jx_fn *f = trace_ok("rnn", rnn, NULL, 5, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = only_eqn(f, JX_PRIM_SCAN);
    CU_ASSERT_EQUAL(jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, -1), 3);
    float h0[3] = {0.1f, -0.2f, 0.3f}, xs[T][2], W[3][3], U[2][3], b[3] = {0.05f, -0.1f, 0.2f};
    for (int t = 0; t < T; t++)
        for (int j = 0; j < 2; j++) xs[t][j] = (float)sin(t * 2 + j);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) W[i][j] = (float)(0.3 * cos(i * 3 + j));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) U[i][j] = (float)(0.5 * sin(i * 5 + j + 1));
    jx_array *in[5] = {jx_array_new(JX_F32, JX_INTS(1, 3), h0), jx_array_new(JX_F32, JX_INTS(T, 1, 2), xs),
                       jx_array_new(JX_F32, JX_INTS(3, 3), W), jx_array_new(JX_F32, JX_INTS(2, 3), U),
                       jx_array_new(JX_F32, JX_INTS(3), b)};
    jx_array *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 5, in, 2, y), JX_OK);
    double h[3] = {h0[0], h0[1], h0[2]}, ys[T][3];
    for (int t = 0; t < T; t++) {
        double nh[3];
        for (int j = 0; j < 3; j++) {
            double s = b[j];
            for (int i = 0; i < 3; i++) s += h[i] * W[i][j];
            for (int i = 0; i < 2; i++) s += xs[t][i] * U[i][j];
            nh[j] = tanh(s);
        }
        for (int j = 0; j < 3; j++) h[j] = ys[t][j] = nh[j];
    }
    JT_ASSERT_ARRAY(y[0], h, 3, 1e-5);
    JT_ASSERT_ARRAY(y[1], &ys[0][0], T * 3, 1e-5);
    CU_ASSERT_EQUAL(jx_array_rank(y[1]), 3);
    CU_ASSERT_EQUAL(jx_array_shape(y[1])[0], T);
    release_arrays(5, in);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* Two carries and two xs of different dtypes; ys of both. */
static void mixed_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], in[2]);                      /* f32 sum */
    out[1] = jx_mul(in[1], in[3]);                      /* i32 product */
    out[2] = jx_mul(in[2], jx_scalar(JX_F32, 2));       /* y: 2a */
    out[3] = jx_add(in[3], jx_scalar(JX_I32, 1));       /* y: b + 1 */
}
static void mixed(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_F32, 0), jx_scalar(JX_I32, 1)};
    jx_scan(mixed_body, NULL, 3, 1, 2, init, 2, in, 2, out);
}

static void test_scan_mixed(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_I32, 3)};
    jx_fn *f = trace_ok("mixed", mixed, NULL, 2, av, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {jx_array_new(JX_F32, JX_INTS(3), (float[]){0.5f, 1, 2}),
                       jx_array_new(JX_I32, JX_INTS(3), (int32_t[]){2, -3, 4})};
    jx_array *y[4] = {NULL};
    CU_ASSERT_EQUAL(eval(f, 2, in, 4, y), JX_OK);
    double s = 3.5, p = -24, ya[3] = {1, 2, 4}, yb[3] = {3, -2, 5};
    JT_ASSERT_ARRAY(y[0], &s, 1, 0);
    JT_ASSERT_ARRAY(y[1], &p, 1, 0);
    JT_ASSERT_ARRAY(y[2], ya, 3, 0);
    JT_ASSERT_ARRAY(y[3], yb, 3, 0);
    CU_ASSERT_EQUAL(jx_array_dtype(y[3]), JX_I32);
    release_arrays(2, in);
    release_arrays(4, y);
    jx_fn_release(f);
}

/* length 0: the carry comes back as given, the ys are empty. */
static void addx_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], in[1]);
    out[1] = jx_mul(in[1], jx_scalar(JX_F32, 2));
}
static void scan_empty(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_scan(addx_body, NULL, 0, 0, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan_zero_length(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 0, 3)};
    jx_fn *f = trace_ok("scan_empty", scan_empty, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_aval ys = jx_fn_output_aval(f, 1), want_ys = JX_AVAL(JX_F32, 0, 3);
    CU_ASSERT(jx_aval_equal(&ys, &want_ys));
    jx_array *in[2] = {jx_array_new(JX_F32, JX_INTS(3), (float[]){1, 2, 3}), jx_array_zeros(JX_F32, JX_INTS(0, 3))};
    jx_array *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 2, in, 2, y), JX_OK);
    double c[3] = {1, 2, 3};
    JT_ASSERT_ARRAY(y[0], c, 3, 0);
    CU_ASSERT_EQUAL(jx_array_size(y[1]), 0);
    CU_ASSERT_EQUAL(jx_array_shape(y[1])[1], 3);
    release_arrays(2, in);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* No xs at all: a counted loop of `length` steps with ys = the carry before each step. */
static void dbl_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], jx_scalar(JX_F32, 2));
    out[1] = in[0];
}
static void scan_noxs(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_scan(dbl_body, NULL, 4, 0, 1, in, 0, NULL, 1, out);
}

static void test_scan_no_xs(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    jx_fn *f = trace_ok("scan_noxs", scan_noxs, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x = jx_array_scalar(JX_F32, 1), *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 1, &x, 2, y), JX_OK);
    double c = 16, ys[4] = {1, 2, 4, 8};
    JT_ASSERT_ARRAY(y[0], &c, 1, 0);
    JT_ASSERT_ARRAY(y[1], ys, 4, 0);
    jx_array_release(x);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ nesting */

/* c += x if x > 0 else c -= x * s, with s captured from two traces out. */
static void pos_br(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], in[1]);
}
static void neg_br(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_sub(in[0], jx_mul(in[1], *(const jx_val *)user));
}
static void cond_in_scan_body(jx_val *out, const jx_val *in, void *user) {
    jx_val p = jx_gt(in[1], jx_scalar(JX_F32, 0));
    jx_switch(p, 2, (const jx_body[]){neg_br, pos_br}, user, 2, in, 1, out);
    out[1] = out[0];
}
static void cond_in_scan(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init = jx_scalar(JX_F32, 0);
    jx_scan(cond_in_scan_body, (void *)&in[1], 4, 0, 1, &init, 1, &in[0], 1, out);
}

static void test_cond_in_scan(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 4), JX_SCALAR(JX_F32)};
    jx_fn *f = trace_ok("cond_in_scan", cond_in_scan, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = only_eqn(f, JX_PRIM_SCAN);
    CU_ASSERT_EQUAL(jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, -1), 1);
    jx_array *in[2] = {jx_array_new(JX_F32, JX_INTS(4), (float[]){1, -2, 3, -4}), jx_array_scalar(JX_F32, 10)};
    jx_array *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 2, in, 2, y), JX_OK);
    double c = 64, ys[4] = {1, 21, 24, 64};
    JT_ASSERT_ARRAY(y[0], &c, 1, 0);
    JT_ASSERT_ARRAY(y[1], ys, 4, 0);
    release_arrays(2, in);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* Three rounds of prefix sums: a scan inside a while. */
static void k_lt3(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 3));
}
static void scan_in_while_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init = jx_scalar(JX_F32, 0), r[2];
    jx_scan(cs_body, NULL, 3, 0, 1, &init, 1, &in[1], 1, r);
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = r[1];
}
static void scan_in_while(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {jx_scalar(JX_I32, 0), in[0]};
    jx_while(k_lt3, scan_in_while_body, NULL, 2, init, out);
}

static void test_scan_in_while(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = trace_ok("scan_in_while", scan_in_while, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 1);
    jx_array *x = jx_array_ones(JX_F32, JX_INTS(3)), *y[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(eval(f, 1, &x, 2, y), JX_OK);
    double k = 3, v[3] = {1, 4, 10};
    JT_ASSERT_ARRAY(y[0], &k, 1, 0);
    JT_ASSERT_ARRAY(y[1], v, 3, 0);
    jx_array_release(x);
    release_arrays(2, y);
    jx_fn_release(f);
}

/* The text form shows the nested functions (and survives printing). */
static void test_print_nested(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = trace_ok("scan_in_while", scan_in_while, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s) {
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "while"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "scan"));
    }
    free(s);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"call, and call inside call", test_call},
        {"cond on an integer index, clamped", test_cond_index},
        {"cond on a bool predicate", test_cond_bool},
        {"cond branches capturing different values", test_cond_captures},
        {"cond branch giving a literal", test_cond_literal_branch},
        {"cond without operands", test_cond_no_operands},
        {"while counter with a captured value", test_while_counter},
        {"while Newton iterations", test_while_newton},
        {"while whose cond captures a value", test_while_cond_captures},
        {"scan cumulative sum, forward and reverse", test_scan_cumsum},
        {"scan RNN against a C loop", test_scan_rnn},
        {"scan with mixed dtypes", test_scan_mixed},
        {"scan of length 0", test_scan_zero_length},
        {"scan without xs", test_scan_no_xs},
        {"cond inside scan, capturing two levels out", test_cond_in_scan},
        {"scan inside while", test_scan_in_while},
        {"printing nested functions", test_print_nested},
        CU_TEST_INFO_NULL,
    };
    return jt_run("control flow", tests);
}
