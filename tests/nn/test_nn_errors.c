/* test_nn_errors.c: wrong shapes, dtypes and options given to the layers and losses are
 * errors at the caller's line naming the layer and the shapes; the first error sticks;
 * the parameter specs list the shapes the layers accept. */
#include <jx/layers.h>
#include <jx/losses.h>

#include "harness.h"

static int err_line;

/* Each case calls one layer wrongly on inputs in[0..]; err_line is the call's line. */
static void err_body(jx_val *out, const jx_val *in, void *user) {
    int c = *(const int *)user;
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME}, g3 = {.groups = 3}, neg = {.stride = {-1, 1}};
    jx_nn_conv2d_opts g2 = {.groups = 2};
    jx_val y = JX_NONE, z;
    jx_val key2[1];
    switch (c) {
    case 0: err_line = __LINE__; y = jx_nn_dense(in[0], in[1], JX_NONE); break;
    case 1: err_line = __LINE__; y = jx_nn_dense(in[0], in[1], in[2]); break;
    case 2: err_line = __LINE__; y = jx_nn_conv2d(in[0], in[1], JX_NONE, &same); break;
    case 3: err_line = __LINE__; y = jx_nn_conv2d(in[0], in[1], JX_NONE, &g3); break;
    case 4: err_line = __LINE__; y = jx_nn_conv2d(in[0], in[1], JX_NONE, &neg); break;
    case 5: err_line = __LINE__; y = jx_nn_conv_transpose2d(in[0], in[1], JX_NONE, &g2); break;
    case 6: err_line = __LINE__; y = jx_nn_max_pool(in[0], 5, 5, 1, 1, JX_NN_PAD_VALID); break;
    case 7: err_line = __LINE__; y = jx_nn_batch_norm_train(in[0], in[1], in[1], in[1], in[1], 0.9, 1e-5, &z, NULL); break;
    case 8: err_line = __LINE__; y = jx_nn_group_norm(in[0], JX_NONE, JX_NONE, 4, 1e-6); break;
    case 9: err_line = __LINE__; y = jx_nn_dropout(in[0], 0.5, in[1]); break;
    case 10: err_line = __LINE__; y = jx_nn_dropout(in[0], 1.5, in[1]); break;
    case 11: err_line = __LINE__; y = jx_nn_embedding(in[0], in[1]); break;
    case 12: err_line = __LINE__; jx_nn_lstm_cell(in[0], in[1], in[1], in[2], in[3], in[4], &y, &z); break;
    case 13: err_line = __LINE__; y = jx_nn_attention(in[0], in[0], in[0], in[1]); break;
    case 14: err_line = __LINE__; y = jx_loss_softmax_ce_int(in[0], in[1], JX_LOSS_NO_IGNORE); break;
    case 15: err_line = __LINE__; y = jx_loss_sigmoid_bce(in[0], in[1]); break;
    case 16: err_line = __LINE__; y = jx_loss_softmax_ce_int(in[0], in[0], JX_LOSS_NO_IGNORE); break;
    case 17:
        key2[0] = in[0];
        err_line = __LINE__; y = jx_nn_rnn(JX_NN_CELL_GRU, key2, in[0], key2, 0, NULL); break;
    case 18: err_line = __LINE__; y = jx_nn_resize(in[0], 0, 4, JX_NN_RESIZE_BILINEAR); break;
    case 19: err_line = __LINE__; y = jx_nn_layer_norm(in[0], in[1], JX_NONE, 1e-6); break;
    }
    /* later layers are no-ops once the trace has failed */
    out[0] = jx_nn_dense(y, y, JX_NONE);
}

typedef struct err_case {
    int id;
    int nin;
    jx_aval in[5];
    jx_status code;
    const char *msg;
} err_case;

static void check(const err_case *e) {
    jx_fn *f = jx_trace("bad", err_body, (void *)&e->id, e->nin, e->in, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    if (jx_errcode() != e->code) fprintf(stderr, "\n  case %d: code %s\n", e->id, jx_status_name(jx_errcode()));
    CU_ASSERT_EQUAL(jx_errcode(), e->code);
    JT_ASSERT_ERR(e->msg);
    JT_ASSERT_ERR(jt_place(__FILE__, err_line));
}

#define F32(...) JX_AVAL(JX_F32, __VA_ARGS__)
#define F64(...) JX_AVAL(JX_F64, __VA_ARGS__)

static void test_layer_errors(void) {
    const err_case cases[] = {
        {0, 2, {F32(8, 784), F32(512, 10)}, JX_ERR_SHAPE,
         "dense: kernel f32[512,10] wants 512 input features, input f32[8,784] has 784"},
        {1, 3, {F32(8, 4), F32(4, 10), F32(4)}, JX_ERR_SHAPE, "dense: bias f32[4] should be f32[10] for input f32[8,4]"},
        {2, 2, {F32(2, 8, 8, 3), F32(3, 3, 4, 8)}, JX_ERR_SHAPE,
         "conv2d: kernel f32[3,3,4,8] wants 4 input channels (groups 1), input f32[2,8,8,3] has 3"},
        {3, 2, {F32(2, 8, 8, 4), F32(3, 3, 2, 6)}, JX_ERR_SHAPE,
         "conv2d: 3 groups do not divide the 4 input and 6 output channels"},
        {4, 2, {F32(2, 8, 8, 3), F32(3, 3, 3, 8)}, JX_ERR_ARG, "conv2d: stride (-1,1) and dilation (1,1) must be positive"},
        {5, 2, {F32(2, 8, 8, 4), F32(3, 3, 4, 8)}, JX_ERR_UNSUPPORTED, "conv_transpose2d: groups 2: only 1 is supported"},
        {6, 1, {F32(2, 4, 4, 3)}, JX_ERR_SHAPE, "max_pool: window (5,5) is larger than input f32[2,4,4,3] (VALID padding)"},
        {7, 2, {F32(8, 4, 4, 16), F32(8)}, JX_ERR_SHAPE, "batch_norm: scale f32[8] should be f32[16] for input f32[8,4,4,16]"},
        {8, 1, {F32(2, 4, 4, 6)}, JX_ERR_SHAPE, "group_norm: 4 groups do not divide the 6 channels of input f32[2,4,4,6]"},
        {9, 2, {F32(4, 4), JX_AVAL(JX_U32, 4)}, JX_ERR_SHAPE, "dropout: key u32[4] must be u32[2]"},
        {10, 2, {F32(4, 4), JX_AVAL(JX_U32, 2)}, JX_ERR_ARG, "dropout: rate 1.5 must be in [0, 1]"},
        {11, 2, {F32(10, 4), F32(3)}, JX_ERR_DTYPE, "embedding: ids f32[3] must be integers"},
        {12, 5, {F32(2, 3), F32(2, 4), F32(3, 16), F32(4, 12), F32(16)}, JX_ERR_SHAPE,
         "lstm_cell: wh f32[4,12] should be f32[4,16] for input f32[2,3]"},
        {13, 2, {F32(2, 3, 2, 4), JX_AVAL(JX_BOOL, 3, 3, 3)}, JX_ERR_SHAPE,
         "attention: mask bool[3,3,3] must be bool and broadcast to (B,H,Tq,Tk) = (2,2,3,3)"},
        {14, 2, {F32(4, 10), JX_AVAL(JX_I32, 5)}, JX_ERR_SHAPE,
         "softmax_ce_int: labels i32[5] should have the shape of logits f32[4,10] without its last (class) axis"},
        {15, 2, {F32(4), F64(4)}, JX_ERR_SHAPE, "sigmoid_bce: logits f32[4] and labels f64[4] differ"},
        {16, 1, {F32(4, 10)}, JX_ERR_DTYPE, "softmax_ce_int: labels f32[4,10] must be integers"},
        {17, 1, {F32(2, 5)}, JX_ERR_SHAPE, "rnn: input f32[2,5] must have rank 3"},
        {18, 1, {F32(1, 4, 4, 2)}, JX_ERR_ARG, "resize: output size (0,4) of input f32[1,4,4,2] must be positive"},
        {19, 2, {JX_AVAL(JX_I32, 2, 3), F32(3)}, JX_ERR_DTYPE, "layer_norm: input i32[2,3] must be f32 or f64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

/* Outside of any trace jx_error_at sets the thread's error and returns its code. */
static void test_outside_trace(void) {
    jx_clear_error();
    int line = __LINE__ + 1;
    CU_ASSERT_EQUAL(jx_error_at(JX_HERE, JX_ERR_ARG, "mylayer", "bad %d", 7), JX_ERR_ARG);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    JT_ASSERT_ERR("mylayer: bad 7");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

static void test_param_specs(void) {
    jx_nn_param_spec s[JX_NN_MAX_PARAMS];
    CU_ASSERT_EQUAL(jx_nn_dense_params(784, 512, 1, JX_F32, s), 2);
    CU_ASSERT_STRING_EQUAL(s[0].name, "w");
    jx_aval w = JX_AVAL(JX_F32, 784, 512), b = JX_AVAL(JX_F32, 512);
    CU_ASSERT(jx_aval_equal(&s[0].aval, &w) && jx_aval_equal(&s[1].aval, &b));
    CU_ASSERT(s[0].init == JX_NN_INIT_LECUN_NORMAL && s[1].init == JX_NN_INIT_ZEROS);
    CU_ASSERT(s[0].fan_in == 784 && s[0].fan_out == 512);
    CU_ASSERT_EQUAL(jx_nn_conv2d_params(3, 3, 8, 16, 2, 0, JX_F64, s), 1);
    jx_aval k = JX_AVAL(JX_F64, 3, 3, 4, 16);
    CU_ASSERT(jx_aval_equal(&s[0].aval, &k));
    CU_ASSERT(s[0].fan_in == 36 && s[0].fan_out == 144);
    CU_ASSERT_EQUAL(jx_nn_batch_norm_params(5, JX_F32, s), 4);
    CU_ASSERT(!s[1].is_state && s[2].is_state && s[3].is_state);
    CU_ASSERT_STRING_EQUAL(s[3].name, "var");
    CU_ASSERT(s[3].init == JX_NN_INIT_ONES);
    CU_ASSERT_EQUAL(jx_nn_lstm_params(3, 4, JX_F32, s), 3);
    jx_aval wh = JX_AVAL(JX_F32, 4, 16);
    CU_ASSERT(jx_aval_equal(&s[1].aval, &wh) && s[1].init == JX_NN_INIT_ORTHOGONAL);
    CU_ASSERT_EQUAL(jx_nn_gru_params(3, 4, JX_F32, s), 4);
    CU_ASSERT_EQUAL(jx_nn_mha_params_spec(6, 2, 3, 5, JX_F32, s), 8);
    jx_aval wo = JX_AVAL(JX_F32, 2, 3, 5);
    CU_ASSERT(jx_aval_equal(&s[6].aval, &wo) && s[6].fan_in == 6);
    CU_ASSERT_EQUAL(jx_nn_embedding_params(100, 8, JX_F32, s), 1);
    CU_ASSERT(s[0].init == JX_NN_INIT_EMBED_NORMAL && s[0].fan_in == 8);
    CU_ASSERT_EQUAL(jx_nn_norm_params(7, JX_F32, s), 2);
}

/* The spec's shapes are the ones the layer accepts: trace each layer on them. */
static void spec_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_nn_conv2d_opts o = {.padding = JX_NN_PAD_SAME, .groups = 2};
    jx_val h = jx_nn_conv2d(in[0], in[1], in[2], &o);
    h = jx_nn_batch_norm_eval(h, in[3], in[4], in[5], in[6], 1e-5);
    out[0] = jx_nn_dense(jx_reshape(h, JX_INTS(2, -1)), in[7], in[8]);
}

static void test_specs_fit_layers(void) {
    jx_nn_param_spec s[3 * JX_NN_MAX_PARAMS];
    int n = 0;
    jx_aval av[12];
    av[0] = JX_AVAL(JX_F32, 2, 4, 4, 8);
    n += jx_nn_conv2d_params(3, 3, 8, 6, 2, 1, JX_F32, s + n);
    n += jx_nn_batch_norm_params(6, JX_F32, s + n);
    n += jx_nn_dense_params(4 * 4 * 6, 10, 1, JX_F32, s + n);
    CU_ASSERT_EQUAL_FATAL(n, 8);
    for (int i = 0; i < n; i++) av[1 + i] = s[i].aval;
    jx_fn *f = jx_trace("specs", spec_body, NULL, 1 + n, av, 1);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(f);
    jx_aval y = f ? jx_fn_output_aval(f, 0) : (jx_aval){0};
    jx_aval want = JX_AVAL(JX_F32, 2, 10);
    CU_ASSERT(jx_aval_equal(&y, &want));
    jx_fn_release(f);
}

/* An RNN over a long sequence is one scan in the IR, not an unrolled loop. */
static void rnn_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_nn_rnn(JX_NN_CELL_LSTM, in + 3, in[0], in + 1, 0, NULL);
}

static void test_rnn_is_one_scan(void) {
    jx_nn_param_spec s[JX_NN_MAX_PARAMS];
    jx_aval av[6] = {F32(4, 100, 3), F32(4, 8), F32(4, 8)};
    CU_ASSERT_EQUAL(jx_nn_lstm_params(3, 8, JX_F32, s), 3);
    for (int i = 0; i < 3; i++) av[3 + i] = s[i].aval;
    jx_fn *f = jx_trace("rnn", rnn_body, NULL, 6, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, " = scan["), 1);
    CU_ASSERT(jx_fn_num_eqns_total(f) < 60);
    jx_aval y = jx_fn_output_aval(f, 0), want = F32(4, 100, 8);
    CU_ASSERT(jx_aval_equal(&y, &want));
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"layer and loss errors name the layer, the shapes and the line", test_layer_errors},
        {"jx_error_at outside a trace", test_outside_trace},
        {"parameter specs", test_param_specs},
        {"specs fit the layers", test_specs_fit_layers},
        {"an RNN is one scan", test_rnn_is_one_scan},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn errors and specs", tests);
}
