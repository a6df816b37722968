/* test_grad_fori.c: derivatives through jx_fori_loop: jvp against finite differences,
 * vjp against jvp, and reverse-mode gradients equal to those of the unrolled loop. */
#include <stdint.h>

#include "gradcheck.h"

typedef struct loop_cfg {
    int64_t lo, hi;
    int unroll; /* write the loop out in C instead */
} loop_cfg;

/* x_{k+1} = sin(x_k) * w + i, the counter entering as a value. */
static void step(jx_val *out, const jx_val *in, void *u) {
    const jx_val *w = u;
    out[0] = jx_add(jx_mul(jx_sin(in[1]), *w), jx_convert(in[0], JX_F64));
}

/* (x, w) -> sum(x_final^2) and x_final. */
static void loop_body(jx_val *out, const jx_val *in, void *u) {
    const loop_cfg *c = u;
    jx_val w = in[1], x = in[0];
    if (c->unroll) {
        for (int64_t i = c->lo; i < c->hi; i++) {
            jx_val ins[2] = {jx_scalar(JX_I32, (double)i), x};
            step(&x, ins, &w);
        }
    } else {
        jx_fori_loop(c->lo, c->hi, step, &w, 1, &in[0], &x);
    }
    out[0] = jx_reduce_sum(jx_mul(x, x), JX_NOINTS);
    out[1] = x;
}

static jx_aval avs[2];
static void init_avals(void) { avs[0] = avs[1] = JX_AVAL(JX_F64, 3, 4); }

/* jvp and vjp checks on the loop's outputs, both of them (jt_check_grads takes one). */
static void scalar_out(jx_val *out, const jx_val *in, void *u) {
    jx_val o[2];
    loop_body(o, in, u);
    out[0] = o[0];
}
static void array_out(jx_val *out, const jx_val *in, void *u) {
    jx_val o[2];
    loop_body(o, in, u);
    out[0] = o[1];
}

static void test_check_grads(void) {
    loop_cfg cs[] = {{0, 5, 0}, {-2, 3, 0}, {3, 3, 0}, {4, 1, 0}, {7, 8, 0}};
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        CU_ASSERT(jt_check_grads("fori scalar", scalar_out, &cs[k], 2, avs, -1, 1, 1e-6));
        CU_ASSERT(jt_check_grads("fori array", array_out, &cs[k], 2, avs, -1, 1, 1e-6));
    }
}

/* grad over both inputs of fori and of the unrolled loop, evaluated at the same x, w. */
static void grads(loop_cfg c, jx_array *const *x, jx_array **g) {
    jx_fn *f = jx_trace("loss", scalar_out, &c, 2, avs, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *gf = jx_grad(f, JX_INTS(0, 1));
    if (!gf) fprintf(stderr, "\n  grad failed: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(gf);
    CU_ASSERT_EQUAL(jt_eval(gf, 2, x, 2, g), JX_OK);
    jx_fn_release(gf);
    jx_fn_release(f);
}

static void test_matches_unrolled(void) {
    loop_cfg cs[] = {{0, 6, 0}, {-3, 2, 0}, {2, 2, 0}};
    uint64_t seed = 5;
    jx_ints s = JX_INTS(3, 4);
    jx_array *x[2] = {jt_random(s, -1, 1, &seed), jt_random(s, -1, 1, &seed)};
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        jx_array *gl[2] = {NULL, NULL}, *gu[2] = {NULL, NULL};
        grads(cs[k], x, gl);
        cs[k].unroll = 1;
        grads(cs[k], x, gu);
        for (int i = 0; i < 2; i++) {
            const double *u = jx_array_data(gu[i]);
            JT_ASSERT_ARRAY(gl[i], u, 12, 1e-12);
            jx_array_release(gl[i]);
            jx_array_release(gu[i]);
        }
    }
    jx_array_release(x[0]);
    jx_array_release(x[1]);
}

/* With no trips the loss is sum(x^2): its gradient is 2x, and w gets zero. */
static void test_zero_trip_grad(void) {
    uint64_t seed = 9;
    jx_ints s = JX_INTS(3, 4);
    jx_array *x[2] = {jt_random(s, -1, 1, &seed), jt_random(s, -1, 1, &seed)}, *g[2] = {NULL, NULL};
    grads((loop_cfg){5, 2, 0}, x, g);
    const double *xv = jx_array_data(x[0]);
    double want[12], zero[12] = {0};
    for (int i = 0; i < 12; i++) want[i] = 2 * xv[i];
    JT_ASSERT_ARRAY(g[0], want, 12, 0);
    JT_ASSERT_ARRAY(g[1], zero, 12, 0);
    for (int i = 0; i < 2; i++) {
        jx_array_release(g[i]);
        jx_array_release(x[i]);
    }
}

/* Second order: the gradient function itself checks out (a hessian-vector check). */
typedef struct grad_user {
    jx_fn *g;
} grad_user;
static void grad_body(jx_val *out, const jx_val *in, void *u) {
    const grad_user *gu = u;
    jx_call(gu->g, 2, in, 1, out);
}

static void test_second_order(void) {
    loop_cfg c = {0, 4, 0};
    jx_fn *f = jx_trace("loss", scalar_out, &c, 2, avs, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    grad_user gu = {jx_grad(f, JX_NOINTS)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(gu.g);
    CU_ASSERT(jt_check_grads("grad of fori", grad_body, &gu, 2, avs, -1, 1, 1e-6));
    jx_fn_release(gu.g);
    jx_fn_release(f);
}

int main(void) {
    init_avals();
    CU_TestInfo tests[] = {
        {"jvp and vjp through fori_loop", test_check_grads},
        {"gradient equals the unrolled loop's", test_matches_unrolled},
        {"zero trips: gradient of the identity", test_zero_trip_grad},
        {"grad of grad through fori_loop", test_second_order},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad fori_loop", tests);
}
