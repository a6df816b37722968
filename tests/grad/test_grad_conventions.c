/* test_grad_conventions.c: derivatives at non-differentiable points, each value the one
 * JAX 0.10 gives (docs/derivatives.md lists them with the JAX expression that produced
 * them): relu, abs, pow, max/min and reduce_max/min ties, cumprod with zeros,
 * cummax/cummin ties (JAX's associative-scan split), the piecewise-constant ops, and
 * the infinities of sqrt, rsqrt, log at 0. */
#include "harness.h"

typedef enum {
    RELU, ABS, SQRT, RSQRT, LOG, SIGN, FLOOR, ROUND, CLAMP, /* unary, scalar */
    POW_X0, POW_X2, POW_X1, POW_XHALF, POW_XM1, POW_0Y, MAX2, MIN2, REM2, ATAN2, /* binary */
    RMAX, RMIN, RPROD, CUMPROD, CUMMAX, CUMMIN, CUMMAX_REV, /* vectors */
} op_id;

static void body(jx_val *out, const jx_val *in, void *u) {
    op_id op = (op_id)(intptr_t)u;
    jx_val x = in[0], y = op >= POW_X0 && op <= ATAN2 ? in[1] : x;
    jx_val r;
    switch (op) {
    case RELU: r = jx_relu(x); break;
    case ABS: r = jx_abs(x); break;
    case SQRT: r = jx_sqrt(x); break;
    case RSQRT: r = jx_rsqrt(x); break;
    case LOG: r = jx_log(x); break;
    case SIGN: r = jx_sign(x); break;
    case FLOOR: r = jx_floor(x); break;
    case ROUND: r = jx_round(x); break;
    case CLAMP: r = jx_clamp(x, 0.0, 1.0); break;
    case POW_X0: case POW_X2: case POW_X1: case POW_XHALF: case POW_XM1: case POW_0Y: r = jx_pow(x, y); break;
    case MAX2: r = jx_max(x, y); break;
    case MIN2: r = jx_min(x, y); break;
    case REM2: r = jx_rem(x, y); break;
    case ATAN2: r = jx_atan2(x, y); break;
    case RMAX: r = jx_reduce_max(x, JX_NOINTS); break;
    case RMIN: r = jx_reduce_min(x, JX_NOINTS); break;
    case RPROD: r = jx_reduce_prod(x, JX_NOINTS); break;
    case CUMPROD: r = jx_cumprod(x, 0, 0); break;
    case CUMMAX: r = jx_cummax(x, 0, 0); break;
    case CUMMIN: r = jx_cummin(x, 0, 0); break;
    default: r = jx_cummax(x, 0, 1); break;
    }
    out[0] = jx_rank(r) ? jx_reduce_sum(r, JX_NOINTS) : r;
}

/* grad of op at x (n values; one scalar when n == 0) with respect to input k of nin,
 * asserted equal to want (NaN matching NaN), with the caller's line on a failure. */
static void check_grad(int line, op_id op, int nin, const double *x, int n, int k, const double *want) {
    jx_aval av[2];
    jx_array *in[2];
    for (int i = 0; i < nin; i++) { /* n values make one vector input, else nin scalars */
        av[i] = n ? JX_AVAL(JX_F64, n) : JX_SCALAR(JX_F64);
        in[i] = n ? jt_array(JX_F64, JX_INTS(n), x) : jt_array(JX_F64, JX_NOINTS, x + i);
    }
    int64_t arg = k;
    jx_fn *f = jx_trace("f", body, (void *)(intptr_t)op, nin, av, 1), *g = f ? jx_grad(f, (jx_ints){&arg, 1}) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *gx = NULL;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, nin, in, 1, &gx), JX_OK);
    int m = n ? n : 1;
    for (int i = 0; i < m; i++) {
        double v = jx_array_get(gx, i);
        int ok = isnan(want[i]) ? isnan(v) : v == want[i];
        if (!ok) fprintf(stderr, "\n  line %d: element %d: %.17g, JAX %.17g\n", line, i, v, want[i]);
        CU_ASSERT(ok);
    }
    jx_array_release(gx);
    for (int i = 0; i < nin; i++) jx_array_release(in[i]);
    jx_fn_release(g);
    jx_fn_release(f);
}

#define GRAD1(op, x, want) check_grad(__LINE__, op, 1, (double[]){x}, 0, 0, (double[]){want})
#define GRAD2(op, x, y, k, want) check_grad(__LINE__, op, 2, (double[]){x, y}, 0, k, (double[]){want})
#define GRADV(op, n, want, ...) check_grad(__LINE__, op, 1, (double[]){__VA_ARGS__}, n, 0, want)

static void test_unary(void) {
    GRAD1(RELU, 0.0, 0.0); /* jax.grad(jax.nn.relu)(0.) */
    GRAD1(RELU, -0.0, 0.0);
    GRAD1(RELU, 2.0, 1.0);
    GRAD1(ABS, 0.0, 1.0); /* jax.grad(jnp.abs)(0.), (-0.) */
    GRAD1(ABS, -0.0, 1.0);
    GRAD1(ABS, -2.0, -1.0);
    GRAD1(SQRT, 0.0, INFINITY);
    GRAD1(RSQRT, 0.0, -INFINITY);
    GRAD1(LOG, 0.0, INFINITY);
    GRAD1(SIGN, 0.0, 0.0);
    GRAD1(FLOOR, 1.0, 0.0);
    GRAD1(ROUND, 0.5, 0.0);
    GRAD1(CLAMP, 0.0, 0.5); /* jnp.clip at its bounds */
    GRAD1(CLAMP, 1.0, 0.5);
}

static void test_binary(void) {
    GRAD2(POW_X0, 0.0, 0.0, 0, NAN); /* jax.grad(lambda x: lax.pow(x, 0.))(0.) */
    GRAD2(POW_X0, 0.0, 0.0, 1, 0.0);
    GRAD2(POW_X2, 0.0, 2.0, 0, 0.0);
    GRAD2(POW_X1, 0.0, 1.0, 0, 1.0);
    GRAD2(POW_XHALF, 0.0, 0.5, 0, INFINITY);
    GRAD2(POW_XM1, 0.0, -1.0, 0, -INFINITY);
    GRAD2(POW_0Y, 0.0, 2.0, 1, 0.0);
    GRAD2(MAX2, 1.0, 1.0, 0, 0.5);
    GRAD2(MAX2, 1.0, 1.0, 1, 0.5);
    GRAD2(MIN2, 1.0, 1.0, 0, 0.5);
    GRAD2(MAX2, 1.0, NAN, 0, 0.0);
    GRAD2(MAX2, 1.0, NAN, 1, 0.0);
    GRAD2(REM2, 4.0, 2.0, 0, 1.0);
    GRAD2(REM2, 4.0, 2.0, 1, -2.0);
    GRAD2(ATAN2, 0.0, 0.0, 0, NAN);
    GRAD2(ATAN2, 0.0, 0.0, 1, NAN);
}

static void test_reductions(void) {
    GRADV(RMAX, 4, ((double[]){0, 0.5, 0.5, 0}), 1, 3, 3, 2);
    GRADV(RMIN, 4, ((double[]){0.5, 0.5, 0, 0}), 1, 1, 3, 2);
    GRADV(RMAX, 3, ((double[]){NAN, NAN, NAN}), 1, NAN, 3);
    GRADV(RPROD, 4, ((double[]){0, 24, 0, 0}), 2, 0, 3, 4);
    GRADV(RPROD, 4, ((double[]){0, 0, 0, 0}), 2, 0, 3, 0);
}

/* jax.grad(lambda x: jnp.sum(jnp.cumprod(x))) and the column sums of
 * jax.jacfwd(lax.cummax) (cummin, reverse cummax) at ties. */
static void test_cumulative(void) {
    GRADV(CUMPROD, 4, ((double[]){1, 32, 0, 0}), 2, 0, 3, 4);
    GRADV(CUMPROD, 5, ((double[]){1, 8, 0, 0, 0}), 2, 0, 3, 0, 5);
    GRADV(CUMMAX, 5, ((double[]){1, 2.25, 1.25, 0, 0.5}), 1, 3, 3, 2, 3);
    GRADV(CUMMIN, 5, ((double[]){1, 2.25, 1.25, 0, 0.5}), 3, 1, 1, 2, 1);
    GRADV(CUMMAX_REV, 5, ((double[]){0, 0.5, 1, 0, 3.5}), 1, 3, 3, 2, 3);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"unary at kinks and zeros", test_unary},
        {"binary at ties and zeros", test_binary},
        {"reductions at ties and zeros", test_reductions},
        {"cumulative ops at ties and zeros", test_cumulative},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad_conventions", tests);
}
