/* test_control_errors.c: mistakes in control flow report the shapes and the user's
 * line: errors inside bodies name the body's line, signature mismatches the op's. */
#include "harness.h"
#include "ir.h"

static int line; /* the line an expected error must name, set by the bodies */

/* Traces body expecting failure with code, a message containing msg, and `line`. */
static void expect_fail(jx_body body, void *user, int nin, const jx_aval *av, int nout, jx_status code,
                        const char *msg) {
    jx_clear_error();
    jx_fn *f = jx_trace("t", body, user, nin, av, nout);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

static const jx_aval v2 = {JX_F32, 1, {2}};
static const jx_aval v3 = {JX_F32, 1, {3}};

/* ------------------------------------------------------------------ errors in bodies */

static void bad_add(jx_val *out, const jx_val *in, void *user) {
    line = __LINE__ + 1;
    out[0] = jx_add(in[0], *(const jx_val *)user); /* f32[2] + f32[3] */
}
static void id_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0];
}

static void cond_bad_branch(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_switch(jx_scalar(JX_I32, 1), 2, (const jx_body[]){id_body, bad_add}, (void *)&in[1], 1, in, 1, out);
    out[0] = jx_neg(out[0]); /* later ops are no-ops */
}

static void test_error_in_branch(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(cond_bad_branch, NULL, 2, av, 1, JX_ERR_SHAPE, "add: ");
    JT_ASSERT_ERR("f32[2]");
    JT_ASSERT_ERR("f32[3]");
}

static void true_once(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    (void)user;
    out[0] = jx_scalar(JX_BOOL, 1);
}
static void while_bad_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_while(true_once, bad_add, (void *)&in[1], 1, in, out);
}

static void test_error_in_while_body(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(while_bad_body, NULL, 2, av, 1, JX_ERR_SHAPE, "add: ");
}

static void scan_bad_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_scan(bad_add, (void *)&in[1], 3, 0, 1, in, 0, NULL, 0, out);
}

static void test_error_in_scan_body(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(scan_bad_body, NULL, 2, av, 1, JX_ERR_SHAPE, "add: ");
}

/* An error two levels down (a branch inside a scan body) still names its own line. */
static void nested_body(jx_val *out, const jx_val *in, void *user) {
    jx_switch(jx_scalar(JX_BOOL, 0), 2, (const jx_body[]){bad_add, id_body}, user, 1, in, 1, out);
}
static void nested_bad(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_scan(nested_body, (void *)&in[1], 2, 0, 1, in, 0, NULL, 0, out);
}

static void test_error_nested(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(nested_bad, NULL, 2, av, 1, JX_ERR_SHAPE, "add: ");
}

static void unset_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0]; /* out[1] never set */
}
static void while_unset(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init[2] = {in[0], in[0]};
    line = __LINE__ + 1;
    jx_while(true_once, unset_body, NULL, 2, init, out);
}

static void test_error_output_unset(void) {
    expect_fail(while_unset, NULL, 1, &v2, 2, JX_ERR_TRACE, "while_body: output 1 was not set");
}

/* ------------------------------------------------------------------ signature mismatches */

static void ret_user(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    out[0] = *(const jx_val *)user;
}

static void cond_mismatch(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_switch(jx_scalar(JX_I32, 0), 2, (const jx_body[]){id_body, ret_user}, (void *)&in[1], 1, in, 1, out);
}

static void test_cond_outputs_differ(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(cond_mismatch, NULL, 2, av, 1, JX_ERR_SHAPE, "cond: branch 1 gives f32[3], branch 0 gives f32[2]");
}

static int branch_calls;
static void counting(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    branch_calls++;
    out[0] = in[0];
}
static void cond_index(jx_val *out, const jx_val *in, void *user) {
    int nb = *(const int *)user;
    line = __LINE__ + 1;
    jx_switch(in[1], nb, (const jx_body[]){counting, counting, counting}, NULL, 1, in, 1, out);
}

static void test_cond_bad_index(void) {
    int nb = 3;
    jx_aval av[2] = {v2, JX_SCALAR(JX_F32)};
    expect_fail(cond_index, &nb, 2, av, 1, JX_ERR_DTYPE, "cond: index must be an integer or bool scalar, got f32[]");
    av[1] = JX_AVAL(JX_I32, 2);
    expect_fail(cond_index, &nb, 2, av, 1, JX_ERR_DTYPE, "cond: index must be an integer or bool scalar, got i32[2]");
    av[1] = JX_SCALAR(JX_BOOL);
    expect_fail(cond_index, &nb, 2, av, 1, JX_ERR_ARG, "cond: a bool index needs exactly 2 branches, got 3");
    nb = 0;
    expect_fail(cond_index, &nb, 2, av, 1, JX_ERR_ARG, "cond: needs at least one branch, got 0");
}

/* After the first error, a cond does nothing: its branches are not even traced. */
static void fail_then_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_val bad = jx_add(in[0], jx_zeros_like(in[1]));
    jx_switch(jx_scalar(JX_I32, 0), 1, (const jx_body[]){counting}, NULL, 1, &bad, 1, out);
    CU_ASSERT_EQUAL(out[0].id, -1);
}

static void test_sticky(void) {
    jx_aval av[2] = {v2, v3};
    branch_calls = 0;
    expect_fail(fail_then_cond, NULL, 2, av, 1, JX_ERR_SHAPE, "add: ");
    CU_ASSERT_EQUAL(branch_calls, 0);
}

static void while_wrong_carry(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_while(true_once, ret_user, (void *)&in[1], 1, in, out);
}

static void test_while_carry_changes(void) {
    jx_aval av[2] = {v2, v3};
    expect_fail(while_wrong_carry, NULL, 2, av, 1, JX_ERR_SHAPE, "while: body changes carry 0 from f32[2] to f32[3]");
}

static void int_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_scalar(JX_I32, 1);
    (void)in;
}
static void while_int_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_while(int_cond, id_body, NULL, 1, in, out);
}

static void test_while_cond_not_bool(void) {
    expect_fail(while_int_cond, NULL, 1, &v2, 1, JX_ERR_DTYPE, "while: cond gives i32[], want a bool scalar");
}

static void scan_wrong_carry(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_scan(ret_user, (void *)&in[1], 2, 0, 1, in, 0, NULL, 0, out);
}

static void test_scan_carry_changes(void) {
    jx_aval av[2] = {JX_SCALAR(JX_F32), v2};
    expect_fail(scan_wrong_carry, NULL, 2, av, 1, JX_ERR_SHAPE, "scan: body changes carry 0 from f32[] to f32[2]");
}

static void two_xs_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], jx_add(in[1], in[2]));
}
static void scan_xs_len(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init = jx_scalar(JX_F32, 0);
    line = __LINE__ + 1;
    jx_scan(two_xs_body, NULL, *(const int64_t *)user, 0, 1, &init, 2, in, 0, out);
}

static void test_scan_xs_length(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 5), JX_AVAL(JX_F32, 4)};
    int64_t len = 5;
    expect_fail(scan_xs_len, &len, 2, av, 1, JX_ERR_SHAPE, "scan: xs 1 has leading dim 4, length is 5");
    av[0] = JX_SCALAR(JX_F32);
    expect_fail(scan_xs_len, &len, 2, av, 1, JX_ERR_SHAPE, "scan: xs 0 is f32[], it needs a leading dim of size 5");
    len = -1;
    expect_fail(scan_xs_len, &len, 2, av, 1, JX_ERR_ARG, "scan: length is -1, must be >= 0");
}

/* ------------------------------------------------------------------ call */

static void sq(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], in[0]);
}
static void call_bad(jx_val *out, const jx_val *in, void *user) {
    const jx_fn *f = user;
    line = __LINE__ + 1;
    jx_call(f, 2, in, 1, out);
}
static void call_wrong_aval(jx_val *out, const jx_val *in, void *user) {
    line = __LINE__ + 1;
    jx_call((const jx_fn *)user, 1, &in[1], 1, out);
}
static void call_null(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    line = __LINE__ + 1;
    jx_call(NULL, 1, in, 1, out);
}

static void test_call_errors(void) {
    jx_fn *f = jx_trace("sq", sq, NULL, 1, &v3, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_aval av[2] = {v3, v2};
    expect_fail(call_bad, f, 2, av, 1, JX_ERR_ARG, "call: 'sq' takes 1 inputs, got 2");
    expect_fail(call_wrong_aval, f, 2, av, 1, JX_ERR_SHAPE, "call: function 'sq' input 0 is f32[3], operand is f32[2]");
    expect_fail(call_null, NULL, 2, av, 1, JX_ERR_ARG, "call: function is NULL");
    jx_fn_release(f);
}

static void test_outside_trace(void) {
    jx_fn *f = jx_trace("sq", sq, NULL, 1, &v3, 1);
    jx_val x = JX_NONE, y = {7, 7};
    line = __LINE__ + 1;
    jx_call(f, 1, &x, 1, &y);
    CU_ASSERT_EQUAL(y.id, -1);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TRACE);
    JT_ASSERT_ERR("call: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    y = (jx_val){7, 7};
    jx_switch(x, 1, (const jx_body[]){id_body}, NULL, 1, &x, 1, &y);
    CU_ASSERT_EQUAL(y.id, -1);
    JT_ASSERT_ERR("cond: called outside of a trace");
    jx_fn_release(f);
}

static void cond_none(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    (void)in;
    jx_val x = JX_NONE;
    line = __LINE__ + 1;
    jx_switch(jx_scalar(JX_I32, 0), 1, (const jx_body[]){id_body}, NULL, 1, &x, 1, out);
}

static void test_invalid_operand(void) {
    expect_fail(cond_none, NULL, 1, &v2, 1, JX_ERR_TRACE, "cond: operand 0 is an invalid value");
}

/* Equations bound by hand (as a parser or a transformation might) are checked too. */
static void raw_while(jx_val *out, const jx_val *in, void *user) {
    jx_fn *const *fns = user;
    jx__attr a[2] = {jx__a_fns(JX_A_COND, 1, &fns[0]), jx__a_fns(JX_A_BODY, 1, &fns[1])};
    line = __LINE__ + 1;
    jx__bind((jx_loc){__FILE__, line}, JX_PRIM_WHILE, 1, in, 2, a, 1, out, NULL);
}
static void raw_scan(jx_val *out, const jx_val *in, void *user) {
    jx_fn *const *fns = user;
    jx__attr a[5] = {jx__a_fns(JX_A_BODY, 1, &fns[1]), jx__a_int(JX_A_LENGTH, 2), jx__a_int(JX_A_REVERSE, 0),
                     jx__a_int(JX_A_NUM_CARRY, 1), jx__a_int(JX_A_NUM_CONSTS, 3)};
    line = __LINE__ + 1;
    jx__bind((jx_loc){__FILE__, line}, JX_PRIM_SCAN, 1, in, 5, a, 1, out, NULL);
}
static void bool_of(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_lt(jx_reduce_sum(in[0], JX_NOINTS), jx_scalar(JX_F32, 0));
}

static void test_raw_attrs(void) {
    jx_fn *fns[2] = {jx_trace("c", bool_of, NULL, 1, &v2, 1), jx_trace("b", id_body, NULL, 1, &v2, 1)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(fns[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fns[1]);
    expect_fail(raw_while, fns, 1, &v2, 1, JX_ERR_ARG, "while: attribute 'num_carry' (an integer) is missing");
    expect_fail(raw_scan, fns, 1, &v2, 1, JX_ERR_ARG, "scan: attribute 'num_consts' is 3, must be in [0, 0]");
    jx_fn_release(fns[0]);
    jx_fn_release(fns[1]);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"error in a cond branch names its line", test_error_in_branch},
        {"error in a while body names its line", test_error_in_while_body},
        {"error in a scan body names its line", test_error_in_scan_body},
        {"error two bodies down names its line", test_error_nested},
        {"body output left unset", test_error_output_unset},
        {"cond branches giving different avals", test_cond_outputs_differ},
        {"cond index of a bad dtype or shape", test_cond_bad_index},
        {"errors are sticky across control flow", test_sticky},
        {"while body changing the carry", test_while_carry_changes},
        {"while cond not a bool", test_while_cond_not_bool},
        {"scan body changing the carry", test_scan_carry_changes},
        {"scan xs leading dims and length", test_scan_xs_length},
        {"call with wrong operands", test_call_errors},
        {"control flow outside of a trace", test_outside_trace},
        {"invalid operand", test_invalid_operand},
        {"hand-bound equations with bad attributes", test_raw_attrs},
        CU_TEST_INFO_NULL,
    };
    return jt_run("control flow errors", tests);
}
