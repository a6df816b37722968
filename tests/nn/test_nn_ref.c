/* test_nn_ref.c: every layer and loss of jx/layers.h and jx/losses.h against reference
 * values from JAX, Flax and Optax (tests/nn/ref/gen_ref.py wrote ref/layers_ref.h): the
 * outputs, and the gradient of L = sum_k sum(out_k * ct_k) with respect to each float
 * input, in f64 and in f32; then jvp against finite differences and vjp against jvp in
 * f64 on the same inputs.
 *
 * Tolerances, relative to max(1, |reference|): f64 values 1e-10 and gradients 1e-9 (the
 * references are computed in f64 too: the differences are rounding); f32 values and
 * gradients 2e-4 (inputs rounded to f32, sums of up to a few hundred terms); finite
 * differences 1e-6 (central, step 1e-6, in f64). */
#include <jx/layers.h>
#include <jx/losses.h>

#include "gradcheck.h"
#include "ref/layers_ref.h"

/* ------------------------------------------------------------------ the bodies */

#define BODY(name) static void name(jx_val *out, const jx_val *in, void *user)

BODY(b_dense) { out[0] = jx_nn_dense(in[0], in[1], in[2]); }

static const jx_nn_conv2d_opts o_same_stride = {{2, 1}, {1, 1}, JX_NN_PAD_SAME, {0}, 1};
static const jx_nn_conv2d_opts o_dil_explicit = {{1, 1}, {2, 1}, JX_NN_PAD_EXPLICIT, {1, 0, 2, 1}, 0};
static const jx_nn_conv2d_opts o_same_dil = {{2, 2}, {2, 2}, JX_NN_PAD_SAME, {0}, 0};
static const jx_nn_conv2d_opts o_groups = {{0}, {0}, JX_NN_PAD_VALID, {0}, 2};
static const jx_nn_conv2d_opts o_t_same = {{2, 2}, {0}, JX_NN_PAD_SAME, {0}, 0};
static const jx_nn_conv2d_opts o_t_valid = {{2, 2}, {0}, JX_NN_PAD_VALID, {0}, 0};
static const jx_nn_conv2d_opts o_t_explicit = {{1, 2}, {2, 1}, JX_NN_PAD_EXPLICIT, {1, 2, 0, 1}, 0};

BODY(b_conv_opts) { out[0] = jx_nn_conv2d(in[0], in[1], in[2], user); }
BODY(b_conv_groups) { out[0] = jx_nn_conv2d(in[0], in[1], JX_NONE, user); }
BODY(b_convt) { out[0] = jx_nn_conv_transpose2d(in[0], in[1], in[2], user); }
BODY(b_max_pool_same) { out[0] = jx_nn_max_pool(in[0], 2, 3, 2, 2, JX_NN_PAD_SAME); }
BODY(b_max_pool_valid) { out[0] = jx_nn_max_pool(in[0], 2, 2, 2, 2, JX_NN_PAD_VALID); }
BODY(b_avg_pool) { out[0] = jx_nn_avg_pool(in[0], 3, 3, 2, 2, JX_NN_PAD_SAME, user != NULL); }
BODY(b_bn_train) {
    out[0] = jx_nn_batch_norm_train(in[0], in[1], in[2], in[3], in[4], 0.9, 1e-5, &out[1], &out[2]);
}
BODY(b_bn_eval) { out[0] = jx_nn_batch_norm_eval(in[0], in[1], in[2], in[3], in[4], 1e-5); }
BODY(b_layer_norm) { out[0] = jx_nn_layer_norm(in[0], in[1], in[2], 1e-6); }
BODY(b_group_norm) { out[0] = jx_nn_group_norm(in[0], in[1], in[2], 3, 1e-6); }
BODY(b_dropout) { out[0] = jx_nn_dropout(in[0], *(const double *)user, in[1]); }
BODY(b_embedding) { out[0] = jx_nn_embedding(in[0], in[1]); }

typedef struct resize_case { int64_t oh, ow; jx_nn_resize method; } resize_case;
BODY(b_resize) {
    const resize_case *r = user;
    out[0] = jx_nn_resize(in[0], r->oh, r->ow, r->method);
}
BODY(b_upsample) { out[0] = jx_nn_upsample(in[0], 2, JX_NN_RESIZE_BILINEAR); }
BODY(b_lstm_cell) { jx_nn_lstm_cell(in[0], in[1], in[2], in[3], in[4], in[5], &out[0], &out[1]); }
BODY(b_gru_cell) { out[0] = jx_nn_gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); }
BODY(b_rnn_lstm) { out[0] = jx_nn_rnn(JX_NN_CELL_LSTM, in + 3, in[0], in + 1, 0, out + 1); }
BODY(b_rnn_gru) { out[0] = jx_nn_rnn(JX_NN_CELL_GRU, in + 2, in[0], in + 1, 1, out + 1); }
BODY(b_attention) { out[0] = jx_nn_attention(in[0], in[1], in[2], in[3]); }
BODY(b_mha) {
    jx_nn_mha_params p = {in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9]};
    out[0] = jx_nn_mha(in[0], in[1], &p, user ? jx_nn_causal_mask(jx_dim(in[0], 1)) : JX_NONE);
}
BODY(b_ce_int) { out[0] = jx_loss_softmax_ce_int(in[0], in[1], JX_LOSS_NO_IGNORE); }
BODY(b_ce_int_ignore) { out[0] = jx_loss_softmax_ce_int(in[0], in[1], 255); }
BODY(b_ce_int_ignore_mean) { out[0] = jx_loss_softmax_ce_int_mean(in[0], in[1], 255); }
BODY(b_ce_smoothed) { out[0] = jx_loss_softmax_ce(in[0], jx_loss_smooth_labels(in[1], 0.1)); }
BODY(b_bce) { out[0] = jx_loss_sigmoid_bce(in[0], in[1]); }
BODY(b_softplus) { out[0] = jx_softplus(in[0]); }
BODY(b_logaddexp) { out[0] = jx_logaddexp(in[0], in[1]); }
BODY(b_squared) { out[0] = jx_loss_squared_error(in[0], in[1]); }
BODY(b_abs) { out[0] = jx_loss_abs_error(in[0], in[1]); }
BODY(b_huber) { out[0] = jx_loss_huber(in[0], in[1], 1.0); }
BODY(b_dice) { out[0] = jx_loss_dice(in[0], in[1], user != NULL, 1.0); }

static const double rate_03 = 0.3, rate_05 = 0.5;
static const resize_case rs_nu = {6, 8, JX_NN_RESIZE_NEAREST}, rs_nd = {3, 4, JX_NN_RESIZE_NEAREST},
                         rs_bu = {7, 9, JX_NN_RESIZE_BILINEAR}, rs_bd = {3, 4, JX_NN_RESIZE_BILINEAR};
static int yes = 1;

typedef struct ref_body {
    const char *name;
    jx_body body;
    const void *user;
} ref_body;

static const ref_body bodies[] = {
    {"dense", b_dense, NULL},
    {"conv2d_same_stride", b_conv_opts, &o_same_stride},
    {"conv2d_dilated_explicit", b_conv_opts, &o_dil_explicit},
    {"conv2d_groups_valid", b_conv_groups, &o_groups},
    {"conv_transpose_same", b_convt, &o_t_same},
    {"conv_transpose_valid", b_convt, &o_t_valid},
    {"conv_transpose_explicit", b_convt, &o_t_explicit},
    {"max_pool_same", b_max_pool_same, NULL},
    {"max_pool_valid", b_max_pool_valid, NULL},
    {"avg_pool_same_incl", b_avg_pool, &yes},
    {"avg_pool_same_excl", b_avg_pool, NULL},
    {"batch_norm_train", b_bn_train, NULL},
    {"batch_norm_eval", b_bn_eval, NULL},
    {"layer_norm", b_layer_norm, NULL},
    {"group_norm", b_group_norm, NULL},
    {"dropout", b_dropout, &rate_03},
    {"dropout_split", b_dropout, &rate_05},
    {"embedding", b_embedding, NULL},
    {"resize_nearest_up", b_resize, &rs_nu},
    {"resize_nearest_down", b_resize, &rs_nd},
    {"resize_bilinear_up", b_resize, &rs_bu},
    {"resize_bilinear_down", b_resize, &rs_bd},
    {"lstm_cell", b_lstm_cell, NULL},
    {"gru_cell", b_gru_cell, NULL},
    {"rnn_lstm", b_rnn_lstm, NULL},
    {"rnn_gru_reverse", b_rnn_gru, NULL},
    {"attention_mask", b_attention, NULL},
    {"mha_cross", b_mha, NULL},
    {"mha_self_causal", b_mha, &yes},
    {"ce_int_extreme", b_ce_int, NULL},
    {"ce_int_ignore_mean", b_ce_int_ignore_mean, NULL},
    {"ce_int_ignore", b_ce_int_ignore, NULL},
    {"ce_smoothed", b_ce_smoothed, NULL},
    {"sigmoid_bce_extreme", b_bce, NULL},
    {"squared_error", b_squared, NULL},
    {"abs_error", b_abs, NULL},
    {"huber", b_huber, NULL},
    {"dice_softmax", b_dice, NULL},
    {"dice_sigmoid", b_dice, &yes},
    {"upsample_bilinear", b_upsample, NULL},
    {"conv2d_same_dilated_strided", b_conv_opts, &o_same_dil},
    {"softplus", b_softplus, NULL},
    {"logaddexp", b_logaddexp, NULL},
};
#define NBODIES ((int)(sizeof bodies / sizeof bodies[0]))

/* ------------------------------------------------------------------ the driver */

static jx_dtype kind_dtype(char k, jx_dtype ft) {
    return k == 'f' ? ft : k == 'i' ? JX_I32 : k == 'u' ? JX_U32 : JX_BOOL;
}

static jx_array *ref_array(const jt_ref_arr *a, jx_dtype ft) {
    return jt_array(kind_dtype(a->kind, ft), (jx_ints){a->shape, a->rank}, a->data);
}

static int64_t ref_size(const jt_ref_arr *a) {
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= a->shape[i];
    return n;
}

/* L = sum_k sum(f(in)_k * ct_k), the cotangents held as constants. */
typedef struct loss_ctx {
    const jx_fn *f;
    jx_array *ct[JT_REF_MAX];
} loss_ctx;

static void loss_body(jx_val *out, const jx_val *in, void *user) {
    const loss_ctx *c = user;
    jx_val y[JT_REF_MAX];
    int nout = jx_fn_num_outputs(c->f);
    jx_call(c->f, jx_fn_num_inputs(c->f), in, nout, y);
    jx_val l = JX_NONE;
    for (int k = 0; k < nout; k++) {
        jx_val s = jx_reduce_sum(jx_mul(y[k], jx_const(c->ct[k])), JX_NOINTS);
        l = k ? jx_add(l, s) : s;
    }
    out[0] = l;
}

/* Checks one case in dtype ft with the given value and gradient tolerances, and (f64)
 * against finite differences. Returns the number of failures. */
static int check_case(const jt_ref_case *rc, const ref_body *b, jx_dtype ft, double vtol, double gtol) {
    int fails = 0;
    jx_aval av[JT_REF_MAX];
    jx_array *x[JT_REF_MAX] = {0}, *y[JT_REF_MAX] = {0}, *g[JT_REF_MAX] = {0};
    loss_ctx lc = {0};
    int64_t argv[JT_REF_MAX];
    int nargs = 0;
    for (int i = 0; i < rc->nin; i++) {
        x[i] = ref_array(&rc->in[i], ft);
        av[i] = jx_array_aval(x[i]);
        if (rc->in[i].kind == 'f') argv[nargs++] = i;
    }
    jx_fn *f = jx_trace(rc->name, b->body, (void *)b->user, rc->nin, av, rc->nout);
    jx_fn *loss = NULL, *grad = NULL;
    if (!f) {
        fprintf(stderr, "\n  %s (%s): %s\n", rc->name, jx_dtype_name(ft), jx_errmsg());
        fails++;
        goto done;
    }
    if (jt_eval(f, rc->nin, x, rc->nout, y) != JX_OK) {
        fprintf(stderr, "\n  %s: eval: %s\n", rc->name, jx_errmsg());
        fails++;
        goto done;
    }
    for (int k = 0; k < rc->nout; k++) {
        double e = jt_max_err(y[k], rc->out[k].data, ref_size(&rc->out[k]));
        if (!(e <= vtol)) fprintf(stderr, "\n  %s (%s): output %d differs by %g\n", rc->name, jx_dtype_name(ft), k, e), fails++;
        lc.ct[k] = ref_array(&rc->ct[k], ft);
    }
    lc.f = f;
    loss = jx_trace("loss", loss_body, &lc, rc->nin, av, 1);
    grad = loss && nargs ? jx_grad(loss, (jx_ints){argv, nargs}) : NULL;
    if (nargs && (!grad || jt_eval(grad, rc->nin, x, nargs, g) != JX_OK)) {
        fprintf(stderr, "\n  %s: grad: %s\n", rc->name, jx_errmsg());
        fails++;
        goto done;
    }
    for (int a = 0; a < nargs; a++) {
        const jt_ref_arr *want = &rc->grad[argv[a]];
        double e = jt_max_err(g[a], want->data, ref_size(want));
        if (!(e <= gtol)) fprintf(stderr, "\n  %s (%s): gradient of %s differs by %g\n", rc->name, jx_dtype_name(ft), rc->in[argv[a]].name, e), fails++;
    }
    if (ft == JX_F64) {
        double je = jt_jvp_error(f, x, 1e-6, 7), ve = jt_vjp_error(f, x, 11);
        if (!(je <= 1e-6) || !(ve <= 1e-10))
            fprintf(stderr, "\n  %s: jvp vs finite differences %g, vjp vs jvp %g\n", rc->name, je, ve), fails++;
    }
done:
    for (int i = 0; i < JT_REF_MAX; i++) {
        jx_array_release(x[i]);
        jx_array_release(y[i]);
        jx_array_release(g[i]);
        jx_array_release(lc.ct[i]);
    }
    jx_fn_release(grad);
    jx_fn_release(loss);
    jx_fn_release(f);
    return fails;
}

static const ref_body *find_body(const char *name) {
    for (int i = 0; i < NBODIES; i++)
        if (!strcmp(bodies[i].name, name)) return &bodies[i];
    return NULL;
}

/* Runs every case whose name starts with one of the prefixes (NULL-terminated). */
static void run_cases(const char *const *prefixes) {
    int ran = 0;
    for (int c = 0; c < JT_REF_NCASES; c++) {
        const jt_ref_case *rc = &jt_ref_cases[c];
        int match = 0;
        for (const char *const *p = prefixes; *p && !match; p++) match = !strncmp(rc->name, *p, strlen(*p));
        if (!match) continue;
        const ref_body *b = find_body(rc->name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(check_case(rc, b, JX_F64, 1e-10, 1e-9), 0);
        CU_ASSERT_EQUAL(check_case(rc, b, JX_F32, 2e-4, 2e-4), 0);
        ran++;
    }
    CU_ASSERT(ran > 0);
}

/* Every case of the reference file has a body here, and every body a case. */
static void test_coverage(void) {
    CU_ASSERT_EQUAL(JT_REF_NCASES, NBODIES);
    for (int c = 0; c < JT_REF_NCASES; c++) {
        if (!find_body(jt_ref_cases[c].name)) fprintf(stderr, "\n  no body for %s\n", jt_ref_cases[c].name);
        CU_ASSERT_PTR_NOT_NULL(find_body(jt_ref_cases[c].name));
    }
}

#define GROUP(fn, ...)                                             \
    static void fn(void) {                                         \
        static const char *const p[] = {__VA_ARGS__, NULL};        \
        run_cases(p);                                              \
    }
GROUP(test_dense_conv, "dense", "conv")
GROUP(test_pool, "max_pool", "avg_pool")
GROUP(test_norm, "batch_norm", "layer_norm", "group_norm")
GROUP(test_dropout_embedding, "dropout", "embedding")
GROUP(test_resize, "resize", "upsample")
GROUP(test_recurrent, "lstm", "gru", "rnn")
GROUP(test_attention, "attention", "mha")
GROUP(test_losses_ce, "ce_")
GROUP(test_losses_other, "sigmoid", "squared", "abs", "huber", "dice")
GROUP(test_softplus, "softplus", "logaddexp")

int main(void) {
    CU_TestInfo tests[] = {
        {"every reference case has a body", test_coverage},
        {"dense, conv2d, conv_transpose2d", test_dense_conv},
        {"max and average pooling", test_pool},
        {"batch, layer and group norm", test_norm},
        {"dropout (JAX's bits) and embedding", test_dropout_embedding},
        {"resize nearest and bilinear", test_resize},
        {"LSTM, GRU, RNN", test_recurrent},
        {"attention and multi-head attention", test_attention},
        {"cross-entropy losses at extreme logits", test_losses_ce},
        {"BCE, regression and dice losses", test_losses_other},
        {"softplus and logaddexp (JAX's custom derivative)", test_softplus},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn reference values", tests);
}
