/* test_grad_movement.c: jvp and vjp of the data-movement primitives checked against
 * finite differences and each other (jt_check_grads), at several shapes, plus gradients
 * with closed forms and the zero gradient of integer operands. */
#include "gradcheck.h"
#include "op_bodies.h"

/* Op parameters for the bodies (op_bodies.h); starts are literal i32 indices. */
typedef jt_move P;

static void starts_of(const P *p, jx_val *s) {
    for (int i = 0; i < p->b.n; i++) s[i] = jx_scalar(JX_I32, (double)p->b.v[i]);
}

static void b_dslice(jx_val *o, const jx_val *in, void *u) {
    const P *p = u;
    jx_val s[JX_MAX_RANK];
    starts_of(p, s);
    o[0] = jx_sin(jx_dynamic_slice(in[0], s, p->a));
}

static void b_dus(jx_val *o, const jx_val *in, void *u) {
    const P *p = u;
    jx_val s[JX_MAX_RANK];
    starts_of(p, s);
    o[0] = jx_sin(jx_dynamic_update_slice(in[0], in[1], s));
}

/* Checks one body with inputs of the given shapes (f64) in [-2, 2). */
static int check(const char *name, jx_body body, P p, int nin, const jx_ints *shapes) {
    jx_aval av[8];
    for (int i = 0; i < nin; i++) av[i] = jx_aval_make(JX_F64, shapes[i]);
    return jt_check_grads(name, body, &p, nin, av, -2, 2, 1e-6);
}
#define CHECK1(name, body, p, s) CU_ASSERT(check(name, body, p, 1, (jx_ints[]){s}))

static void test_broadcast_in_dim(void) {
    CHECK1("bcast row", jt_b_bcast, ((P){.a = JX_INTS(2, 3), .b = JX_INTS(1)}), JX_INTS(3));
    CHECK1("bcast size-1 dims", jt_b_bcast, ((P){.a = JX_INTS(2, 3, 4), .b = JX_INTS(1, 2)}), JX_INTS(3, 1));
    CHECK1("bcast all size-1", jt_b_bcast, ((P){.a = JX_INTS(2, 5), .b = JX_INTS(0, 1)}), JX_INTS(1, 1));
    CHECK1("bcast keep size-1", jt_b_bcast, ((P){.a = JX_INTS(1, 4, 3), .b = JX_INTS(0, 2)}), JX_INTS(1, 3));
    CHECK1("bcast scalar", jt_b_bcast, ((P){.a = JX_INTS(2, 3), .b = JX_NOINTS}), JX_NOINTS);
    CHECK1("bcast size 0", jt_b_bcast, ((P){.a = JX_INTS(0, 3), .b = JX_INTS(1)}), JX_INTS(3));
    CHECK1("broadcast_to", jt_b_bcast_to, ((P){.a = JX_INTS(4, 2, 3)}), JX_INTS(2, 1));
}

static void test_reshape_transpose(void) {
    CHECK1("reshape", jt_b_reshape, ((P){.a = JX_INTS(6, 4)}), JX_INTS(2, 3, 4));
    CHECK1("reshape -1", jt_b_reshape, ((P){.a = JX_INTS(2, -1)}), JX_INTS(6));
    CHECK1("reshape rank 0", jt_b_reshape, ((P){.a = JX_INTS(1, 1)}), JX_NOINTS);
    CHECK1("transpose", jt_b_transpose, ((P){.a = JX_INTS(2, 0, 1)}), JX_INTS(2, 3, 4));
    CHECK1("transpose negative", jt_b_transpose, ((P){.a = JX_INTS(-1, 0)}), JX_INTS(3, 5));
    CHECK1("squeeze", jt_b_squeeze, ((P){.a = JX_INTS(1, -1)}), JX_INTS(2, 1, 3, 1));
    CHECK1("squeeze to rank 0", jt_b_squeeze, ((P){.a = JX_INTS(0)}), JX_INTS(1));
    CHECK1("expand_dims", jt_b_expand, ((P){.a = JX_INTS(0, 3)}), JX_INTS(2, 3));
    CHECK1("expand_dims rank 0", jt_b_expand, ((P){.a = JX_INTS(-1)}), JX_NOINTS);
    CHECK1("rev", jt_b_rev, ((P){.a = JX_INTS(0, 1)}), JX_INTS(3, 4));
    CHECK1("rev one axis", jt_b_rev, ((P){.a = JX_INTS(-1)}), JX_INTS(2, 3, 4));
}

static void test_slice(void) {
    CHECK1("slice", jt_b_slice, ((P){.a = JX_INTS(1), .b = JX_INTS(4), .c = JX_NOINTS}), JX_INTS(6));
    CHECK1("slice strided", jt_b_slice, ((P){.a = JX_INTS(1, 0), .b = JX_INTS(7, 5), .c = JX_INTS(2, 3)}), JX_INTS(7, 6));
    CHECK1("slice stride past end", jt_b_slice, ((P){.a = JX_INTS(0, 2), .b = JX_INTS(5, 3), .c = JX_INTS(4, 1)}),
           JX_INTS(6, 3));
    CHECK1("slice empty", jt_b_slice, ((P){.a = JX_INTS(2, 0), .b = JX_INTS(2, 3), .c = JX_NOINTS}), JX_INTS(4, 3));
    CHECK1("slice rank 3", jt_b_slice, ((P){.a = JX_INTS(0, 1, 1), .b = JX_INTS(2, 3, 5), .c = JX_INTS(1, 2, 3)}),
           JX_INTS(2, 3, 5));
}

static void test_dynamic_slice(void) {
    CHECK1("dynamic_slice", b_dslice, ((P){.a = JX_INTS(3, 2), .b = JX_INTS(1, 2)}), JX_INTS(5, 6));
    CHECK1("dynamic_slice clamped", b_dslice, ((P){.a = JX_INTS(3, 2), .b = JX_INTS(4, -3)}), JX_INTS(5, 6));
    CHECK1("dynamic_slice rank 1", b_dslice, ((P){.a = JX_INTS(1), .b = JX_INTS(3)}), JX_INTS(4));
    CU_ASSERT(check("dus", b_dus, (P){.b = JX_INTS(1, 2)}, 2, (jx_ints[]){JX_INTS(5, 6), JX_INTS(2, 3)}));
    CU_ASSERT(check("dus clamped", b_dus, (P){.b = JX_INTS(9, 1)}, 2, (jx_ints[]){JX_INTS(5, 6), JX_INTS(2, 3)}));
    CU_ASSERT(check("dus full", b_dus, (P){.b = JX_INTS(0)}, 2, (jx_ints[]){JX_INTS(3), JX_INTS(3)}));
}

static void test_pad(void) {
    jx_ints s2[2] = {JX_INTS(3, 4), JX_NOINTS};
    CU_ASSERT(check("pad", jt_b_pad, (P){.a = JX_INTS(1, 2), .b = JX_INTS(0, 1), .c = JX_INTS(0, 0)}, 2, s2));
    CU_ASSERT(check("pad negative", jt_b_pad, (P){.a = JX_INTS(-1, 2), .b = JX_INTS(1, -2), .c = JX_INTS(0, 0)}, 2, s2));
    CU_ASSERT(check("pad interior", jt_b_pad, (P){.a = JX_INTS(1, 0), .b = JX_INTS(0, 2), .c = JX_INTS(2, 1)}, 2, s2));
    CU_ASSERT(check("pad interior negative", jt_b_pad,
                    (P){.a = JX_INTS(-2, -1), .b = JX_INTS(-1, 1), .c = JX_INTS(1, 2)}, 2, s2));
    CU_ASSERT(check("pad crops into interior", jt_b_pad, (P){.a = JX_INTS(-3), .b = JX_INTS(-2), .c = JX_INTS(3)}, 2,
                    (jx_ints[]){JX_INTS(4), JX_NOINTS}));
    CHECK1("pad literal value", jt_b_pad_lit, ((P){.a = JX_INTS(1, -1), .b = JX_INTS(2, 0), .c = JX_INTS(1, 0)}),
           JX_INTS(3, 4));
    CU_ASSERT(check("pad empty", jt_b_pad, (P){.a = JX_INTS(1), .b = JX_INTS(2), .c = JX_INTS(1)}, 2,
                    (jx_ints[]){JX_INTS(0), JX_NOINTS}));
}

static void test_concatenate(void) {
    jx_ints s[3] = {JX_INTS(2, 1), JX_INTS(2, 3), JX_INTS(2, 2)};
    CU_ASSERT(check("concat 3", jt_b_concat, (P){.n = 3, .axis = 1}, 3, s));
    CU_ASSERT(check("concat axis -1", jt_b_concat, (P){.n = 3, .axis = -1}, 3, s));
    jx_ints t[3] = {JX_INTS(1, 3), JX_INTS(0, 3), JX_INTS(4, 3)};
    CU_ASSERT(check("concat axis 0 with empty", jt_b_concat, (P){.n = 3, .axis = 0}, 3, t));
    CU_ASSERT(check("concat 2", jt_b_concat, (P){.n = 2, .axis = 0}, 2, (jx_ints[]){JX_INTS(3), JX_INTS(2)}));
}

/* ------------------------------------------------------------------ closed forms */

/* Evaluates grad(f) with respect to inputs argnums on in[] and checks each gradient. */
static void expect_grad(jx_body body, void *u, int nin, const jx_aval *av, jx_array **in, jx_ints argnums,
                        const double *const *want) {
    jx_fn *f = jx_trace("f", body, u, nin, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, argnums);
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *out[8] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, nin, in, argnums.n, out), JX_OK);
    for (int i = 0; i < argnums.n; i++) {
        JT_ASSERT_ARRAY(out[i], want[i], jx_array_size(in[argnums.v[i]]), 1e-15);
        jx_array_release(out[i]);
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

static void sum_of_pad(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_reduce_sum(jx_pad(in[0], in[1], JX_INTS(-1), JX_INTS(2), JX_INTS(1)), JX_NOINTS);
}

/* pad x=[x0,x1,x2] with lo -1, hi 2, interior 1: [p, x1, p, x2, p, p]. */
static void test_pad_grad_values(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3), JX_SCALAR(JX_F64)};
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(3), (double[]){1, 2, 3}), jx_array_scalar(JX_F64, 7)};
    expect_grad(sum_of_pad, NULL, 2, av, in, JX_INTS(0, 1), (const double *[]){(double[]){0, 1, 1}, (double[]){4}});
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

/* sum(w * broadcast(x)): each x element collects the weights it was copied to. */
static void weighted_bcast(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val b = jx_broadcast_in_dim(in[0], JX_INTS(2, 3, 2), JX_INTS(1, 2));
    o[0] = jx_reduce_sum(jx_mul(b, in[1]), JX_NOINTS);
}

static void test_broadcast_grad_values(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3, 1), JX_AVAL(JX_F64, 2, 3, 2)};
    double w[12];
    for (int i = 0; i < 12; i++) w[i] = i;
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(3, 1), (double[]){1, 2, 3}), jt_array(JX_F64, JX_INTS(2, 3, 2), w)};
    /* x[i] meets w[0,i,:] and w[1,i,:]: (2i)+(2i+1)+(6+2i)+(7+2i) */
    expect_grad(weighted_bcast, NULL, 2, av, in, JX_INTS(0), (const double *[]){(double[]){14, 22, 30}});
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

/* sum(x[1:5:2] * [10, 20]) + dynamic_slice(x, 4)[0] * 100 */
static void slices_sum(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val s = jx_slice(in[0], JX_INTS(1), JX_INTS(5), JX_INTS(2));
    jx_val a = jx_reduce_sum(jx_mul(s, jx_const((jx_array *)u)), JX_NOINTS);
    jx_val st = jx_scalar(JX_I32, 4);
    jx_val d = jx_reduce_sum(jx_dynamic_slice(in[0], &st, JX_INTS(1)), JX_NOINTS);
    o[0] = jx_add(a, jx_mul(d, jx_scalar(JX_F64, 100)));
}

static void test_slice_grad_values(void) {
    jx_aval av = JX_AVAL(JX_F64, 6);
    jx_array *w = jt_array(JX_F64, JX_INTS(2), (double[]){10, 20});
    jx_array *x = jt_array(JX_F64, JX_INTS(6), (double[]){1, 2, 3, 4, 5, 6});
    expect_grad(slices_sum, w, 1, &av, &x, JX_INTS(0), (const double *[]){(double[]){0, 10, 0, 20, 100, 0}});
    jx_array_release(w);
    jx_array_release(x);
}

/* concatenate(x, convert(k)): the integer operand gets an exactly zero cotangent. */
static void concat_int(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val parts[2] = {in[0], jx_convert(in[1], JX_F64)};
    o[0] = jx_reduce_sum(jx_mul(jx_concatenate(2, parts, 0), jx_concatenate(2, parts, 0)), JX_NOINTS);
}

static void test_integer_operand_zero(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_I32, 3)};
    jx_fn *f = jx_trace("ci", concat_int, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *v = jx_vjp(f);
    if (!v) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    jx_array *in[3] = {jt_array(JX_F64, JX_INTS(2), (double[]){1.5, -2}), jt_array(JX_I32, JX_INTS(3), (double[]){1, 2, 3}),
                       jx_array_scalar(JX_F64, 1)};
    jx_array *out[3] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(v, 3, in, 3, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], (double[]){1.5 * 1.5 + 4 + 1 + 4 + 9}, 1, 1e-15);
    JT_ASSERT_ARRAY(out[1], ((double[]){3, -4}), 2, 1e-15);
    CU_ASSERT_EQUAL(jx_array_dtype(out[2]), JX_I32);
    JT_ASSERT_ARRAY(out[2], ((double[]){0, 0, 0}), 3, 0);
    for (int i = 0; i < 3; i++) jx_array_release(out[i]), jx_array_release(in[i]);
    jx_fn_release(v);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"broadcast_in_dim and broadcast_to", test_broadcast_in_dim},
        {"reshape, transpose, squeeze, expand_dims, rev", test_reshape_transpose},
        {"slice with strides and empty slices", test_slice},
        {"dynamic_slice and dynamic_update_slice", test_dynamic_slice},
        {"pad with negative and interior padding", test_pad},
        {"concatenate", test_concatenate},
        {"grad of pad: operand and padding value", test_pad_grad_values},
        {"grad of broadcast_in_dim", test_broadcast_grad_values},
        {"grad of strided and dynamic slices", test_slice_grad_values},
        {"integer operands get zero cotangents", test_integer_operand_zero},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad movement", tests);
}
