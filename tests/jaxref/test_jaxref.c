/* test_jaxref.c: jx against JAX computed at test time (tests/jaxref/jaxref.py through
 * python3): elementwise ops, their first and second derivatives, in f32 and f64, at
 * edge values (signed zeros, ties of relu/abs, +-inf, NaN, subnormals, large
 * magnitudes), through the interpreter and the jit (JX_TEST_JIT=1). Exit 77 (skipped)
 * where python3 cannot import jax. Subnormals are compared like every value: jx flushes
 * them to zero as JAX's CPU backend does (docs/jit.md; where jx cannot set the CPU's mode
 * they are skipped). One deliberate difference: relu'(NaN) is 1 in jx, 0 in JAX
 * (docs/derivatives.md), asserted. Values agree when both are NaN, equal, or within 1e-12
 * (f64) / 2e-6 (f32) of max(1, |JAX|); prints the number of cases and the worst error. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/backends/fpenv.h"
#include "harness.h"

static const char *ops[] = {"exp",  "log",  "log1p", "expm1", "tanh", "logistic", "sin",  "cos",
                            "sqrt", "rsqrt", "abs",  "relu",  "square", "neg",    "sign", "floor"};
enum { NOPS = sizeof ops / sizeof *ops, NX = 14 };
static const double xs[NX] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-310, -1e-310, 1e-40, 80.0, -1e30, INFINITY, NAN};

static void body(jx_val *out, const jx_val *in, void *u) {
    const char *op = u;
    jx_val x = in[0];
#define IS(s) (strcmp(op, s) == 0)
    out[0] = IS("exp") ? jx_exp(x) : IS("log") ? jx_log(x) : IS("log1p") ? jx_log1p(x) : IS("expm1") ? jx_expm1(x)
           : IS("tanh") ? jx_tanh(x) : IS("logistic") ? jx_logistic(x) : IS("sin") ? jx_sin(x) : IS("cos") ? jx_cos(x)
           : IS("sqrt") ? jx_sqrt(x) : IS("rsqrt") ? jx_rsqrt(x) : IS("abs") ? jx_abs(x) : IS("relu") ? jx_relu(x)
           : IS("square") ? jx_square(x) : IS("neg") ? jx_neg(x) : IS("sign") ? jx_sign(x) : jx_floor(x);
#undef IS
}

static long ncases, nflush;
static double worst[2];

/* jx's value of op (order 0..2) at x in dtype t (through jt_eval: the jit too under
 * JX_TEST_JIT=1). */
static double jx_value(const char *op, jx_dtype t, int order, double x) {
    jx_aval a = JX_SCALAR(t);
    jx_fn *f = jx_trace("f", body, (void *)op, 1, &a, 1), *g = NULL;
    for (int k = 0; f && k < order; k++) {
        g = jx_grad(f, JX_NOINTS);
        jx_fn_release(f);
        f = g;
    }
    double v = NAN;
    jx_array *in = jx_array_scalar(t, x), *y = NULL;
    if (f && jt_eval(f, 1, &in, 1, &y) == JX_OK) v = jx_array_get(y, 0);
    else fprintf(stderr, "\n  %s order %d: %s\n", op, order, jx_errmsg());
    jx_array_release(y);
    jx_array_release(in);
    jx_fn_release(f);
    return v;
}

static void test_elementwise(void) {
    char in_path[] = "/tmp/jx-jaxref-XXXXXX";
    int fd = mkstemp(in_path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *in = fdopen(fd, "w");
    for (int d = 0; d < 2; d++)
        for (int o = 0; o < NOPS; o++) {
            fprintf(in, "%s %s", ops[o], d ? "f64" : "f32");
            for (int i = 0; i < NX; i++) fprintf(in, " %a", d ? xs[i] : (double)(float)xs[i]);
            fprintf(in, "\n");
        }
    fclose(in);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 jaxref/jaxref.py < %s 2>/dev/null", in_path);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int d = 0; d < 2; d++)
        for (int o = 0; o < NOPS; o++)
            for (int order = 0; order < 3; order++)
                for (int i = 0; i < NX; i++) {
                    double want, got, x = d ? xs[i] : (double)(float)xs[i];
                    char tok[64];
                    CU_ASSERT_FATAL(fscanf(p, "%63s", tok) == 1);
                    want = strtod(tok, NULL);
                    got = jx_value(ops[o], d ? JX_F64 : JX_F32, order, x);
                    if (!JX__FPENV_CAN_FLUSH && x != 0 && fabs(x) < (d ? DBL_MIN : FLT_MIN)) {
                        nflush++; /* JAX (XLA's CPU) flushes subnormals; jx cannot here */
                        continue;
                    }
                    if (order == 1 && isnan(x) && strcmp(ops[o], "relu") == 0) { /* docs/derivatives.md */
                        CU_ASSERT_EQUAL(got, 1.0); /* jx: the select takes x's side; JAX: 0 */
                        continue;
                    }
                    double tol = d ? 1e-12 : 2e-6, scale = fabs(want) > 1 ? fabs(want) : 1;
                    double err = isnan(want) || isnan(got) ? (isnan(want) && isnan(got) ? 0 : INFINITY)
                               : want == got ? 0 : fabs(got - want) / scale;
                    ncases++;
                    if (err > worst[d]) worst[d] = err;
                    if (!(err <= tol))
                        fprintf(stderr, "\n  %s %s order %d at %g: jx %.17g, JAX %.17g\n", ops[o], d ? "f64" : "f32",
                                order, x, got, want);
                    CU_ASSERT(err <= tol);
                }
    CU_ASSERT_EQUAL(pclose(p), 0);
    unlink(in_path);
    printf("\n  %ld cases compared (%d ops x 2 dtypes x 3 orders x %d values, less %ld subnormals skipped and relu'(NaN));"
           " worst f32 %.3g, f64 %.3g\n", ncases, NOPS, NX, nflush, worst[0], worst[1]);
}

int main(void) {
    if (system("python3 -c 'import jax' >/dev/null 2>&1") != 0) {
        printf("jaxref: python3 cannot import jax: skipped\n");
        return 77;
    }
    CU_TestInfo tests[] = {
        {"elementwise ops and two derivatives against JAX", test_elementwise},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jaxref", tests);
}
