/* test_grad_jacobian.c: jacfwd, jacrev and hessian: agreement with each other, with finite
 * differences and with closed forms; IR size independent of the input size; errors. */
#include "gradcheck.h"

#include <stdbool.h>
#include <stdlib.h>

/* Evaluates a one-output function on its inputs; NULL (assertion failed) on error. */
static jx_array *eval1(const jx_fn *f, int nin, jx_array *const *in) {
    jx_array *out = NULL;
    jx_status st = jt_eval(f, nin, in, 1, &out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    return out;
}

/* Asserts a result's shape. */
static void assert_shape(const jx_array *a, jx_ints want) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL_FATAL(jx_array_rank(a), want.n);
    for (int i = 0; i < want.n; i++) CU_ASSERT_EQUAL(jx_array_shape(a)[i], want.v[i]);
}

/* Central-difference Jacobian of output 0 of a one-input f64 function at x: (m, n) flat. */
static double *fd_jacobian(const jx_fn *f, const jx_array *x, int64_t m) {
    int64_t n = jx_array_size(x);
    double *J = calloc((size_t)(m * n + 1), sizeof *J), h = 1e-6;
    double *xv = malloc(sizeof *xv * (size_t)(n + 1));
    jx_array_copy_to(x, xv, jx_array_nbytes(x));
    for (int64_t j = 0; j < n; j++) {
        jx_array *y[2];
        for (int s = 0; s < 2; s++) {
            double keep = xv[j];
            xv[j] += s ? -h : h;
            jx_array *xp = jx_array_new(JX_F64, (jx_ints){jx_array_shape(x), jx_array_rank(x)}, xv);
            y[s] = eval1(f, 1, &xp);
            jx_array_release(xp);
            xv[j] = keep;
        }
        for (int64_t i = 0; y[0] && y[1] && i < m; i++)
            J[i * n + j] = (jx_array_get(y[0], i) - jx_array_get(y[1], i)) / (2 * h);
        jx_array_release(y[0]);
        jx_array_release(y[1]);
    }
    free(xv);
    return J;
}

/* f(x) = sin(x) * sum(x^2): J[i,j] = cos(x_i) s d_ij + 2 sin(x_i) x_j */
static void f_sinsum(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), jx_reduce_sum(jx_mul(in[0], in[0]), JX_NOINTS));
}

static void check_sinsum(jx_ints shape) {
    jx_aval a = jx_aval_make(JX_F64, shape);
    jx_fn *f = jx_trace("sinsum", f_sinsum, NULL, 1, &a, 1);
    jx_fn *jf = jx_jacfwd(f, 0), *jr = jx_jacrev(f, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jr);
    CU_ASSERT_EQUAL(jx_fn_typecheck(jf), JX_OK);
    CU_ASSERT_EQUAL(jx_fn_typecheck(jr), JX_OK);
    uint64_t seed = 99;
    jx_array *x = jt_random(shape, -1.5, 1.5, &seed);
    int64_t n = jx_array_size(x), js[2 * JX_MAX_RANK];
    for (int i = 0; i < shape.n; i++) js[i] = js[shape.n + i] = shape.v[i];
    jx_array *Jf = eval1(jf, 1, &x), *Jr = eval1(jr, 1, &x);
    assert_shape(Jf, (jx_ints){js, 2 * shape.n});
    assert_shape(Jr, (jx_ints){js, 2 * shape.n});
    double *want = malloc(sizeof *want * (size_t)(n * n)), s = 0, *fd = fd_jacobian(f, x, n);
    for (int64_t i = 0; i < n; i++) s += jx_array_get(x, i) * jx_array_get(x, i);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double xi = jx_array_get(x, i), xj = jx_array_get(x, j);
            want[i * n + j] = (i == j ? cos(xi) * s : 0) + 2 * sin(xi) * xj;
        }
    JT_ASSERT_ARRAY(Jf, want, n * n, 1e-14);
    JT_ASSERT_ARRAY(Jr, want, n * n, 1e-14);
    JT_ASSERT_ARRAY(Jf, fd, n * n, 1e-8);
    double *jrv = malloc(sizeof *jrv * (size_t)(n * n));
    jx_array_copy_to(Jr, jrv, jx_array_nbytes(Jr));
    JT_ASSERT_ARRAY(Jf, jrv, n * n, 1e-15);
    free(jrv);
    free(want);
    free(fd);
    jx_array_release(Jf);
    jx_array_release(Jr);
    jx_array_release(x);
    jx_fn_release(jf);
    jx_fn_release(jr);
    jx_fn_release(f);
}

static void test_sinsum_vector(void) { check_sinsum(JX_INTS(3)); }
static void test_sinsum_matrix(void) { check_sinsum(JX_INTS(2, 2)); }

/* y = A @ x with a constant A (3,4): the Jacobian is A, exactly. */
static const double A34[12] = {1, -2, 3.5, 0, 0.25, 7, -1, 2, 3, 3, -0.5, 1e3};

static void f_linear(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_array *A = jx_array_new(JX_F64, JX_INTS(3, 4), A34);
    out[0] = jx_matmul(jx_const(A), in[0]);
    jx_array_release(A);
}

static void test_linear_map(void) {
    jx_aval a = JX_AVAL(JX_F64, 4);
    jx_fn *f = jx_trace("linear", f_linear, NULL, 1, &a, 1);
    jx_fn *j[2] = {jx_jacfwd(f, 0), jx_jacrev(f, 0)};
    double xv[4] = {0.3, -1, 2, 5};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(4), xv);
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(j[k]);
        jx_array *J = eval1(j[k], 1, &x);
        assert_shape(J, JX_INTS(3, 4));
        JT_ASSERT_ARRAY(J, A34, 12, 0);
        jx_array_release(J);
        jx_fn_release(j[k]);
    }
    jx_array_release(x);
    jx_fn_release(f);
}

/* Rank 0 in and out: d sin(x)/dx = cos(x), a scalar; f32 stays f32. */
static void f_sin(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
}

static void test_scalar_f32(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    jx_fn *f = jx_trace("sin", f_sin, NULL, 1, &a, 1);
    jx_fn *j[3] = {jx_jacfwd(f, 0), jx_jacrev(f, 0), jx_hessian(f, 0)};
    jx_array *x = jx_array_scalar(JX_F32, 0.75);
    double want[3] = {cos(0.75), cos(0.75), -sin(0.75)};
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(j[k]);
        CU_ASSERT_EQUAL(jx_fn_output_aval(j[k], 0).dtype, JX_F32);
        jx_array *J = eval1(j[k], 1, &x);
        assert_shape(J, JX_NOINTS);
        JT_ASSERT_ARRAY(J, &want[k], 1, 1e-6);
        jx_array_release(J);
        jx_fn_release(j[k]);
    }
    jx_array_release(x);
    jx_fn_release(f);
}

/* Size-0 input: the Jacobian of sum(x) over x of shape (0,) is empty. */
static void f_sum(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(in[0], JX_NOINTS);
}

static void test_empty_input(void) {
    jx_aval a = JX_AVAL(JX_F64, 0);
    jx_fn *f = jx_trace("sum", f_sum, NULL, 1, &a, 1);
    jx_fn *j[2] = {jx_jacfwd(f, 0), jx_jacrev(f, 0)};
    jx_array *x = jx_array_zeros(JX_F64, JX_INTS(0));
    for (int k = 0; k < 2; k++) {
        if (!j[k]) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(j[k]);
        jx_array *J = eval1(j[k], 1, &x);
        assert_shape(J, JX_INTS(0));
        jx_array_release(J);
        jx_fn_release(j[k]);
    }
    jx_array_release(x);
    jx_fn_release(f);
}

/* Several inputs and outputs: f(k, x, y) = (x * y^2 + k-as-float, sum(x), k) with an
 * integer input k; the Jacobians by x and by y of output 0 (shape (3,)). */
static void f_multi(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[1], jx_mul(in[2], in[2])), jx_convert(in[0], JX_F64));
    out[1] = jx_reduce_sum(in[1], JX_NOINTS);
    out[2] = in[0];
}

static void test_multi_io(void) {
    jx_aval a[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = jx_trace("multi", f_multi, NULL, 3, a, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double xv[3] = {1, 2, 3}, yv[3] = {-1, 0.5, 4};
    jx_array *in[3] = {jx_array_scalar(JX_I32, 7), jx_array_new(JX_F64, JX_INTS(3), xv),
                       jx_array_new(JX_F64, JX_INTS(3), yv)};
    double wx[9] = {0}, wy[9] = {0};
    for (int i = 0; i < 3; i++) wx[4 * i] = yv[i] * yv[i], wy[4 * i] = 2 * xv[i] * yv[i];
    for (int k = 0; k < 4; k++) {
        int argnum = 1 + k % 2;
        jx_fn *j = k < 2 ? jx_jacfwd(f, argnum) : jx_jacrev(f, argnum);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        CU_ASSERT_EQUAL(jx_fn_num_inputs(j), 3);
        CU_ASSERT_EQUAL(jx_fn_num_outputs(j), 1);
        jx_array *J = eval1(j, 3, in);
        assert_shape(J, JX_INTS(3, 3));
        JT_ASSERT_ARRAY(J, argnum == 1 ? wx : wy, 9, 0);
        jx_array_release(J);
        jx_fn_release(j);
    }
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_fn_release(f);
}

/* Output 0 does not depend on input 0: a zero Jacobian of shape out + in. */
static void f_ignores_x(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[1]);
}

static void test_zero_jacobian(void) {
    jx_aval a[2] = {JX_AVAL(JX_F32, 2), JX_AVAL(JX_F32, 3)};
    jx_fn *f = jx_trace("ignores_x", f_ignores_x, NULL, 2, a, 1);
    jx_fn *j[2] = {jx_jacfwd(f, 0), jx_jacrev(f, 0)};
    jx_array *in[2] = {jx_array_full(JX_F32, JX_INTS(2), 1), jx_array_full(JX_F32, JX_INTS(3), 2)};
    double zero[6] = {0};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(j[k]);
        jx_array *J = eval1(j[k], 2, in);
        assert_shape(J, JX_INTS(3, 2));
        CU_ASSERT_EQUAL(jx_array_dtype(J), JX_F32);
        JT_ASSERT_ARRAY(J, zero, 6, 0);
        jx_array_release(J);
        jx_fn_release(j[k]);
    }
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(f);
}

/* Forward mode through a while loop: x <- x * x twice while a counter runs, so y = x^4. */
static void w_cond(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 2));
}

static void w_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_mul(in[1], in[1]);
}

static void f_while(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val init[2] = {jx_scalar(JX_I32, 0), in[0]}, r[2];
    jx_while(w_cond, w_body, NULL, 2, init, r);
    out[0] = r[1];
}

static void test_jacfwd_through_while(void) {
    jx_aval a = JX_AVAL(JX_F64, 2);
    jx_fn *f = jx_trace("pow4", f_while, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *j = jx_jacfwd(f, 0);
    if (!j) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double xv[2] = {1.5, -0.5}, want[4] = {4 * 1.5 * 1.5 * 1.5, 0, 0, 4 * -0.125};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(2), xv), *J = eval1(j, 1, &x);
    assert_shape(J, JX_INTS(2, 2));
    JT_ASSERT_ARRAY(J, want, 4, 1e-15);
    jx_array_release(J);
    jx_array_release(x);
    jx_fn_release(j);
    jx_fn *r = jx_jacrev(f, 0); /* reverse mode cannot go through it */
    CU_ASSERT_PTR_NULL(r);
    JT_ASSERT_ERR("while: reverse-mode differentiation does not work for while loops");
    jx_fn_release(r);
    jx_fn_release(f);
}

/* 0.5 x^T A x with a non-symmetric A: the Hessian is (A + A^T) / 2. */
static const double A33[9] = {2, 1, -3, 0.5, 4, 2, 1, -7, 3};

static void f_quad(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_array *A = jx_array_new(JX_F64, JX_INTS(3, 3), A33);
    jx_val Ax = jx_matmul(jx_const(A), in[0]);
    out[0] = jx_mul(jx_scalar(JX_F64, 0.5), jx_reduce_sum(jx_mul(in[0], Ax), JX_NOINTS));
    jx_array_release(A);
}

static void test_hessian_quadratic(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    jx_fn *f = jx_trace("quad", f_quad, NULL, 1, &a, 1);
    jx_fn *h = jx_hessian(f, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    double want[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) want[3 * i + j] = (A33[3 * i + j] + A33[3 * j + i]) / 2;
    uint64_t seed = 5;
    for (int p = 0; p < 3; p++) {
        jx_array *x = jt_random(JX_INTS(3), -3, 3, &seed), *H = eval1(h, 1, &x);
        assert_shape(H, JX_INTS(3, 3));
        JT_ASSERT_ARRAY(H, want, 9, 1e-12);
        jx_array_release(H);
        jx_array_release(x);
    }
    jx_fn_release(h);
    jx_fn_release(f);
}

/* Rosenbrock: sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2) over i < n-1. */
static void f_rosen(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    int64_t n = jx_dim(in[0], 0);
    jx_val lo = jx_slice(in[0], JX_INTS(0), JX_INTS(n - 1), JX_NOINTS);
    jx_val hi = jx_slice(in[0], JX_INTS(1), JX_INTS(n), JX_NOINTS);
    jx_val d = jx_sub(hi, jx_mul(lo, lo)), e = jx_sub(jx_scalar(JX_F64, 1), lo);
    jx_val t = jx_add(jx_mul(jx_scalar(JX_F64, 100), jx_mul(d, d)), jx_mul(e, e));
    out[0] = jx_reduce_sum(t, JX_NOINTS);
}

static void test_hessian_rosenbrock(void) {
    enum { N = 4 };
    jx_aval a = JX_AVAL(JX_F64, N);
    jx_fn *f = jx_trace("rosen", f_rosen, NULL, 1, &a, 1);
    jx_fn *h = jx_hessian(f, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    double pts[3][N] = {{1, 1, 1, 1}, {-1.2, 1, 0.5, 2}, {0.3, -0.7, 1.5, -2}};
    for (int p = 0; p < 3; p++) {
        const double *x = pts[p];
        double want[N * N] = {0};
        for (int i = 0; i < N - 1; i++) {
            want[i * N + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
            want[i * N + i + 1] = want[(i + 1) * N + i] = -400 * x[i];
            want[(i + 1) * N + i + 1] += 200;
        }
        jx_array *xa = jx_array_new(JX_F64, JX_INTS(N), x), *H = eval1(h, 1, &xa);
        assert_shape(H, JX_INTS(N, N));
        JT_ASSERT_ARRAY(H, want, N * N, 1e-12);
        jx_array_release(H);
        jx_array_release(xa);
    }
    jx_fn_release(h);
    jx_fn_release(f);
}

/* Whether f's IR (nested functions included) binds primitive `prim`. */
static bool binds(const jx_fn *f, const char *prim) {
    char *text = jx_fn_to_string(f), pat[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    snprintf(pat, sizeof pat, "= %s", prim);
    bool r = false;
    for (const char *p = strstr(text, pat); p && !r; p = strstr(p + 1, pat)) {
        char c = p[strlen(pat)];
        r = c == '[' || c == ' ';
    }
    free(text);
    return r;
}

/* A scan over the elements of x: s <- s * x_t + x_t^2 from s = 0, so for n = 3
 * f = x0^2 x1 x2 + x1^2 x2 + x2^2. */
static void scan_step(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_mul(in[1], in[1]));
}

static void f_scan(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val s0 = jx_scalar(JX_F64, 0), r;
    jx_scan(scan_step, NULL, 3, 0, 1, &s0, 1, &in[0], 0, &r);
    out[0] = r;
}

static void test_hessian_through_scan(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    jx_fn *f = jx_trace("scanpoly", f_scan, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *h = jx_hessian(f, 0);
    if (!h) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_TRUE(binds(h, "scan")); /* f's own loop stays a loop */
    double x[3] = {0.5, -2, 3};
    double want[9] = {2 * x[1] * x[2], 2 * x[0] * x[2], 2 * x[0] * x[1],
                      2 * x[0] * x[2], 2 * x[2], x[0] * x[0] + 2 * x[1],
                      2 * x[0] * x[1], x[0] * x[0] + 2 * x[1], 2};
    jx_array *xa = jx_array_new(JX_F64, JX_INTS(3), x), *H = eval1(h, 1, &xa);
    assert_shape(H, JX_INTS(3, 3));
    JT_ASSERT_ARRAY(H, want, 9, 1e-13);
    jx_array_release(H);
    jx_array_release(xa);
    jx_fn_release(h);
    jx_fn_release(f);
}

/* vmap over the basis keeps the IR the same size for n = 4 and n = 64, with no loop. */
static void test_ir_size_constant(void) {
    int counts[2][3];
    int64_t sizes[2] = {4, 64};
    for (int k = 0; k < 2; k++) {
        jx_aval a = jx_aval_make(JX_F64, (jx_ints){&sizes[k], 1});
        jx_fn *f = jx_trace("sinsum", f_sinsum, NULL, 1, &a, 1), *r = jx_trace("rosen", f_rosen, NULL, 1, &a, 1);
        jx_fn *j[3] = {jx_jacfwd(f, 0), jx_jacrev(f, 0), jx_hessian(r, 0)};
        for (int m = 0; m < 3; m++) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(j[m]);
            CU_ASSERT_FALSE(binds(j[m], "scan"));
            CU_ASSERT_FALSE(binds(j[m], "while"));
            counts[k][m] = jx_fn_num_eqns_total(j[m]);
            jx_fn_release(j[m]);
        }
        jx_fn_release(f);
        jx_fn_release(r);
    }
    for (int m = 0; m < 3; m++) {
        if (counts[0][m] != counts[1][m]) fprintf(stderr, "\n  %d: %d vs %d eqns\n", m, counts[0][m], counts[1][m]);
        CU_ASSERT(counts[0][m] > 0);
        CU_ASSERT_EQUAL(counts[0][m], counts[1][m]);
    }
}

static void test_errors(void) {
    jx_aval a[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)}, ai = JX_AVAL(JX_I32, 3);
    jx_fn *f = jx_trace("vec", f_multi, NULL, 3, a, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int line = __LINE__ + 1;
    jx_fn *j = jx_jacfwd(f, 3);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    JT_ASSERT_ERR("jacfwd: argnum 3 is out of range: 'vec' has 3 inputs");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    line = __LINE__ + 1;
    j = jx_jacrev(f, 0);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_DTYPE);
    JT_ASSERT_ERR("jacrev: input 0 of 'vec' is i32[]: only f32 and f64 inputs can be differentiated");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    j = jx_jacrev(f, -1);
    CU_ASSERT_PTR_NULL(j);
    JT_ASSERT_ERR("jacrev: argnum -1 is out of range");
    line = __LINE__ + 1;
    j = jx_hessian(f, 1);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_SHAPE);
    JT_ASSERT_ERR("hessian: output 0 of 'vec' is f64[3]: it must be a f32 or f64 scalar");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn_release(f);
    /* an integer input 0 */
    jx_fn *id = jx_trace("ident", f_sum, NULL, 1, &ai, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(id);
    line = __LINE__ + 1;
    j = jx_jacfwd(id, 0);
    CU_ASSERT_PTR_NULL(j);
    JT_ASSERT_ERR("jacfwd: input 0 of 'ident' is i32[3]");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    /* rank 5 by rank 5 would make a rank-10 Jacobian */
    jx_aval a5 = JX_AVAL(JX_F64, 1, 2, 1, 2, 1);
    jx_fn *big = jx_trace("big", f_sin, NULL, 1, &a5, 1);
    line = __LINE__ + 1;
    j = jx_jacrev(big, 0);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_SHAPE);
    JT_ASSERT_ERR("jacrev: the Jacobian of output 0 (f64[1,2,1,2,1]) by input 0 (f64[1,2,1,2,1]) of 'big' has rank 10, above 8");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn_release(big);
    CU_ASSERT_PTR_NULL(jx_jacfwd(NULL, 0));
    JT_ASSERT_ERR("jacfwd: function is NULL");
    jx_fn_release(id);
}

/* Output 0 an integer: nothing to differentiate. */
static void f_intout(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_convert(in[0], JX_I32);
}

static void test_int_output(void) {
    jx_aval a = JX_AVAL(JX_F64, 2);
    jx_fn *f = jx_trace("toint", f_intout, NULL, 1, &a, 1);
    int line = __LINE__ + 1;
    jx_fn *j = jx_jacrev(f, 0);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_DTYPE);
    JT_ASSERT_ERR("jacrev: output 0 of 'toint' is i32[2]: only f32 and f64 outputs can be differentiated");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"jacfwd = jacrev = closed form = fd, x (3,)", test_sinsum_vector},
        {"jacfwd = jacrev = closed form = fd, x (2,2)", test_sinsum_matrix},
        {"Jacobian of A@x is A exactly", test_linear_map},
        {"rank 0 and f32", test_scalar_f32},
        {"size-0 input", test_empty_input},
        {"several inputs and outputs, argnum", test_multi_io},
        {"output independent of the input: zeros", test_zero_jacobian},
        {"jacfwd through a while loop", test_jacfwd_through_while},
        {"Hessian of a quadratic form", test_hessian_quadratic},
        {"Hessian of Rosenbrock", test_hessian_rosenbrock},
        {"Hessian through a scan", test_hessian_through_scan},
        {"IR size independent of n", test_ir_size_constant},
        {"errors name the function and line", test_errors},
        {"integer output 0 is an error", test_int_output},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad jacobian", tests);
}
