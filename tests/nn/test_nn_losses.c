/* test_nn_losses.c: the losses far beyond the reference file's +-1000: at logits of
 * +-1e4 and +-1e30 in f32 every value and gradient is finite and equals its closed form
 * (a wrong formulation, log(softmax) or log(sigmoid), gives inf or NaN there). */
#include <jx/losses.h>

#include "harness.h"

/* value and gradient with respect to input 0 of sum(loss(in[0], in[1])) */
typedef jx_val (*loss_fn)(jx_val logits, jx_val labels);

static jx_val ce_int(jx_val l, jx_val y) { return jx_loss_softmax_ce_int(l, y, JX_LOSS_NO_IGNORE); }
static jx_val ce_soft(jx_val l, jx_val y) { return jx_loss_softmax_ce(l, y); }
static jx_val bce(jx_val l, jx_val y) { return jx_loss_sigmoid_bce(l, y); }
static jx_val dice(jx_val l, jx_val y) { return jx_loss_dice(l, y, 0, 1.0); }

static void sum_body(jx_val *out, const jx_val *in, void *user) {
    loss_fn f = *(loss_fn *)user;
    out[0] = jx_reduce_sum(f(in[0], in[1]), JX_NOINTS);
}

/* Checks sum(loss) == want and its gradient == grad (n logits). */
static void check(loss_fn f, jx_array *logits, jx_array *labels, double want, const double *grad) {
    jx_aval av[2] = {jx_array_aval(logits), jx_array_aval(labels)};
    jx_fn *fn = jx_trace("loss", sum_body, &f, 2, av, 1);
    jx_fn *vg = fn ? jx_value_and_grad(fn, JX_NOINTS) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(vg);
    jx_array *in[2] = {logits, labels}, *out[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jx_eval(vg, 2, in, 2, out), JX_OK);
    double v = jx_array_get(out[0], 0);
    if (!(fabs(v - want) <= 1e-6 * fmax(1, fabs(want)))) fprintf(stderr, "\n  loss %.9g, want %.9g\n", v, want);
    CU_ASSERT(fabs(v - want) <= 1e-6 * fmax(1, fabs(want)));
    JT_ASSERT_ARRAY(out[1], grad, jx_array_size(logits), 1e-6);
    jx_array_release(out[0]);
    jx_array_release(out[1]);
    jx_array_release(logits);
    jx_array_release(labels);
    jx_fn_release(vg);
    jx_fn_release(fn);
}

static void test_ce_extreme(void) {
    for (double big = 1e4; big <= 1e30; big *= 1e26) {
        /* rows: the label holds the max (loss 0), the label holds -big against +big (2 big) */
        jx_array *l = jt_array(JX_F32, JX_INTS(2, 3), (double[]){big, -big, 0, -big, big, 0});
        jx_array *y = jt_array(JX_I32, JX_INTS(2), (double[]){0, 0});
        double g[6] = {0, 0, 0, -1, 1, 0}; /* softmax - onehot */
        check(ce_int, l, y, 2 * (double)(float)big, g);
        /* the same with one-hot targets */
        l = jt_array(JX_F32, JX_INTS(2, 3), (double[]){big, -big, 0, -big, big, 0});
        jx_array *t = jt_array(JX_F32, JX_INTS(2, 3), (double[]){1, 0, 0, 1, 0, 0});
        check(ce_soft, l, t, 2 * (double)(float)big, g);
    }
}

static void test_bce_extreme(void) {
    double big = 1e30;
    /* right with certainty: 0; wrong with certainty: big; gradient sigmoid(x) - y */
    jx_array *l = jt_array(JX_F32, JX_INTS(4), (double[]){big, -big, big, -big});
    jx_array *y = jt_array(JX_F32, JX_INTS(4), (double[]){1, 0, 0, 1});
    double g[4] = {0, 0, 1, -1};
    check(bce, l, y, 2 * (double)(float)big, g);
}

static void test_dice_extreme(void) {
    /* one sample, two positions, two classes, saturated softmax matching the targets:
     * dice = 1 - (2*1 + 1)/(1 + 1 + 1) = 0 for both classes; the gradient vanishes. */
    jx_array *l = jt_array(JX_F32, JX_INTS(1, 2, 2), (double[]){1e4, -1e4, -1e4, 1e4});
    jx_array *t = jt_array(JX_F32, JX_INTS(1, 2, 2), (double[]){1, 0, 0, 1});
    double g[4] = {0, 0, 0, 0};
    check(dice, l, t, 0, g);
}

static void softplus_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_reduce_sum(jx_softplus(in[0]), JX_NOINTS);
}

/* jax.nn.softplus at the infinities: values inf and 0, derivatives 1 and 0 (JAX's jvp
 * reads +inf as 0 in exp(x - out)); NaN passes through; the gradient under vmap is the
 * same per row. */
static void test_softplus_inf(void) {
    jx_array *x = jt_array(JX_F32, JX_INTS(2, 3), (double[]){INFINITY, -INFINITY, NAN, 1e30, -1e30, 0});
    jx_aval row = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("softplus", softplus_body, NULL, 1, &row, 1);
    jx_fn *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    jx_fn *vg = g ? jx_vmap(g, JX_NOINTS, JX_NOINTS, 2) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(vg);
    jx_array *out = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(vg, 1, &x, 1, &out), JX_OK);
    const float *d = jx_array_data(out);
    CU_ASSERT(d[0] == 1.0f && d[1] == 0.0f && isnan(d[2]) && d[3] == 1.0f && d[4] == 0.0f && d[5] == 0.5f);
    jx_array_release(out);
    jx_fn_release(vg), jx_fn_release(g), jx_fn_release(f);
    /* values, elementwise */
    jx_fn *v = jx_trace("softplus", softplus_body, NULL, 1, &row, 1);
    jx_array *r0 = jt_array(JX_F32, JX_INTS(3), (double[]){-INFINITY, -1e30, 1e30}), *y = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(v, 1, &r0, 1, &y), JX_OK);
    CU_ASSERT_EQUAL(jx_array_get(y, 0), (double)1e30f);
    jx_array_release(y), jx_array_release(r0), jx_array_release(x);
    jx_fn_release(v);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"softmax cross-entropies at +-1e4 and +-1e30", test_ce_extreme},
        {"sigmoid BCE at +-1e30", test_bce_extreme},
        {"dice on saturated logits", test_dice_extreme},
        {"softplus at +-inf and NaN, its gradient under vmap", test_softplus_inf},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn losses at extreme logits", tests);
}
