/* test_nn_compose.c: the layers compose with the transformations like any op: the
 * gradients of a small CNN's loss (conv, batch norm, pooling, dropout, dense, CE) compiled
 * by the jit equal the interpreter's, and vmap of a layer's per-example gradient equals
 * a loop over the examples. */
#include <stdlib.h>

#include <jx/layers.h>
#include <jx/losses.h>

#include "gradcheck.h"

/* in: x (4,8,8,2), labels i32 (4), key u32[2], w1 (3,3,2,4), b1 (4), scale (4), bias (4),
 * mean (4), var (4), w2 (64,3), b2 (3); out: loss, new_mean. */
static void cnn_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = jx_relu(jx_nn_conv2d(in[0], in[3], in[4], &same));
    h = jx_nn_batch_norm_train(h, in[5], in[6], in[7], in[8], 0.9, 1e-5, &out[1], NULL);
    h = jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID);
    h = jx_nn_dropout(h, 0.25, in[2]);
    jx_val logits = jx_nn_dense(jx_reshape(h, JX_INTS(4, 64)), in[9], in[10]);
    out[0] = jx_mean(jx_loss_softmax_ce_int(logits, in[1], JX_LOSS_NO_IGNORE), JX_NOINTS);
}

static void test_cnn_jit(void) {
    uint64_t seed = 3;
    jx_array *in[11] = {
        jt_random(JX_INTS(4, 8, 8, 2), -1, 1, &seed),
        jt_array(JX_I32, JX_INTS(4), (double[]){0, 2, 1, 2}),
        jt_array(JX_U32, JX_INTS(2), (double[]){0, 42}),
        jt_random(JX_INTS(3, 3, 2, 4), -0.5, 0.5, &seed),
        jt_random(JX_INTS(4), -0.1, 0.1, &seed),
        jt_random(JX_INTS(4), 0.5, 1.5, &seed),
        jt_random(JX_INTS(4), -0.1, 0.1, &seed),
        jx_array_zeros(JX_F64, JX_INTS(4)),
        jx_array_ones(JX_F64, JX_INTS(4)),
        jt_random(JX_INTS(64, 3), -0.2, 0.2, &seed),
        jt_random(JX_INTS(3), -0.1, 0.1, &seed),
    };
    /* f32, as a training step would run */
    for (int i = 0; i < 11; i++)
        if (jx_array_dtype(in[i]) == JX_F64) {
            jx_array *c = jx_array_astype(in[i], JX_F32);
            jx_array_release(in[i]);
            in[i] = c;
        }
    jx_aval av[11];
    for (int i = 0; i < 11; i++) av[i] = jx_array_aval(in[i]);
    jx_fn *f = jx_trace("cnn", cnn_loss, NULL, 11, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *vg = jx_value_and_grad(f, JX_INTS(3, 4, 5, 6, 9, 10));
    CU_ASSERT_PTR_NOT_NULL_FATAL(vg);
    enum { NOUT = 8 };
    jx_array *want[NOUT] = {0}, *got[NOUT] = {0};
    CU_ASSERT_EQUAL_FATAL(jx_eval(vg, 11, in, NOUT, want), JX_OK);
    jx_exec *x = jx_jit(vg, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 11, in, NOUT, got), JX_OK);
    double loss = jx_array_get(want[0], 0);
    CU_ASSERT(isfinite(loss) && loss > 0);
    /* the running mean moved from 0 by 0.1 of the (post-relu, positive) batch mean */
    CU_ASSERT(jx_array_get(want[1], 0) > 0);
    for (int k = 0; k < NOUT; k++) {
        int64_t n = jx_array_size(want[k]);
        double *w = malloc((size_t)n * sizeof *w);
        for (int64_t i = 0; i < n; i++) w[i] = jx_array_get(want[k], i);
        JT_ASSERT_ARRAY(got[k], w, n, 2e-5);
        free(w);
        jx_array_release(want[k]);
        jx_array_release(got[k]);
    }
    jx_exec_release(x);
    jx_fn_release(vg);
    jx_fn_release(f);
    for (int i = 0; i < 11; i++) jx_array_release(in[i]);
}

/* per-example loss of a dense + layer norm model: x (5), y (3), w (5,3), b (3) */
static void example_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_nn_dense(jx_reshape(in[0], JX_INTS(1, 5)), in[2], in[3]);
    h = jx_nn_layer_norm(h, JX_NONE, JX_NONE, 1e-6);
    out[0] = jx_reduce_sum(jx_loss_huber(jx_reshape(h, JX_INTS(3)), in[1], 1.0), JX_NOINTS);
}

static void test_vmap_per_example(void) {
    uint64_t seed = 5;
    jx_array *x = jt_random(JX_INTS(6, 5), -1, 1, &seed), *y = jt_random(JX_INTS(6, 3), -1, 1, &seed);
    jx_array *w = jt_random(JX_INTS(5, 3), -1, 1, &seed), *b = jt_random(JX_INTS(3), -1, 1, &seed);
    jx_aval av[4] = {JX_AVAL(JX_F64, 5), JX_AVAL(JX_F64, 3), jx_array_aval(w), jx_array_aval(b)};
    jx_fn *f = jx_trace("ex", example_loss, NULL, 4, av, 1);
    jx_fn *g = f ? jx_grad(f, JX_INTS(2)) : NULL;
    jx_fn *vg = g ? jx_vmap(g, JX_INTS(0, 0, JX_NOT_MAPPED, JX_NOT_MAPPED), JX_NOINTS, 6) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(vg);
    jx_array *in[4] = {x, y, w, b}, *all = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(vg, 4, in, 1, &all), JX_OK);
    for (int e = 0; e < 6; e++) {
        jx_array *xe = jx_array_new(JX_F64, JX_INTS(5), (const double *)jx_array_data(x) + 5 * e);
        jx_array *ye = jx_array_new(JX_F64, JX_INTS(3), (const double *)jx_array_data(y) + 3 * e);
        jx_array *ine[4] = {xe, ye, w, b}, *ge = NULL;
        CU_ASSERT_EQUAL_FATAL(jx_eval(g, 4, ine, 1, &ge), JX_OK);
        double want[15];
        for (int i = 0; i < 15; i++) want[i] = jx_array_get(ge, i);
        jx_array *slice = jx_array_new(JX_F64, JX_INTS(5, 3), (const double *)jx_array_data(all) + 15 * e);
        JT_ASSERT_ARRAY(slice, want, 15, 1e-12);
        jx_array_release(slice);
        jx_array_release(ge);
        jx_array_release(xe);
        jx_array_release(ye);
    }
    jx_array_release(all);
    jx_fn_release(vg);
    jx_fn_release(g);
    jx_fn_release(f);
    jx_array_release(x);
    jx_array_release(y);
    jx_array_release(w);
    jx_array_release(b);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"a CNN's loss and gradients: jit equals the interpreter", test_cnn_jit},
        {"vmap of a per-example gradient equals a loop", test_vmap_per_example},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn with jit and vmap", tests);
}
