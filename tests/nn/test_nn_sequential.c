/* test_nn_sequential.c: a sequential model's init infers every layer's parameter shapes
 * from the input's aval, and its apply gives the same bits as the same layers called by
 * hand (evaluation and training with dropout, whose key is fold_in(key, layer index));
 * a layer of one's own plugs in; bad models get errors naming the layer. */
#include <math.h>
#include <string.h>

#include <jx/nn.h>

#include "harness.h"

/* conv(4, 3x3 SAME) relu maxpool2 flatten dense1(8) layernorm gelu dropout(0.5) out(3) */
static jx_nn_layer model[9];
static void make_model(void) {
    jx_nn_layer m[9] = {jx_nn_seq_conv2d("conv", 4, 3, 3, JX_NN_PAD_SAME),
                        jx_nn_seq_relu(),
                        jx_nn_seq_max_pool(2, 2),
                        jx_nn_seq_flatten(),
                        jx_nn_seq_dense("dense1", 8),
                        jx_nn_seq_layer_norm("ln"),
                        jx_nn_seq_gelu(),
                        jx_nn_seq_dropout(0.5),
                        jx_nn_seq_dense("out", 3)};
    memcpy(model, m, sizeof m);
}

enum { NLEAF = 8 }; /* conv.{w,b} dense1.{w,b} ln.{scale,bias} out.{w,b} */
static const char *const paths[NLEAF] = {"conv.w", "conv.b", "dense1.w", "dense1.b", "ln.scale", "ln.bias", "out.w", "out.b"};

/* in: x (2,8,8,2), key u32[2], the 8 leaves. out: sequential, by hand (training when
 * *user is 1). */
static void both_body(jx_val *out, const jx_val *in, void *user) {
    int train = *(int *)user;
    jx_tree *p = jx_tree_dict();
    for (int i = 0; i < NLEAF; i++) jx_tree_set_val(p, paths[i], in[2 + i]);
    jx_val key = train ? in[1] : JX_NONE;
    out[0] = jx_nn_sequential_apply(model, 9, p, in[0], key);
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val h = jx_relu(jx_nn_conv2d(in[0], in[2], in[3], &same));
    h = jx_reshape(jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID), JX_INTS(2, -1));
    h = jx_gelu(jx_nn_layer_norm(jx_nn_dense(h, in[4], in[5]), in[6], in[7], 1e-6));
    if (train) h = jx_nn_dropout(h, 0.5, jx_random_fold_in(in[1], jx_scalar(JX_U32, 7)));
    out[1] = jx_nn_dense(h, in[8], in[9]);
    jx_tree_free(p);
}

static void test_init_and_apply(void) {
    make_model();
    jx_array *key = jx_random_key_new(3);
    jx_tree *params = jx_nn_sequential_init(model, 9, JX_AVAL(JX_F32, 1, 8, 8, 2), key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(params);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(params), NLEAF);
    /* conv 3*3*2*4+4, dense1 64*8+8, ln 8+8, out 8*3+3 */
    CU_ASSERT_EQUAL(jx_tree_num_params(params), 76 + 520 + 16 + 27);
    static const int64_t shapes[NLEAF][4] = {{3, 3, 2, 4}, {4}, {64, 8}, {8}, {8}, {8}, {8, 3}, {3}};
    static const int ranks[NLEAF] = {4, 1, 2, 1, 1, 1, 2, 1};
    jx_array *in[2 + NLEAF];
    jx_array *x32 = jx_array_zeros(JX_F32, JX_INTS(2, 8, 8, 2));
    for (int64_t i = 0; i < 256; i++) ((float *)jx_array_data_mut(x32))[i] = (float)sin(0.37 * (double)i);
    in[0] = x32;
    in[1] = key;
    for (int i = 0; i < NLEAF; i++) {
        jx_array *a = jx_tree_get_array(params, paths[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(jx_array_rank(a), ranks[i]);
        for (int d = 0; d < ranks[i]; d++) CU_ASSERT_EQUAL(jx_array_shape(a)[d], shapes[i][d]);
        in[2 + i] = a;
    }
    /* the kernels are drawn (not zero), the norm's scale is ones */
    CU_ASSERT(jx_array_get(in[2], 0) != 0 && jx_array_get(in[6], 0) == 1.0);
    jx_aval av[2 + NLEAF];
    for (int i = 0; i < 2 + NLEAF; i++) av[i] = jx_array_aval(in[i]);
    for (int train = 0; train < 2; train++) {
        jx_fn *f = jx_trace("both", both_body, &train, 2 + NLEAF, av, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_array *y[2] = {0};
        CU_ASSERT_EQUAL_FATAL(jx_eval(f, 2 + NLEAF, in, 2, y), JX_OK);
        CU_ASSERT_EQUAL(jx_array_shape(y[0])[0], 2);
        CU_ASSERT_EQUAL(jx_array_shape(y[0])[1], 3);
        CU_ASSERT_EQUAL(memcmp(jx_array_data(y[0]), jx_array_data(y[1]), 6 * sizeof(float)), 0);
        jx_array_release(y[0]), jx_array_release(y[1]);
        jx_fn_release(f);
    }
    jx_array_release(x32);
    jx_array_release(key);
    jx_tree_free(params);
}

/* A layer of one's own: y = x * s with a parameter s of the input's last dim. */
static int scale_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    (void)l;
    s[0] = (jx_nn_param_spec){"s", jx_aval_make(in->dtype, JX_INTS(in->shape[in->rank - 1])), JX_NN_INIT_ONES,
                              1, 1, 0};
    return 1;
}
static jx_val scale_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, jx_val key) {
    (void)l, (void)key;
    return jx_mul_at(loc, x, jx_tree_get_val_at(loc, p, "s"));
}

static void test_custom_layer(void) {
    jx_nn_layer m[2] = {jx_nn_seq_dense("d", 5), {.name = "mine", .params = scale_params, .apply = scale_apply}};
    jx_array *key = jx_random_key_new(0);
    jx_tree *p = jx_nn_sequential_init(m, 2, JX_AVAL(JX_F32, 4, 3), key);
    if (!p) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    jx_array *s = jx_tree_get_array(p, "mine.s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(jx_array_shape(s)[0], 5);
    CU_ASSERT_EQUAL(jx_array_get(s, 4), 1.0);
    CU_ASSERT_EQUAL(jx_array_dtype(s), JX_F32);
    jx_tree_free(p);
    jx_array_release(key);
}

static void test_errors(void) {
    jx_array *key = jx_random_key_new(0);
    jx_nn_layer dup[3] = {jx_nn_seq_dense("d", 5), jx_nn_seq_relu(), jx_nn_seq_dense("d", 2)};
    CU_ASSERT_PTR_NULL(jx_nn_sequential_init(dup, 3, JX_AVAL(JX_F32, 1, 3), key));
    JT_ASSERT_ERR("sequential_init: layer 2 has parameters and the duplicate name d");
    jx_nn_layer noname[1] = {jx_nn_seq_dense(NULL, 5)};
    CU_ASSERT_PTR_NULL(jx_nn_sequential_init(noname, 1, JX_AVAL(JX_F32, 1, 3), key));
    JT_ASSERT_ERR("sequential_init: layer 0 has parameters and no name");
    /* a conv on a rank-2 input: the layer's own error, under the layer's name */
    jx_nn_layer conv[1] = {jx_nn_seq_conv2d("c", 4, 3, 3, JX_NN_PAD_VALID)};
    CU_ASSERT_PTR_NULL(jx_nn_sequential_init(conv, 1, JX_AVAL(JX_F32, 2, 3), key));
    JT_ASSERT_ERR("conv2d");
    CU_ASSERT_PTR_NULL(jx_nn_sequential_init(conv, 1, JX_AVAL(JX_I32, 2, 3), key));
    JT_ASSERT_ERR("sequential_init: the input must be f32 or f64, not i32");
    jx_array_release(key);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"init infers shapes; apply equals the layers by hand", test_init_and_apply},
        {"a layer of one's own", test_custom_layer},
        {"duplicate and missing names, a layer that does not fit", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn sequential", tests);
}
