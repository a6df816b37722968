/* test_nn_sequential.c: jx_seq built from a table of layers: init infers every layer's
 * parameter shapes from the input's aval, and apply gives the same bits as the same
 * layers called by hand (evaluation and training with dropout, whose key is
 * fold_in(key, layer index)); unnamed layers are named by kind; batch norm keeps its
 * statistics apart; a layer of one's own plugs in; bad models get errors naming the
 * layer. The editing used by surgery (insert, slice) is tested in test_surgery.c. */
#include <math.h>
#include <string.h>

#include <jx/nn.h>

#include "harness.h"

/* conv(4, 3x3 SAME) relu maxpool2 flatten dense1(8) layernorm gelu dropout(0.5) out(3) */
static jx_seq *model;
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
    model = jx_seq_of(m, 9);
}

enum { NLEAF = 8 }; /* conv.{w,b} dense1.{w,b} ln.{scale,bias} out.{w,b} */
static const char *const paths[NLEAF] = {"conv.w", "conv.b", "dense1.w", "dense1.b", "ln.scale", "ln.bias", "out.w", "out.b"};

/* in: x (2,8,8,2), key u32[2], the 8 leaves. out: sequential, by hand (training when
 * *user is 1). */
static void both_body(jx_val *out, const jx_val *in, void *user) {
    int train = *(int *)user;
    jx_tree *p = jx_tree_dict();
    for (int i = 0; i < NLEAF; i++) jx_tree_set_val(p, paths[i], in[2 + i]);
    jx_seq_ctx c = {.key = train ? in[1] : JX_NONE};
    out[0] = jx_seq_apply(model, p, in[0], &c);
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
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    static const char *const names[9] = {"conv", "relu1", "max_pool1", "flatten1", "dense1", "ln", "gelu1",
                                         "dropout1", "out"};
    for (int i = 0; i < 9; i++) CU_ASSERT_STRING_EQUAL(jx_seq_name(model, i), names[i]);
    jx_array *key = jx_random_key_new(3);
    jx_tree *params = NULL;
    CU_ASSERT_EQUAL(jx_seq_init(model, JX_AVAL(JX_F32, 1, 8, 8, 2), key, &params, NULL), JX_OK);
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
    jx_seq_free(model), model = NULL;
}

/* A layer of one's own: y = x * s with a parameter s of the input's last dim. */
static int scale_params(const jx_nn_layer *l, const jx_aval *in, jx_nn_param_spec *s) {
    (void)l;
    s[0] = (jx_nn_param_spec){"s", jx_aval_make(in->dtype, JX_INTS(in->shape[in->rank - 1])), JX_NN_INIT_ONES,
                              1, 1, 0};
    return 1;
}
static jx_val scale_apply(jx_loc loc, const jx_nn_layer *l, const jx_tree *p, jx_val x, const jx_nn_layer_ctx *c) {
    (void)l, (void)c;
    return jx_mul_at(loc, x, jx_tree_get_val_at(loc, p, "s"));
}

static void test_custom_layer(void) {
    jx_nn_layer m[2] = {jx_nn_seq_dense("d", 5), {.name = "mine", .params = scale_params, .apply = scale_apply}};
    jx_array *key = jx_random_key_new(0);
    jx_seq *seq = jx_seq_of(m, 2);
    jx_tree *p = NULL;
    if (jx_seq_init(seq, JX_AVAL(JX_F32, 4, 3), key, &p, NULL) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(jx_seq_layer(seq, 1)->name, "mine");
    jx_seq_free(seq);
    jx_array *s = jx_tree_get_array(p, "mine.s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(jx_array_shape(s)[0], 5);
    CU_ASSERT_EQUAL(jx_array_get(s, 4), 1.0);
    CU_ASSERT_EQUAL(jx_array_dtype(s), JX_F32);
    jx_tree_free(p);
    jx_array_release(key);
}

/* in: params, stats, x (4,2). out: {y, eval, new_stats}: training, evaluation, the
 * batch norm's updated statistics. */
static void bn_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *ns = jx_tree_dict();
    jx_seq_ctx train = {.stats = in[1], .new_stats = ns}, eval = {.stats = in[1]};
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "y", jx_seq_apply((const jx_seq *)user, in[0], jx_tree_get_val(in[2], "x"), &train));
    jx_tree_set_val(out[0], "eval", jx_seq_apply((const jx_seq *)user, in[0], jx_tree_get_val(in[2], "x"), &eval));
    jx_tree_set(out[0], "new_stats", ns);
}

/* Batch norm: params {scale, bias}, statistics {mean, var} in their own tree; training
 * normalises with the batch's and updates the running ones with the layer's momentum;
 * frozen (jx_seq_replace), the running ones serve also in training and none are output. */
static void test_batch_norm(void) {
    jx_nn_layer m[1] = {jx_nn_seq_batch_norm("bn", 0.75)};
    jx_seq *seq = jx_seq_of(m, 1);
    jx_array *key = jx_random_key_new(0);
    jx_tree *p = NULL, *st = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_seq_init(seq, JX_AVAL(JX_F32, 4, 2), key, &p, &st), JX_OK);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(p), 2);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(st, "bn.var"), 1), 1.0);
    jx_tree *q = NULL;
    CU_ASSERT_EQUAL(jx_seq_init(seq, JX_AVAL(JX_F32, 4, 2), key, &q, NULL), JX_ERR_ARG);
    CU_ASSERT_PTR_NULL(q);
    JT_ASSERT_ERR("seq_init: layer 0 'bn' has running statistics: pass stats");
    /* x: column 0 = 1 2 3 4 (mean 2.5, biased var 1.25), column 1 = 0 */
    float xs[8] = {1, 0, 2, 0, 3, 0, 4, 0};
    jx_array *x = jx_array_new(JX_F32, JX_INTS(4, 2), xs);
    jx_tree *b = jx_tree_dict();
    jx_tree_set_array(b, "x", jx_array_retain(x));
    for (int frozen = 0; frozen < 2; frozen++) {
        if (frozen) CU_ASSERT_EQUAL(jx_seq_replace(seq, "bn", jx_nn_seq_batch_norm_frozen(NULL)), JX_OK);
        jx_tree *in[3] = {p, st, b}, *out = NULL;
        jx_tree_fn *f = jx_tree_trace("bn", bn_body, seq, 3, in, 1);
        if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL_FATAL(jx_tree_fn_run(f, NULL, 3, in, 1, &out), JX_OK);
        jx_tree_fn_free(f);
        jx_array *y = jx_tree_get_array(out, "y"), *ev = jx_tree_get_array(out, "eval");
        /* training: (1 - 2.5) / sqrt(1.25 + 1e-5); frozen or evaluation: 1 / sqrt(1 + 1e-5) */
        CU_ASSERT_DOUBLE_EQUAL(jx_array_get(y, 0), frozen ? 1 / sqrt(1 + 1e-5) : -1.5 / sqrt(1.25 + 1e-5), 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(jx_array_get(ev, 0), 1 / sqrt(1 + 1e-5), 1e-6);
        if (frozen) {
            CU_ASSERT_EQUAL(jx_tree_num_leaves(jx_tree_get(out, "new_stats")), 0);
        } else { /* 0.75 * 0 + 0.25 * 2.5; 0.75 * 1 + 0.25 * 1.25 */
            CU_ASSERT_DOUBLE_EQUAL(jx_array_get(jx_tree_get_array(out, "new_stats.bn.mean"), 0), 0.625, 1e-6);
            CU_ASSERT_DOUBLE_EQUAL(jx_array_get(jx_tree_get_array(out, "new_stats.bn.var"), 0), 1.0625, 1e-6);
        }
        jx_tree_free(out);
    }
    CU_ASSERT_STRING_EQUAL(jx_seq_layer(seq, 0)->kind, "batch_norm_frozen");
    CU_ASSERT_STRING_EQUAL(jx_seq_name(seq, 0), "bn");
    jx_tree_free(b), jx_tree_free(p), jx_tree_free(st);
    jx_array_release(x), jx_array_release(key);
    jx_seq_free(seq);
}

static void test_errors(void) {
    jx_array *key = jx_random_key_new(0);
    jx_tree *p = (jx_tree *)1;
    jx_nn_layer dup[3] = {jx_nn_seq_dense("d", 5), jx_nn_seq_relu(), jx_nn_seq_dense("d", 2)};
    CU_ASSERT_PTR_NULL(jx_seq_of(dup, 3));
    JT_ASSERT_ERR("seq_insert: the model already has a layer 'd'");
    jx_nn_layer empty[1] = {jx_nn_seq_dense("", 5)};
    CU_ASSERT_PTR_NULL(jx_seq_of(empty, 1));
    JT_ASSERT_ERR("seq_insert: bad layer '' at 0 of 0 (bad place or empty name)");
    /* a conv on a rank-2 input: the layer's own error, under the layer's name */
    jx_nn_layer conv[1] = {jx_nn_seq_conv2d("c", 4, 3, 3, JX_NN_PAD_VALID)};
    jx_seq *seq = jx_seq_of(conv, 1);
    CU_ASSERT_NOT_EQUAL(jx_seq_init(seq, JX_AVAL(JX_F32, 2, 3), key, &p, NULL), JX_OK);
    CU_ASSERT_PTR_NULL(p);
    JT_ASSERT_ERR("conv2d");
    CU_ASSERT_EQUAL(jx_seq_init(seq, JX_AVAL(JX_I32, 2, 3), key, &p, NULL), JX_ERR_ARG);
    JT_ASSERT_ERR("seq_init: the input must be f32 or f64, not i32");
    CU_ASSERT_EQUAL(jx_seq_replace(seq, "nope", jx_nn_seq_relu()), JX_ERR_ARG);
    JT_ASSERT_ERR("seq_replace: no such layer: 'nope'");
    jx_seq_free(seq);
    jx_array_release(key);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"init infers shapes; apply equals the layers by hand", test_init_and_apply},
        {"batch norm: statistics, training, frozen", test_batch_norm},
        {"a layer of one's own", test_custom_layer},
        {"duplicate and missing names, a layer that does not fit", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn sequential", tests);
}
