/* test_special.c: the unary ops added to match lax (erf, erfc, lgamma, digamma, tan,
 * asin, acos, atan, sinh, cosh, asinh, acosh, atanh), is_finite and the exact gelu:
 * values and first derivatives at edge inputs (0, -0, domain edges, +-inf, NaN, large
 * and tiny magnitudes) against JAX in f64 and f32 (ref/special_ref.h, made by
 * ref/special_ref.py), jvp and vjp against finite differences in f64, second derivatives
 * of lgamma through digamma's rule, and vmap against a loop. */
#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/special_ref.h"

typedef jx_val (*unop)(jx_loc, jx_val);

#define REFS(n) n##_f64_y, n##_f64_dy, n##_f32_y, n##_f32_dy
static const struct {
    const char *name;
    unop op;
    const double *y64, *dy64, *y32, *dy32;
    double lo, hi; /* a range inside the domain, for finite differences */
} ops[] = {
    {"erf", jx_erf_at, REFS(erf), -3, 3},
    {"erfc", jx_erfc_at, REFS(erfc), -3, 3},
    {"lgamma", jx_lgamma_at, REFS(lgamma), 0.1, 6},
    {"digamma", jx_digamma_at, REFS(digamma), 0.1, 6},
    {"tan", jx_tan_at, REFS(tan), -1.4, 1.4},
    {"asin", jx_asin_at, REFS(asin), -0.9, 0.9},
    {"acos", jx_acos_at, REFS(acos), -0.9, 0.9},
    {"atan", jx_atan_at, REFS(atan), -5, 5},
    {"sinh", jx_sinh_at, REFS(sinh), -4, 4},
    {"cosh", jx_cosh_at, REFS(cosh), -4, 4},
    {"asinh", jx_asinh_at, REFS(asinh), -5, 5},
    {"acosh", jx_acosh_at, REFS(acosh), 1.1, 6},
    {"atanh", jx_atanh_at, REFS(atanh), -0.9, 0.9},
    {"gelu_exact", jx_gelu_exact_at, REFS(gelu_exact), -4, 4},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))

static void un_body(jx_val *out, const jx_val *in, void *user) {
    unop op = *(const unop *)user;
    out[0] = op(JX_HERE, in[0]);
}

/* sum(op(x)): its gradient is op' elementwise */
static void sum_body(jx_val *out, const jx_val *in, void *user) {
    unop op = *(const unop *)user;
    out[0] = jx_reduce_sum(op(JX_HERE, in[0]), JX_NOINTS);
}

static jx_array *inputs(jx_dtype t) { return jt_array(t, JX_INTS(SPECIAL_NX), special_x); }

/* Where jx deliberately differs from JAX: digamma's derivative (trigamma) at +inf is its
 * limit 0 (JAX gives NaN). */
static void known_differences(const char *name, double *want) {
    if (strcmp(name, "digamma") == 0)
        for (int i = 0; i < SPECIAL_NX; i++)
            if (special_x[i] == INFINITY) want[i] = 0;
}

static void test_values_vs_jax(void) {
    for (int k = 0; k < NOPS; k++)
        for (int f = 0; f < 2; f++) {
            jx_dtype t = f ? JX_F32 : JX_F64;
            jx_array *in[1] = {inputs(t)};
            jx_array *y = jt_eval1(un_body, (void *)&ops[k].op, 1, in);
            CU_ASSERT_PTR_NOT_NULL_FATAL(y);
            double tol = f ? 2e-6 : 1e-13, err = jt_max_err(y, f ? ops[k].y32 : ops[k].y64, SPECIAL_NX);
            if (!(err <= tol)) fprintf(stderr, "\n  %s %s: error %g", ops[k].name, jx_dtype_name(t), err);
            CU_ASSERT(err <= tol);
            jx_array_release(y);
        }
}

static void test_derivatives_vs_jax(void) {
    for (int k = 0; k < NOPS; k++)
        for (int f = 0; f < 2; f++) {
            jx_dtype t = f ? JX_F32 : JX_F64;
            jx_aval av = JX_AVAL(t, SPECIAL_NX);
            jx_fn *s = jt_trace_or_say(ops[k].name, sum_body, (void *)&ops[k].op, 1, &av, 1);
            jx_fn *g = s ? jx_grad(s, JX_NOINTS) : NULL;
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            jx_array *in = inputs(t), *dy = NULL;
            CU_ASSERT_EQUAL_FATAL(jt_eval(g, 1, &in, 1, &dy), JX_OK);
            double want[SPECIAL_NX];
            memcpy(want, f ? ops[k].dy32 : ops[k].dy64, sizeof want);
            known_differences(ops[k].name, want);
            double tol = f ? 1e-5 : 1e-12, err = jt_max_err(dy, want, SPECIAL_NX);
            if (!(err <= tol)) {
                fprintf(stderr, "\n  %s' %s: error %g:", ops[k].name, jx_dtype_name(t), err);
                for (int i = 0; i < SPECIAL_NX; i++)
                    fprintf(stderr, " [%g] %.17g/%.17g", special_x[i], jx_array_get(dy, i), want[i]);
            }
            CU_ASSERT(err <= tol);
            jx_array_release(in);
            jx_array_release(dy);
            jx_fn_release(g);
            jx_fn_release(s);
        }
}

static void finite_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_is_finite(in[0]);
}

static void test_is_finite(void) {
    for (int f = 0; f < 2; f++) {
        jx_array *in[1] = {inputs(f ? JX_F32 : JX_F64)};
        jx_array *y = jt_eval1(finite_body, NULL, 1, in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        CU_ASSERT_EQUAL(jx_array_dtype(y), JX_BOOL);
        JT_ASSERT_ARRAY(y, f ? is_finite_f32 : is_finite_f64, SPECIAL_NX, 0);
        jx_array_release(y);
    }
    /* an integer operand is an error naming the op */
    jx_aval av = JX_AVAL(JX_I32, 3);
    jx_fn *fn = jx_trace("fin", finite_body, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NULL(fn);
    JT_ASSERT_ERR("is_finite: wants f32 or f64, got i32[3]");
}

/* jvp against finite differences and vjp against jvp, f64, inside each domain; lgamma and
 * digamma also to second order (digamma's rule, then trigamma's composite). */
static void test_grads_fd(void) {
    jx_aval av = JX_AVAL(JX_F64, 7);
    for (int k = 0; k < NOPS; k++)
        CU_ASSERT(jt_check_grads(ops[k].name, un_body, (void *)&ops[k].op, 1, &av, ops[k].lo, ops[k].hi, 1e-6));
    for (int k = 2; k <= 3; k++) { /* lgamma, digamma: grad of grad */
        jx_aval s = JX_AVAL(JX_F64, 5);
        jx_fn *f = jt_trace_or_say(ops[k].name, sum_body, (void *)&ops[k].op, 1, &s, 1);
        jx_fn *g = f ? jx_grad(f, JX_NOINTS) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        uint64_t seed = 7;
        jx_array *x = jt_random(JX_INTS(5), 0.3, 5, &seed);
        CU_ASSERT(jt_jvp_error(g, &x, 1e-6, 3) < 1e-6);
        jx_array_release(x);
        /* and on negative non-integers, where digamma and trigamma reflect */
        seed = 9;
        x = jt_random(JX_INTS(5), -4.9, -4.1, &seed);
        CU_ASSERT(jt_jvp_error(g, &x, 1e-7, 3) < 1e-5);
        jx_array_release(x);
        jx_fn_release(g);
        jx_fn_release(f);
    }
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = in->lo + (in->hi - in->lo) * (0.5 + 0.45 * sin(1.3 * (double)i));
}

static void test_vmap(void) {
    for (int k = 0; k < NOPS; k++) {
        jt_vinput in = {JX_AVAL(JX_F64, 4, 3), 1, ops[k].lo, ops[k].hi};
        CU_ASSERT(jt_check_vmap_avals(ops[k].name, un_body, (void *)&ops[k].op, 1, &in, 1, 3, vfill, 1e-14, NULL));
    }
    jt_vinput in = {JX_AVAL(JX_F32, 5), 0, -2, 2};
    CU_ASSERT(jt_check_vmap_avals("is_finite", finite_body, NULL, 1, &in, 1, 3, vfill, 0, NULL));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"values vs JAX at edge inputs", test_values_vs_jax},
        {"derivatives vs JAX at edge inputs", test_derivatives_vs_jax},
        {"is_finite", test_is_finite},
        {"jvp/vjp vs finite differences, second order", test_grads_fd},
        {"vmap vs a loop", test_vmap},
        CU_TEST_INFO_NULL,
    };
    return jt_run("special", tests);
}
