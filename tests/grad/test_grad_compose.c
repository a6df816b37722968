/* test_grad_compose.c: transformations composed: higher-order grads, grad through a call of
 * a grad, vjp with several outputs, argnums subsets, forward-over-reverse. */
#include "gradcheck.h"

#include <stdlib.h>

/* Evaluates f and checks the status; out receives nout new arrays. */
static void eval_ok(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out) {
    jx_status st = jt_eval(f, nin, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
}

static void release_arrays(jx_array **a, int n) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

/* p(x) = x^5 - 3x^3 + 2x, so p''' = 60x^2 - 18. */
static void f_poly(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    jx_val p = jx_sub(jx_integer_pow(x, 5), jx_mul(jx_scalar(JX_F64, 3), jx_integer_pow(x, 3)));
    out[0] = jx_add(p, jx_mul(jx_scalar(JX_F64, 2), x));
}

static void test_third_derivative_poly(void) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *f = jx_trace("poly", f_poly, NULL, 1, &a, 1);
    jx_fn *g1 = jx_grad(f, JX_NOINTS), *g2 = jx_grad(g1, JX_NOINTS), *g3 = jx_grad(g2, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g3);
    jx_fn *gs[3] = {g1, g2, g3};
    for (double xv = -2; xv <= 2; xv += 0.75) {
        double want[3] = {5 * pow(xv, 4) - 9 * xv * xv + 2, 20 * pow(xv, 3) - 18 * xv, 60 * xv * xv - 18};
        jx_array *x = jx_array_scalar(JX_F64, xv), *y = NULL;
        for (int k = 0; k < 3; k++) {
            eval_ok(gs[k], 1, &x, 1, &y);
            JT_ASSERT_ARRAY(y, &want[k], 1, 1e-13);
            jx_array_release(y);
        }
        jx_array_release(x);
    }
    jx_fn_release(g3);
    jx_fn_release(g2);
    jx_fn_release(g1);
    jx_fn_release(f);
}

/* h(x) = sum(grad_f(x) * x) with f = sum(x^3) called through jx_call: h = sum(3x^3), so
 * grad h = 9x^2. */
static void f_cube(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_integer_pow(in[0], 3), JX_NOINTS);
}

static void f_calls_grad(jx_val *out, const jx_val *in, void *u) {
    const jx_fn *grad_f = u;
    jx_val g;
    jx_call(grad_f, 1, in, 1, &g);
    out[0] = jx_reduce_sum(jx_mul(g, in[0]), JX_NOINTS);
}

static void test_grad_of_call_of_grad(void) {
    jx_aval a = JX_AVAL(JX_F64, 4);
    jx_fn *f = jx_trace("cube", f_cube, NULL, 1, &a, 1);
    jx_fn *gf = jx_grad(f, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gf);
    jx_fn *h = jx_trace("calls_grad", f_calls_grad, gf, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    jx_fn *gh = jx_grad(h, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gh);
    double xv[4] = {1, -2, 0.5, 3}, hv = 0, want[4];
    for (int i = 0; i < 4; i++) want[i] = 9 * xv[i] * xv[i], hv += 3 * pow(xv[i], 3);
    jx_array *x = jx_array_new(JX_F64, JX_INTS(4), xv), *y = NULL;
    eval_ok(h, 1, &x, 1, &y);
    JT_ASSERT_ARRAY(y, &hv, 1, 1e-14);
    jx_array_release(y);
    eval_ok(gh, 1, &x, 1, &y);
    JT_ASSERT_ARRAY(y, want, 4, 1e-14);
    CU_ASSERT(jt_check_grads("calls_grad", f_calls_grad, gf, 1, &a, -2, 2, 1e-6));
    jx_array_release(y);
    jx_array_release(x);
    jx_fn_release(gh);
    jx_fn_release(h);
    jx_fn_release(gf);
    jx_fn_release(f);
}

/* Outputs: sin(x) * y, sum(x * y), and an integer floor(x). */
static void f_three(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), in[1]);
    out[1] = jx_reduce_sum(jx_mul(in[0], in[1]), JX_NOINTS);
    out[2] = jx_convert(jx_floor(in[0]), JX_I32);
}

static void test_vjp_several_outputs(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = jx_trace("three", f_three, NULL, 2, a, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double xv[3] = {0.5, -1.25, 2}, yv[3] = {3, 0.5, -2}, y0b[3] = {1, -1, 0.25}, y1b = 2;
    jx_array *x[2] = {jx_array_new(JX_F64, JX_INTS(3), xv), jx_array_new(JX_F64, JX_INTS(3), yv)};
    double err = jt_vjp_error(f, x, 17);
    CU_ASSERT(err <= 1e-12);
    jx_fn *v = jx_vjp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(v), 5);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(v), 5);
    int32_t ib[3] = {5, -7, 9}; /* an integer cotangent is ignored */
    jx_array *in[5] = {x[0], x[1], jx_array_new(JX_F64, JX_INTS(3), y0b), jx_array_scalar(JX_F64, y1b),
                       jx_array_new(JX_I32, JX_INTS(3), ib)};
    jx_array *out[5] = {0};
    eval_ok(v, 5, in, 5, out);
    double w0[3], w1 = 0, w2[3], xb[3], yb[3];
    for (int i = 0; i < 3; i++) {
        w0[i] = sin(xv[i]) * yv[i];
        w1 += xv[i] * yv[i];
        w2[i] = floor(xv[i]);
        xb[i] = cos(xv[i]) * yv[i] * y0b[i] + yv[i] * y1b;
        yb[i] = sin(xv[i]) * y0b[i] + xv[i] * y1b;
    }
    JT_ASSERT_ARRAY(out[0], w0, 3, 1e-15);
    JT_ASSERT_ARRAY(out[1], &w1, 1, 1e-15);
    CU_ASSERT_EQUAL(jx_array_dtype(out[2]), JX_I32);
    JT_ASSERT_ARRAY(out[2], w2, 3, 0);
    JT_ASSERT_ARRAY(out[3], xb, 3, 1e-15);
    JT_ASSERT_ARRAY(out[4], yb, 3, 1e-15);
    release_arrays(out, 5);
    release_arrays(in, 5);
    jx_fn_release(v);
    jx_fn_release(f);
}

/* f(a, b, c) = sum(a * b^2 * exp(c)) */
static void f_abc(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_mul(in[0], jx_mul(in[1], in[1])), jx_exp(in[2])), JX_NOINTS);
}

typedef struct abc_case {
    jx_array *in[3];
    double a[2], b[2], c[2];
} abc_case;

static void abc_setup(abc_case *k) {
    double a[2] = {1.5, -2}, b[2] = {0.5, 3}, c[2] = {0.25, -1};
    for (int i = 0; i < 2; i++) k->a[i] = a[i], k->b[i] = b[i], k->c[i] = c[i];
    k->in[0] = jx_array_new(JX_F64, JX_INTS(2), a);
    k->in[1] = jx_array_new(JX_F64, JX_INTS(2), b);
    k->in[2] = jx_array_new(JX_F64, JX_INTS(2), c);
}

/* The gradient of f_abc by input `which`, by hand. */
static void abc_grad(const abc_case *k, int which, double *g) {
    for (int i = 0; i < 2; i++) {
        double e = exp(k->c[i]), b2 = k->b[i] * k->b[i];
        g[i] = which == 0 ? b2 * e : which == 1 ? 2 * k->a[i] * k->b[i] * e : k->a[i] * b2 * e;
    }
}

static void test_value_and_grad_subset(void) {
    jx_aval av[3] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 2)};
    jx_fn *f = jx_trace("abc", f_abc, NULL, 3, av, 1);
    jx_fn *vg = jx_value_and_grad(f, JX_INTS(2, 0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(vg);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(vg), 3);
    abc_case k;
    abc_setup(&k);
    jx_array *out[3] = {0};
    eval_ok(vg, 3, k.in, 3, out);
    double val = 0, gc[2], ga[2];
    for (int i = 0; i < 2; i++) val += k.a[i] * k.b[i] * k.b[i] * exp(k.c[i]);
    abc_grad(&k, 2, gc);
    abc_grad(&k, 0, ga);
    JT_ASSERT_ARRAY(out[0], &val, 1, 1e-15);
    JT_ASSERT_ARRAY(out[1], gc, 2, 1e-15);
    JT_ASSERT_ARRAY(out[2], ga, 2, 1e-15);
    release_arrays(out, 3);
    release_arrays(k.in, 3);
    jx_fn_release(vg);
    jx_fn_release(f);
}

static void test_grad_all_inputs(void) {
    jx_aval av[3] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 2)};
    jx_fn *f = jx_trace("abc", f_abc, NULL, 3, av, 1);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1, 2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(g), 3);
    abc_case k;
    abc_setup(&k);
    jx_array *out[3] = {0};
    eval_ok(g, 3, k.in, 3, out);
    for (int w = 0; w < 3; w++) {
        double want[2];
        abc_grad(&k, w, want);
        JT_ASSERT_ARRAY(out[w], want, 2, 1e-15);
    }
    release_arrays(out, 3);
    release_arrays(k.in, 3);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* jvp(grad f) at x along dx is H dx: check against central differences of grad f. */
static void f_smooth(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    jx_val t = jx_mul(jx_sin(x), jx_mul(x, x));
    out[0] = jx_add(jx_reduce_sum(t, JX_NOINTS), jx_log(jx_reduce_sum(jx_exp(x), JX_NOINTS)));
}

static void test_forward_over_reverse(void) {
    jx_aval a = JX_AVAL(JX_F64, 5);
    jx_fn *f = jx_trace("smooth", f_smooth, NULL, 1, &a, 1);
    jx_fn *g = jx_grad(f, JX_NOINTS), *jg = jx_jvp(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jg);
    uint64_t seed = 3;
    jx_array *x = jt_random(JX_INTS(5), -1.5, 1.5, &seed), *dx = jt_random(JX_INTS(5), -1, 1, &seed);
    jx_array *in[2] = {x, dx}, *out[2] = {0}, *gp = NULL, *gm = NULL, *g0 = NULL;
    eval_ok(jg, 2, in, 2, out);
    double xv[5], dv[5], fd[5], h = 1e-6, base[5];
    jx_array_copy_to(x, xv, sizeof xv);
    jx_array_copy_to(dx, dv, sizeof dv);
    double xp[5], xm[5];
    for (int i = 0; i < 5; i++) xp[i] = xv[i] + h * dv[i], xm[i] = xv[i] - h * dv[i];
    jx_array *ap = jx_array_new(JX_F64, JX_INTS(5), xp), *am = jx_array_new(JX_F64, JX_INTS(5), xm);
    eval_ok(g, 1, &ap, 1, &gp);
    eval_ok(g, 1, &am, 1, &gm);
    eval_ok(g, 1, &x, 1, &g0);
    for (int i = 0; i < 5; i++) {
        fd[i] = (jx_array_get(gp, i) - jx_array_get(gm, i)) / (2 * h);
        base[i] = jx_array_get(g0, i);
    }
    JT_ASSERT_ARRAY(out[0], base, 5, 0); /* the primal output is grad f itself */
    JT_ASSERT_ARRAY(out[1], fd, 5, 1e-7);
    /* and H dx from the Hessian agrees */
    jx_fn *hf = jx_hessian(f, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hf);
    jx_array *H = NULL;
    eval_ok(hf, 1, &x, 1, &H);
    double hd[5] = {0};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) hd[i] += jx_array_get(H, i * 5 + j) * dv[j];
    JT_ASSERT_ARRAY(out[1], hd, 5, 1e-13);
    jx_array_release(H);
    jx_fn_release(hf);
    jx_array *rel[7] = {x, dx, gp, gm, g0, ap, am};
    release_arrays(rel, 7);
    release_arrays(out, 2);
    jx_fn_release(jg);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"grad(grad(grad(poly))) exactly", test_third_derivative_poly},
        {"grad of a body calling a grad", test_grad_of_call_of_grad},
        {"vjp with float and integer outputs", test_vjp_several_outputs},
        {"value_and_grad with an argnums subset", test_value_and_grad_subset},
        {"grad by several inputs", test_grad_all_inputs},
        {"jvp of grad against fd of grad", test_forward_over_reverse},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad compose", tests);
}
