/* test_composites.c: relu, gelu, sigmoid, square, clamp, sum/mean/var, logsumexp,
 * softmax, log_softmax and one_hot against closed forms, their numerics at extreme
 * values, and errors naming the caller's line. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

enum { RELU, GELU, SIGMOID, SQUARE, CLAMP, SUM, MEAN, VAR, LSE, SOFTMAX, LOG_SOFTMAX, ONE_HOT };

typedef struct ccase {
    int op;
    jx_ints axes;       /* sum/mean/var */
    int axis;           /* logsumexp/softmax/log_softmax */
    double lo, hi;      /* clamp */
    int64_t n;          /* one_hot classes */
    jx_dtype dtype;     /* one_hot output */
} ccase;
#define C(o, ...) ((ccase){.op = (o), __VA_ARGS__})

static int op_line;

static void body(jx_val *out, const jx_val *in, void *user) {
    const ccase *c = user;
    jx_val x = in[0];
    switch (c->op) {
    case RELU: op_line = __LINE__; out[0] = jx_relu(x); break;
    case GELU: op_line = __LINE__; out[0] = jx_gelu(x); break;
    case SIGMOID: op_line = __LINE__; out[0] = jx_sigmoid(x); break;
    case SQUARE: op_line = __LINE__; out[0] = jx_square(x); break;
    case CLAMP: op_line = __LINE__; out[0] = jx_clamp(x, c->lo, c->hi); break;
    case SUM: op_line = __LINE__; out[0] = jx_sum(x, c->axes); break;
    case MEAN: op_line = __LINE__; out[0] = jx_mean(x, c->axes); break;
    case VAR: op_line = __LINE__; out[0] = jx_var(x, c->axes); break;
    case LSE: op_line = __LINE__; out[0] = jx_logsumexp(x, c->axis); break;
    case SOFTMAX: op_line = __LINE__; out[0] = jx_softmax(x, c->axis); break;
    case LOG_SOFTMAX: op_line = __LINE__; out[0] = jx_log_softmax(x, c->axis); break;
    case ONE_HOT: op_line = __LINE__; out[0] = jx_one_hot(x, c->n, c->dtype); break;
    }
}

/* Traces and evaluates c on x (released); NULL on failure. */
static jx_array *run(ccase c, jx_array *x) { return jt_eval1(body, &c, 1, &x); }

static void test_activations(void) {
    const double x[6] = {-3, -0.5, 0, 0.7, 2.5, NAN};
    jt_check_array(__LINE__, run(C(RELU, .n = 0), jt_array(JX_F32, JX_INTS(6), x)), JX_F32, JX_INTS(6), (double[]){0, 0, 0, 0.7, 2.5, NAN}, 1e-7);
    jt_check_array(__LINE__, run(C(RELU, .n = 0), jt_array(JX_I32, JX_INTS(2), (double[]){-4, 9})), JX_I32, JX_INTS(2), (double[]){0, 9}, 0);
    double g[6], s[6], sq[6];
    for (int i = 0; i < 6; i++) {
        g[i] = 0.5 * x[i] * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
        s[i] = 1 / (1 + exp(-x[i]));
        sq[i] = x[i] * x[i];
    }
    jt_check_array(__LINE__, run(C(GELU, .n = 0), jt_array(JX_F64, JX_INTS(6), x)), JX_F64, JX_INTS(6), g, 1e-15);
    jt_check_array(__LINE__, run(C(GELU, .n = 0), jt_array(JX_F32, JX_INTS(6), x)), JX_F32, JX_INTS(6), g, 1e-6);
    jt_check_array(__LINE__, run(C(SIGMOID, .n = 0), jt_array(JX_F64, JX_INTS(6), x)), JX_F64, JX_INTS(6), s, 1e-15);
    jt_check_array(__LINE__, run(C(SQUARE, .n = 0), jt_array(JX_F32, JX_INTS(6), x)), JX_F32, JX_INTS(6), sq, 1e-7);
    jt_check_array(__LINE__, run(C(SQUARE, .n = 0), jt_array(JX_I32, JX_INTS(2), (double[]){-7, 3})), JX_I32, JX_INTS(2), (double[]){49, 9}, 0);
    /* gelu of large |x|: x and 0, with no overflow to NaN */
    jt_check_array(__LINE__, run(C(GELU, .n = 0), jt_array(JX_F32, JX_INTS(2), (double[]){-30, 30})), JX_F32, JX_INTS(2), (double[]){0, 30}, 0);
}

static void test_clamp(void) {
    jt_check_array(__LINE__, run(C(CLAMP, .lo = -1, .hi = 1), jt_array(JX_F32, JX_INTS(5), (double[]){-5, -0.25, 0.5, 5, NAN})), JX_F32,
          JX_INTS(5), (double[]){-1, -0.25, 0.5, 1, NAN}, 0);
    jt_check_array(__LINE__, run(C(CLAMP, .lo = 0, .hi = 10), jt_array(JX_I64, JX_INTS(3), (double[]){-3, 4, 99})), JX_I64, JX_INTS(3),
          (double[]){0, 4, 10}, 0);
}

static void test_statistics(void) {
    const double x[6] = {1, 2, 6, -4, 0, 10}; /* (2,3) */
    jt_check_array(__LINE__, run(C(SUM, .axes = JX_INTS(-1)), jt_array(JX_F32, JX_INTS(2, 3), x)), JX_F32, JX_INTS(2), (double[]){9, 6}, 0);
    jt_check_array(__LINE__, run(C(SUM, .axes = JX_NOINTS), jt_array(JX_I32, JX_INTS(2, 3), x)), JX_I32, JX_NOINTS, (double[]){15}, 0);
    jt_check_array(__LINE__, run(C(MEAN, .axes = JX_INTS(0)), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(3),
          (double[]){-1.5, 1, 8}, 0);
    jt_check_array(__LINE__, run(C(MEAN, .axes = JX_NOINTS), jt_array(JX_F32, JX_INTS(2, 3), x)), JX_F32, JX_NOINTS, (double[]){2.5}, 1e-7);
    /* population variance: row 0 mean 3 -> (4+1+9)/3; row 1 mean 2 -> (36+4+64)/3 */
    jt_check_array(__LINE__, run(C(VAR, .axes = JX_INTS(1)), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(2),
          (double[]){14.0 / 3, 104.0 / 3}, 1e-15);
    double m = 2.5, v = 0;
    for (int i = 0; i < 6; i++) v += (x[i] - m) * (x[i] - m) / 6;
    jt_check_array(__LINE__, run(C(VAR, .axes = JX_NOINTS), jt_array(JX_F32, JX_INTS(2, 3), x)), JX_F32, JX_NOINTS, &v, 1e-6);
    jt_check_array(__LINE__, run(C(VAR, .axes = JX_INTS(0)), jt_array(JX_F32, JX_INTS(1, 3), x)), JX_F32, JX_INTS(3), (double[]){0, 0, 0}, 0);
    /* the centred form stays exact where E[x^2]-E[x]^2 would cancel */
    jt_check_array(__LINE__, run(C(VAR, .axes = JX_NOINTS), jt_array(JX_F64, JX_INTS(2), (double[]){1e9 + 1, 1e9 - 1})), JX_F64, JX_NOINTS,
          (double[]){1}, 0);
    /* the mean of nothing is 0/0 */
    jt_check_array(__LINE__, run(C(MEAN, .axes = JX_INTS(0)), jt_array(JX_F32, JX_INTS(0, 2), NULL)), JX_F32, JX_INTS(2),
          (double[]){NAN, NAN}, 0);
}

static void test_logsumexp(void) {
    const double x[6] = {1, 2, 3, -1, 0.5, 0};
    double want[2];
    for (int r = 0; r < 2; r++) want[r] = log(exp(x[3 * r]) + exp(x[3 * r + 1]) + exp(x[3 * r + 2]));
    jt_check_array(__LINE__, run(C(LSE, .axis = 1), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(2), want, 1e-15);
    jt_check_array(__LINE__, run(C(LSE, .axis = -1), jt_array(JX_F32, JX_INTS(2, 3), x)), JX_F32, JX_INTS(2), want, 1e-6);
    double want0[3];
    for (int c = 0; c < 3; c++) want0[c] = log(exp(x[c]) + exp(x[3 + c]));
    jt_check_array(__LINE__, run(C(LSE, .axis = 0), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(3), want0, 1e-15);
    /* large values stay finite; all -inf gives -inf (not NaN); +inf and NaN pass */
    const double big[12] = {1000, 1000, 1000, -INFINITY, -INFINITY, -INFINITY, 1, INFINITY, 2, 1, NAN, 2};
    jt_check_array(__LINE__, run(C(LSE, .axis = 1), jt_array(JX_F32, JX_INTS(4, 3), big)), JX_F32, JX_INTS(4),
          (double[]){1000 + log(3.0), -INFINITY, INFINITY, NAN}, 1e-6);
    jt_check_array(__LINE__, run(C(LSE, .axis = 0), jt_array(JX_F64, JX_INTS(2), (double[]){-1000, -1000})), JX_F64, JX_NOINTS,
          (double[]){-1000 + log(2.0)}, 1e-15);
}

static void test_softmax(void) {
    const double x[6] = {1, 2, 3, 1000, 1001, 999};
    double want[6], logw[6];
    for (int r = 0; r < 2; r++) {
        double m = fmax(fmax(x[3 * r], x[3 * r + 1]), x[3 * r + 2]), s = 0;
        for (int c = 0; c < 3; c++) s += exp(x[3 * r + c] - m);
        for (int c = 0; c < 3; c++) want[3 * r + c] = exp(x[3 * r + c] - m) / s, logw[3 * r + c] = x[3 * r + c] - m - log(s);
    }
    jt_check_array(__LINE__, run(C(SOFTMAX, .axis = 1), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(2, 3), want, 1e-15);
    jt_check_array(__LINE__, run(C(LOG_SOFTMAX, .axis = -1), jt_array(JX_F64, JX_INTS(2, 3), x)), JX_F64, JX_INTS(2, 3), logw, 1e-13);
    jt_check_array(__LINE__, run(C(LOG_SOFTMAX, .axis = 1), jt_array(JX_F32, JX_INTS(2, 3), x)), JX_F32, JX_INTS(2, 3), logw, 1e-5);
    /* rows of a softmax sum to 1, also along axis 0 */
    jx_array *y = run(C(SOFTMAX, .axis = 0), jt_array(JX_F32, JX_INTS(2, 3), x));
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    for (int c = 0; c < 3; c++) {
        double s = jx_array_get(y, c) + jx_array_get(y, 3 + c);
        CU_ASSERT(fabs(s - 1) < 1e-6);
        CU_ASSERT(jx_array_get(y, 3 + c) > 0.99); /* the 1000s dominate */
    }
    jx_array_release(y);
}

static void test_one_hot(void) {
    const double idx[6] = {0, 3, 1, -1, 4, 2};
    double want[24] = {0};
    for (int i = 0; i < 6; i++)
        if (idx[i] >= 0 && idx[i] < 4) want[i * 4 + (int)idx[i]] = 1;
    jt_check_array(__LINE__, run(C(ONE_HOT, .n = 4, .dtype = JX_F32), jt_array(JX_I32, JX_INTS(2, 3), idx)), JX_F32, JX_INTS(2, 3, 4),
          want, 0);
    jt_check_array(__LINE__, run(C(ONE_HOT, .n = 3, .dtype = JX_BOOL), jx_array_scalar(JX_I64, 2)), JX_BOOL, JX_INTS(3),
          (double[]){0, 0, 1}, 0);
    jt_check_array(__LINE__, run(C(ONE_HOT, .n = 0, .dtype = JX_F32), jt_array(JX_I32, JX_INTS(2), (double[]){0, 1})), JX_F32,
          JX_INTS(2, 0), NULL, 0);
    /* u8 indices with more classes than u8 holds: class 300 must not match index 44 */
    jx_array *y = run(C(ONE_HOT, .n = 301, .dtype = JX_I32), jt_array(JX_U8, JX_INTS(1), (double[]){44}));
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    double sum = 0;
    for (int i = 0; i < 301; i++) sum += jx_array_get(y, i);
    CU_ASSERT_EQUAL(sum, 1);
    CU_ASSERT_EQUAL(jx_array_get(y, 44), 1);
    jx_array_release(y);
}

/* The stabilising max is held under stop_gradient, as in JAX. */
static void test_ir(void) {
    jx_aval a = JX_AVAL(JX_F32, 4, 10);
    int ops[3] = {LSE, SOFTMAX, LOG_SOFTMAX};
    for (int i = 0; i < 3; i++) {
        ccase c = C(ops[i], .axis = 1);
        jx_fn *f = jx_trace("c", body, &c, 1, &a, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT(jx_fn_num_eqns(f) > 3);
        jx_aval o = jx_fn_output_aval(f, 0), want = i ? a : JX_AVAL(JX_F32, 4);
        CU_ASSERT(jx_aval_equal(&o, &want));
        char *s = jx_fn_to_string(f);
        CU_ASSERT(s && strstr(s, "stop_gradient") && strstr(s, "reduce_max"));
        free(s);
        jx_fn_release(f);
    }
}

static void check_err(ccase c, jx_aval a, jx_status code, const char *s) {
    jx_fn *f = jx_trace("bad", body, &c, 1, &a, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(s);
    JT_ASSERT_ERR(jt_place(__FILE__, op_line));
}

static void test_errors(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3);
    check_err(C(ONE_HOT, .n = 3, .dtype = JX_F32), JX_AVAL(JX_F32, 3), JX_ERR_DTYPE,
              "one_hot: indices must be integers, got f32[3]");
    check_err(C(ONE_HOT, .n = -1, .dtype = JX_F32), JX_AVAL(JX_I32, 3), JX_ERR_ARG, "one_hot: number of classes -1 is negative");
    check_err(C(MEAN, .axes = JX_INTS(2)), a, JX_ERR_AXIS, "mean: axis 2 out of range for rank 2");
    check_err(C(VAR, .axes = JX_INTS(0, -2)), a, JX_ERR_AXIS, "var: axis -2 repeated in (0,-2)");
    check_err(C(SUM, .axes = JX_INTS(-3)), a, JX_ERR_AXIS, "reduce_sum: axis -3 out of range for rank 2");
    check_err(C(SOFTMAX, .axis = 5), a, JX_ERR_AXIS, "softmax: axis 5 out of range for rank 2");
    check_err(C(LOG_SOFTMAX, .axis = -3), a, JX_ERR_AXIS, "log_softmax: axis -3 out of range for rank 2");
    check_err(C(LSE, .axis = 2), a, JX_ERR_AXIS, "logsumexp: axis 2 out of range for rank 2");
    /* errors of the ops inside a composite still name the caller's line */
    check_err(C(LSE, .axis = 0), JX_AVAL(JX_I32, 3), JX_ERR_DTYPE, "logsumexp: needs f32 or f64, got i32[3]");
    check_err(C(GELU, .n = 0), JX_AVAL(JX_BOOL, 3), JX_ERR_DTYPE, "");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"relu, gelu, sigmoid, square", test_activations},
        {"clamp", test_clamp},
        {"sum, mean, var", test_statistics},
        {"logsumexp: stable, infinities, NaN", test_logsumexp},
        {"softmax and log_softmax", test_softmax},
        {"one_hot pattern", test_one_hot},
        {"stop_gradient on the max", test_ir},
        {"errors name the caller's line", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("composites", tests);
}
