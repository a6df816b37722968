/* test_grad_reduce.c: jvp and vjp of the reductions, cumulative ops and dot_general
 * against finite differences and each other (jt_check_grads), ties of reduce_max, zeros
 * in reduce_prod, an MLP loss and the composites built on these primitives. */
#include "gradcheck.h"

typedef struct P {
    jx_ints a, b, c, d;
    int axis, reverse;
    jx_array *w; /* a constant some bodies use */
} P;

#define BODY(name, expr)                                     \
    static void name(jx_val *o, const jx_val *in, void *u) { \
        const P *p = u;                                      \
        (void)p;                                             \
        o[0] = jx_sin(expr);                                 \
    }
BODY(b_sum, jx_reduce_sum(in[0], p->a))
BODY(b_max, jx_reduce_max(in[0], p->a))
BODY(b_min, jx_reduce_min(in[0], p->a))
BODY(b_prod, jx_reduce_prod(in[0], p->a))
BODY(b_cumsum, jx_cumsum(in[0], p->axis, p->reverse))
BODY(b_cumprod, jx_cumprod(in[0], p->axis, p->reverse))
BODY(b_cummax, jx_cummax(in[0], p->axis, p->reverse))
BODY(b_cummin, jx_cummin(in[0], p->axis, p->reverse))
BODY(b_dot, jx_dot_general(in[0], in[1], p->a, p->b, p->c, p->d))
BODY(b_matmul, jx_matmul(in[0], in[1]))
BODY(b_mean, jx_mean(in[0], p->a))
BODY(b_logsumexp, jx_logsumexp(in[0], p->axis))
BODY(b_softmax, jx_softmax(in[0], p->axis))
/* argmax has no tangent, but a function using it must still differentiate */
BODY(b_argmax, jx_add(jx_reduce_sum(in[0], JX_NOINTS), jx_convert(jx_argmax(in[0], p->axis, JX_I32), JX_F64)))

static int check_in(const char *name, jx_body body, P p, int nin, const jx_ints *shapes, double lo, double hi) {
    jx_aval av[8];
    for (int i = 0; i < nin; i++) av[i] = jx_aval_make(JX_F64, shapes[i]);
    return jt_check_grads(name, body, &p, nin, av, lo, hi, 1e-6);
}
#define CHECK1(name, body, p, s) CU_ASSERT(check_in(name, body, p, 1, (jx_ints[]){s}, -2, 2))
#define CHECK2(name, body, p, s, t) CU_ASSERT(check_in(name, body, p, 2, (jx_ints[]){s, t}, -2, 2))

static void test_reduce_sum(void) {
    CHECK1("sum axis 1", b_sum, ((P){.a = JX_INTS(1)}), JX_INTS(3, 4));
    CHECK1("sum axes 0,2", b_sum, ((P){.a = JX_INTS(0, -1)}), JX_INTS(2, 3, 4));
    CHECK1("sum all", b_sum, ((P){.a = JX_NOINTS}), JX_INTS(2, 3));
    CHECK1("sum rank 0", b_sum, ((P){.a = JX_NOINTS}), JX_NOINTS);
    CHECK1("sum of empty", b_sum, ((P){.a = JX_INTS(0)}), JX_INTS(0, 3));
}

static void test_reduce_max_min(void) {
    CHECK1("max axis 1", b_max, ((P){.a = JX_INTS(1)}), JX_INTS(3, 4));
    CHECK1("max all", b_max, ((P){.a = JX_NOINTS}), JX_INTS(2, 3, 2));
    CHECK1("max axes 0,2", b_max, ((P){.a = JX_INTS(0, 2)}), JX_INTS(2, 3, 4));
    CHECK1("min axis 0", b_min, ((P){.a = JX_INTS(0)}), JX_INTS(5, 2));
    CHECK1("min all", b_min, ((P){.a = JX_NOINTS}), JX_INTS(7));
}

static void test_reduce_prod(void) {
    jx_ints s = JX_INTS(3, 4);
    CU_ASSERT(check_in("prod axis 0", b_prod, (P){.a = JX_INTS(0)}, 1, &s, 0.5, 1.5));
    CU_ASSERT(check_in("prod all", b_prod, (P){.a = JX_NOINTS}, 1, &s, -1.5, 1.5));
    jx_ints t = JX_INTS(2, 3, 2);
    CU_ASSERT(check_in("prod axes 1,2", b_prod, (P){.a = JX_INTS(1, 2)}, 1, &t, -1.5, 1.5));
    CU_ASSERT(check_in("prod axes 0,2", b_prod, (P){.a = JX_INTS(0, 2)}, 1, &t, -1.5, 1.5));
    jx_ints r0 = JX_NOINTS;
    CU_ASSERT(check_in("prod rank 0", b_prod, (P){.a = JX_NOINTS}, 1, &r0, -1.5, 1.5));
}

static void test_cumulative(void) {
    jx_ints s = JX_INTS(3, 5);
    for (int rev = 0; rev < 2; rev++)
        for (int ax = -1; ax < 2; ax++) {
            P p = {.axis = ax, .reverse = rev};
            CU_ASSERT(check_in("cumsum", b_cumsum, p, 1, &s, -2, 2));
            CU_ASSERT(check_in("cumprod", b_cumprod, p, 1, &s, 0.5, 1.5));
            CU_ASSERT(check_in("cummax", b_cummax, p, 1, &s, -2, 2));
            CU_ASSERT(check_in("cummin", b_cummin, p, 1, &s, -2, 2));
        }
    jx_ints t = JX_INTS(2, 6, 3);
    CU_ASSERT(check_in("cummax middle axis", b_cummax, (P){.axis = 1}, 1, &t, -2, 2));
    CU_ASSERT(check_in("cumprod negative", b_cumprod, (P){.axis = 1, .reverse = 1}, 1, &t, -1.5, -0.5));
}

static void test_argmax(void) { CHECK1("argmax", b_argmax, ((P){.axis = 1}), JX_INTS(3, 4)); }

static void test_dot_general(void) {
    CHECK2("matrix product", b_dot, ((P){.a = JX_INTS(1), .b = JX_INTS(0), .c = JX_NOINTS, .d = JX_NOINTS}),
           JX_INTS(3, 4), JX_INTS(4, 5));
    CHECK2("lhs contracts dim 0", b_dot, ((P){.a = JX_INTS(0), .b = JX_INTS(1), .c = JX_NOINTS, .d = JX_NOINTS}),
           JX_INTS(4, 3), JX_INTS(5, 4));
    /* batch dims and two contracting dims, nowhere in particular */
    P multi = {.a = JX_INTS(2, 3), .b = JX_INTS(0, 2), .c = JX_INTS(0), .d = JX_INTS(1)};
    CHECK2("batch and 2 contracting", b_dot, multi, JX_INTS(2, 3, 4, 5), JX_INTS(4, 2, 5, 6));
    P swapped = {.a = JX_INTS(3, 2), .b = JX_INTS(2, 0), .c = JX_INTS(0), .d = JX_INTS(1)};
    CHECK2("contracting order swapped", b_dot, swapped, JX_INTS(2, 3, 4, 5), JX_INTS(4, 2, 5, 6));
    P batch2 = {.a = JX_INTS(2), .b = JX_INTS(0), .c = JX_INTS(0, 1), .d = JX_INTS(2, 1)};
    CHECK2("two batch dims crossed", b_dot, batch2, JX_INTS(2, 3, 4), JX_INTS(4, 3, 2, 5));
    P mid = {.a = JX_INTS(2), .b = JX_INTS(0), .c = JX_INTS(0), .d = JX_INTS(1)};
    CHECK2("batch in the middle", b_dot, mid, JX_INTS(3, 2, 4), JX_INTS(4, 3, 5));
    CHECK2("inner product", b_dot, ((P){.a = JX_INTS(0), .b = JX_INTS(0), .c = JX_NOINTS, .d = JX_NOINTS}), JX_INTS(4),
           JX_INTS(4));
    CHECK2("outer product", b_dot, ((P){.a = JX_NOINTS, .b = JX_NOINTS, .c = JX_NOINTS, .d = JX_NOINTS}), JX_INTS(3),
           JX_INTS(2));
    CHECK2("empty contraction", b_dot, ((P){.a = JX_INTS(1), .b = JX_INTS(0), .c = JX_NOINTS, .d = JX_NOINTS}),
           JX_INTS(2, 0), JX_INTS(0, 3));
}

/* ------------------------------------------------------------------ closed forms */

/* grad of f (one input) at x, compared with want. */
static void expect_grad(jx_body body, void *u, jx_array *x, const double *want, double tol) {
    jx_aval av = jx_array_aval(x);
    jx_fn *f = jx_trace("f", body, u, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_NOINTS);
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *gx = NULL;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 1, &x, 1, &gx), JX_OK);
    JT_ASSERT_ARRAY(gx, want, jx_array_size(x), tol);
    jx_array_release(gx);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* sum of reduce_max (axis 0), reduce_min (1) or reduce_prod (2) over p->a. */
static void sum_of(jx_val *o, const jx_val *in, void *u) {
    const P *p = u;
    jx_val r = p->axis == 0 ? jx_reduce_max(in[0], p->a) : p->axis == 1 ? jx_reduce_min(in[0], p->a)
                                                                         : jx_reduce_prod(in[0], p->a);
    o[0] = jx_reduce_sum(r, JX_NOINTS);
}

static void test_max_ties(void) {
    jx_array *x = jt_array(JX_F64, JX_INTS(2, 4), (double[]){1, 3, 3, 2, 5, 5, 5, -1});
    expect_grad(sum_of, &(P){.axis = 0, .a = JX_INTS(1)}, x, (double[]){0, .5, .5, 0, 1. / 3, 1. / 3, 1. / 3, 0}, 1e-15);
    /* over both axes the three 5s share it */
    expect_grad(sum_of, &(P){.axis = 0, .a = JX_NOINTS}, x, (double[]){0, 0, 0, 0, 1. / 3, 1. / 3, 1. / 3, 0}, 1e-15);
    expect_grad(sum_of, &(P){.axis = 1, .a = JX_INTS(0)}, x, (double[]){1, 1, 1, 0, 0, 0, 0, 1}, 0);
    jx_array_release(x);
}

static void test_prod_zeros(void) {
    jx_array *x = jt_array(JX_F64, JX_INTS(2, 3), (double[]){2, 0, 3, 0, 0, 4});
    /* d/dx_i prod = product of the others: exact with one zero, zero with two */
    expect_grad(sum_of, &(P){.axis = 2, .a = JX_INTS(1)}, x, (double[]){0, 6, 0, 0, 0, 0}, 0);
    jx_array_release(x);
    x = jt_array(JX_F64, JX_INTS(4), (double[]){2, -1, 3, 0.5});
    expect_grad(sum_of, &(P){.axis = 2, .a = JX_NOINTS}, x, (double[]){-1.5, 3, -1, -6}, 1e-15);
    jx_array_release(x);
}

static void cum_ext(jx_val *o, const jx_val *in, void *u) {
    const P *p = u;
    jx_val c = p->axis ? jx_cummin(in[0], 0, p->reverse) : jx_cummax(in[0], 0, p->reverse);
    o[0] = jx_reduce_sum(jx_mul(c, jx_const(p->w)), JX_NOINTS);
}

/* cummax of [1, 3, 2, 5, 4] is [1, 3, 3, 5, 5]: weights w flow to 1, 3 (twice), 5. */
static void test_cummax_values(void) {
    jx_array *w = jt_array(JX_F64, JX_INTS(5), (double[]){1, 10, 100, 1000, 10000});
    jx_array *x = jt_array(JX_F64, JX_INTS(5), (double[]){1, 3, 2, 5, 4});
    P p = {.w = w};
    expect_grad(cum_ext, &p, x, (double[]){1, 110, 0, 11000, 0}, 0);
    p.reverse = 1; /* [5, 5, 5, 5, 4] */
    expect_grad(cum_ext, &p, x, (double[]){0, 0, 0, 1111, 10000}, 0);
    p.axis = 1, p.reverse = 0; /* cummin: [1, 1, 1, 1, 1] */
    expect_grad(cum_ext, &p, x, (double[]){11111, 0, 0, 0, 0}, 0);
    jx_array_release(x);
    jx_array_release(w);
}

/* d/dA sum(A @ B) = ones @ B^T: row sums of B in every row. */
static void sum_matmul(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_reduce_sum(jx_matmul(in[0], jx_const((jx_array *)u)), JX_NOINTS);
}

static void test_matmul_grad_values(void) {
    jx_array *b = jt_array(JX_F64, JX_INTS(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    jx_array *a = jt_array(JX_F64, JX_INTS(2, 3), (double[]){0, 0, 0, 0, 0, 0});
    expect_grad(sum_matmul, b, a, (double[]){3, 7, 11, 3, 7, 11}, 0);
    jx_array_release(a);
    jx_array_release(b);
}

static void test_composites(void) {
    CHECK2("matmul 2d", b_matmul, (P){0}, JX_INTS(3, 4), JX_INTS(4, 2));
    CHECK2("matmul vector", b_matmul, (P){0}, JX_INTS(4), JX_INTS(2, 4, 3));
    CHECK2("matmul batch broadcast", b_matmul, (P){0}, JX_INTS(2, 1, 3, 4), JX_INTS(3, 4, 2));
    CHECK1("mean all", b_mean, ((P){.a = JX_NOINTS}), JX_INTS(3, 4));
    CHECK1("mean axis", b_mean, ((P){.a = JX_INTS(-1)}), JX_INTS(3, 4));
    CHECK1("logsumexp", b_logsumexp, ((P){.axis = 1}), JX_INTS(3, 4));
    CHECK1("logsumexp axis 0", b_logsumexp, ((P){.axis = 0}), JX_INTS(5));
    CHECK1("softmax", b_softmax, ((P){.axis = -1}), JX_INTS(3, 4));
    CHECK1("softmax axis 0", b_softmax, ((P){.axis = 0}), JX_INTS(3, 2));
}

/* loss = -mean(sum(log_softmax(tanh(x @ w1 + b1) @ w2 + b2) * labels, -1)) */
static void mlp_loss(jx_val *o, const jx_val *in, void *u) {
    jx_val h = jx_tanh(jx_add(jx_matmul(in[0], in[1]), in[2]));
    jx_val logits = jx_add(jx_matmul(h, in[3]), in[4]);
    jx_val ll = jx_reduce_sum(jx_mul(jx_log_softmax(logits, -1), jx_const((jx_array *)u)), JX_INTS(-1));
    o[0] = jx_neg(jx_mean(ll, JX_NOINTS));
}

static void test_mlp(void) {
    double lab[8 * 3] = {0};
    for (int i = 0; i < 8; i++) lab[i * 3 + i % 3] = 1;
    jx_array *labels = jt_array(JX_F64, JX_INTS(8, 3), lab);
    jx_aval av[5] = {JX_AVAL(JX_F64, 8, 5), JX_AVAL(JX_F64, 5, 6), JX_AVAL(JX_F64, 6), JX_AVAL(JX_F64, 6, 3),
                     JX_AVAL(JX_F64, 3)};
    CU_ASSERT(jt_check_grads("mlp", mlp_loss, labels, 5, av, -1, 1, 1e-6));
    jx_fn *f = jx_trace("mlp", mlp_loss, labels, 5, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(1, 2, 3, 4));
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(g);
    if (g) {
        CU_ASSERT_EQUAL(jx_fn_num_outputs(g), 4);
        for (int i = 0; i < 4; i++) {
            jx_aval o = jx_fn_output_aval(g, i);
            CU_ASSERT(jx_aval_equal(&o, &av[i + 1]));
        }
    }
    jx_fn_release(g);
    jx_fn_release(f);
    jx_array_release(labels);
}

/* f(x, w) = sum(logsumexp(x @ w, 1)) + sum(max(x, 0)) * prod(slice(x)) + sum(cummax(x, 1)) */
static void second_f(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val a = jx_reduce_sum(jx_logsumexp(jx_matmul(in[0], in[1]), 1), JX_NOINTS);
    jx_val m = jx_reduce_sum(jx_reduce_max(in[0], JX_INTS(0)), JX_NOINTS);
    jx_val p = jx_reduce_prod(jx_slice(in[0], JX_INTS(0, 1), JX_INTS(2, 3), JX_NOINTS), JX_NOINTS);
    jx_val c = jx_reduce_sum(jx_cummax(in[0], 1, 0), JX_NOINTS);
    o[0] = jx_add(jx_add(a, jx_mul(m, p)), c);
}

/* The gradient's own derivatives: every rule's tangent and cotangent code differentiated
 * again (a Hessian-vector product checked against finite differences of the gradient). */
static void grad_body(jx_val *o, const jx_val *in, void *u) { jx_call((const jx_fn *)u, 2, in, 1, o); }

static void test_second_order(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3, 4), JX_AVAL(JX_F64, 4, 2)};
    jx_fn *f = jx_trace("second", second_f, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_NOINTS);
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(jt_check_grads("hessian", grad_body, g, 2, av, 0.5, 2, 1e-6));
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"reduce_sum", test_reduce_sum},
        {"reduce_max and reduce_min", test_reduce_max_min},
        {"reduce_prod", test_reduce_prod},
        {"cumsum, cumprod, cummax, cummin", test_cumulative},
        {"argmax carries no tangent", test_argmax},
        {"dot_general with batch and contracting dims", test_dot_general},
        {"reduce_max ties share the gradient", test_max_ties},
        {"reduce_prod gradient at zeros", test_prod_zeros},
        {"cummax and cummin pick the running extreme", test_cummax_values},
        {"grad of matmul", test_matmul_grad_values},
        {"matmul, mean, logsumexp, softmax composites", test_composites},
        {"MLP loss", test_mlp},
        {"second derivatives", test_second_order},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad reduce", tests);
}
