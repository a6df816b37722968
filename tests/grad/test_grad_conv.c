/* test_grad_conv.c: derivatives of convolution and the windowed reductions: jvp against
 * finite differences and vjp against jvp for 1-D to 3-D convs (strides, padding,
 * dilations, groups, transposed convs), average/max/min pooling, the select_and_*_add
 * pair, closed-form gradients, and a small CNN loss end to end. */
#include "gradcheck.h"
#include "op_bodies.h"
#include "ir.h"

/* ------------------------------------------------------------------ convolution */

static void conv_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
}

/* Checks conv's derivatives in both operands for lhs and rhs shapes xs and ws. */
static int check_conv(const char *name, jx_ints xs, jx_ints ws, const jx_conv_opts *o) {
    jx_aval a[2] = {jx_aval_make(JX_F64, xs), jx_aval_make(JX_F64, ws)};
    return jt_check_grads(name, conv_body, (void *)o, 2, a, -1, 1, 1e-6);
}

static void test_conv_1d(void) {
    jx_conv_opts plain = {{0}, {0}, {0}, {0}, {0}, 0};
    CU_ASSERT(check_conv("conv1d", JX_INTS(2, 3, 7), JX_INTS(4, 3, 3), &plain));
    jx_conv_opts o = {JX_INTS(2), JX_INTS(1), JX_INTS(2), JX_NOINTS, JX_INTS(2), 0};
    CU_ASSERT(check_conv("conv1d strided dilated padded", JX_INTS(2, 3, 7), JX_INTS(4, 3, 3), &o));
    /* a stride that does not divide: the last inputs are never read */
    jx_conv_opts s3 = {JX_INTS(3), JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, 0};
    CU_ASSERT(check_conv("conv1d stride 3", JX_INTS(1, 2, 8), JX_INTS(2, 2, 2), &s3));
    /* negative padding crops the input */
    jx_conv_opts neg = {JX_NOINTS, JX_INTS(-1), JX_INTS(-2), JX_NOINTS, JX_NOINTS, 0};
    CU_ASSERT(check_conv("conv1d negative padding", JX_INTS(2, 2, 9), JX_INTS(3, 2, 3), &neg));
    /* size-0 batch and a kernel longer than the input (no outputs): zero gradients */
    CU_ASSERT(check_conv("conv1d empty batch", JX_INTS(0, 2, 5), JX_INTS(3, 2, 2), &plain));
    CU_ASSERT(check_conv("conv1d no outputs", JX_INTS(2, 1, 2), JX_INTS(1, 1, 3), &plain));
}

static void test_conv_2d(void) {
    jx_conv_opts o = {JX_INTS(2, 1), JX_INTS(1, 0), JX_INTS(0, 1), JX_NOINTS, JX_INTS(1, 2), 0};
    CU_ASSERT(check_conv("conv2d", JX_INTS(2, 2, 5, 6), JX_INTS(3, 2, 3, 2), &o));
    jx_conv_opts same = {JX_NOINTS, JX_INTS(1, 1), JX_INTS(1, 1), JX_NOINTS, JX_NOINTS, 0};
    CU_ASSERT(check_conv("conv2d same", JX_INTS(1, 3, 4, 4), JX_INTS(2, 3, 3, 3), &same));
    /* 1x1 kernel: a per-pixel matmul over channels */
    jx_conv_opts one = {{0}, {0}, {0}, {0}, {0}, 0};
    CU_ASSERT(check_conv("conv2d 1x1", JX_INTS(2, 4, 3, 3), JX_INTS(5, 4, 1, 1), &one));
}

/* lhs_dilation makes a transposed (fractionally strided) convolution. */
static void test_conv_transposed(void) {
    jx_conv_opts o = {JX_NOINTS, JX_INTS(2, 2), JX_INTS(2, 2), JX_INTS(2, 2), JX_NOINTS, 0};
    CU_ASSERT(check_conv("conv2d transposed", JX_INTS(1, 2, 3, 4), JX_INTS(2, 2, 3, 3), &o));
    jx_conv_opts mix = {JX_INTS(2), JX_INTS(1), JX_INTS(0), JX_INTS(3), JX_INTS(2), 0};
    CU_ASSERT(check_conv("conv1d all dilations", JX_INTS(2, 1, 5), JX_INTS(2, 1, 2), &mix));
}

static void test_conv_groups(void) {
    jx_conv_opts dw = {JX_INTS(1, 2), JX_INTS(1, 1), JX_INTS(1, 0), JX_NOINTS, JX_NOINTS, 3};
    CU_ASSERT(check_conv("depthwise", JX_INTS(2, 3, 6, 5), JX_INTS(3, 1, 3, 3), &dw));
    /* channel multiplier 2 */
    jx_conv_opts dw2 = {JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, 3};
    CU_ASSERT(check_conv("depthwise x2", JX_INTS(2, 3, 6), JX_INTS(6, 1, 2), &dw2));
    /* two groups of 2 input and 3 output channels, strided and dilated */
    jx_conv_opts g2 = {JX_INTS(2), JX_INTS(1), JX_INTS(1), JX_INTS(1), JX_INTS(2), 2};
    CU_ASSERT(check_conv("groups 2", JX_INTS(2, 4, 7), JX_INTS(6, 2, 2), &g2));
    jx_conv_opts gt = {JX_NOINTS, JX_INTS(1, 1), JX_INTS(1, 1), JX_INTS(2, 1), JX_NOINTS, 2};
    CU_ASSERT(check_conv("groups 2 transposed", JX_INTS(1, 4, 3, 3), JX_INTS(2, 2, 2, 2), &gt));
}

static void test_conv_3d(void) {
    jx_conv_opts o = {JX_INTS(1, 2, 1), JX_INTS(0, 1, 1), JX_INTS(1, 0, 0), JX_NOINTS, JX_INTS(1, 1, 2), 0};
    CU_ASSERT(check_conv("conv3d", JX_INTS(1, 2, 3, 4, 5), JX_INTS(2, 2, 2, 2, 2), &o));
    jx_conv_opts g = {JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, 2};
    CU_ASSERT(check_conv("conv3d groups", JX_INTS(1, 2, 3, 3, 3), JX_INTS(4, 1, 2, 1, 2), &g));
}

/* Closed form: d sum(conv(x, w)) / dw[o, c, t] = sum over n and outputs j of
 * x[n, c, j*stride + t] (no padding); / dx is the count-weighted kernel sum. */
static void f_conv_sum(jx_val *out, const jx_val *in, void *u) {
    jx_val y = jx_conv(in[0], in[1], (const jx_conv_opts *)u);
    out[0] = jx_reduce_sum(y, JX_NOINTS);
}

static void test_conv_grad_closed_form(void) {
    jx_conv_opts o = {JX_INTS(2), JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS, 0};
    jx_aval a[2] = {JX_AVAL(JX_F64, 1, 1, 5), JX_AVAL(JX_F64, 1, 1, 2)};
    jx_fn *f = jx_trace("conv_sum", f_conv_sum, &o, 2, a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[5] = {1, 2, 3, 4, 5}, wv[2] = {10, 100};
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(1, 1, 5), xv), jt_array(JX_F64, JX_INTS(1, 1, 2), wv)};
    jx_array *out[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 2, out), JX_OK);
    /* outputs read (x0,x1) and (x2,x3); x4 is never read */
    double gx[5] = {10, 100, 10, 100, 0}, gw[2] = {1 + 3, 2 + 4};
    JT_ASSERT_ARRAY(out[0], gx, 5, 0);
    JT_ASSERT_ARRAY(out[1], gw, 2, 0);
    for (int i = 0; i < 2; i++) {
        jx_array_release(out[i]);
        jx_array_release(in[i]);
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ windows */

static int check_pool(const char *name, jx_ints xs, const jt_window *w) {
    jx_aval a = jx_aval_make(JX_F64, xs);
    return jt_check_grads(name, jt_b_pool, (void *)w, 1, &a, -2, 2, 1e-6);
}

static void test_avg_pool_grads(void) {
    jt_window p = {JX_WINDOW_SUM, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS};
    CU_ASSERT(check_pool("sum pool 2x2/2", JX_INTS(2, 3, 6, 6), &p));
    jt_window same = {JX_WINDOW_SUM, JX_INTS(1, 1, 3, 3), JX_NOINTS, JX_INTS(0, 0, 1, 1), JX_INTS(0, 0, 1, 1)};
    CU_ASSERT(check_pool("sum pool 3x3 same", JX_INTS(1, 2, 5, 4), &same));
    jt_window odd = {JX_WINDOW_SUM, JX_INTS(3, 2), JX_INTS(2, 3), JX_INTS(1, -1), JX_INTS(2, 0)};
    CU_ASSERT(check_pool("sum pool overlapping, cropped", JX_INTS(7, 9), &odd));
    jt_window r0 = {JX_WINDOW_SUM, JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS};
    CU_ASSERT(check_pool("sum pool rank 0", JX_NOINTS, &r0));
}

static void test_max_min_pool_grads(void) {
    jt_window p = {JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS};
    CU_ASSERT(check_pool("max pool 2x2/2", JX_INTS(2, 3, 6, 6), &p));
    jt_window ov = {JX_WINDOW_MAX, JX_INTS(1, 3, 3), JX_INTS(1, 2, 1), JX_INTS(0, 1, 1), JX_INTS(0, 1, 0)};
    CU_ASSERT(check_pool("max pool 3x3 overlapping, padded", JX_INTS(2, 5, 4), &ov));
    jt_window mn = {JX_WINDOW_MIN, JX_INTS(2, 3), JX_INTS(1, 2), JX_INTS(1, 0), JX_INTS(0, 2)};
    CU_ASSERT(check_pool("min pool", JX_INTS(4, 7), &mn));
}

/* d sum(maxpool(x)) / dx is 1 at each window's first maximum (ties: the first). */
static void test_max_pool_grad_values(void) {
    static const double img[16] = {1, 5, 2, 0, 3, 4, 8, 7, -1, 0, 6, 6, 9, 2, 6, 3};
    jt_window p = {JX_WINDOW_MAX, JX_INTS(4, 4), JX_INTS(1, 1), JX_INTS(1, 1), JX_INTS(1, 1)};
    jx_aval a = JX_AVAL(JX_F64, 4, 4);
    for (int k = 0; k < 2; k++) {
        p.kind = k ? JX_WINDOW_MIN : JX_WINDOW_MAX;
        p.window = k ? JX_INTS(2, 2) : JX_INTS(4, 4);
        p.strides = k ? JX_INTS(2, 2) : JX_INTS(1, 1);
        p.lo = p.hi = k ? JX_NOINTS : JX_INTS(1, 1);
        jx_fn *f = jx_trace("pool", jt_b_pool, &p, 1, &a, 1);
        jx_fn *v = f ? jx_vjp(f) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        int64_t m = k ? 2 : 3;
        jx_array *x = jt_array(JX_F64, JX_INTS(4, 4), img);
        jx_array *ones = jx_array_ones(JX_F64, JX_INTS(m, m)), *in[2] = {x, ones}, *out[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(jt_eval(v, 2, in, 2, out), JX_OK);
        /* max 4x4 windows, stride 1, pad 1: the 3x3 windows with rows >= 1 and columns
         * <= 1 see the 9 at (3,0); the other five all see the 8 at (1,2) */
        double gmax[16] = {0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 4, 0, 0, 0};
        /* min 2x2/2: 1 at (0,0), 0 at (0,3), -1 at (2,0), 3 at (3,3) */
        double gmin[16] = {1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1};
        JT_ASSERT_ARRAY(out[1], k ? gmin : gmax, 16, 0);
        jx_array_release(out[0]);
        jx_array_release(out[1]);
        jx_array_release(ones);
        jx_array_release(x);
        jx_fn_release(v);
        jx_fn_release(f);
    }
}

/* select_and_scatter_add and select_and_gather_add: linear in their first operand. */
static const int64_t sel_win[2] = {2, 3}, sel_str[2] = {1, 2}, sel_lo[2] = {1, 0}, sel_hi[2] = {0, 1};

static void sel_body(jx_val *out, const jx_val *in, void *user) {
    jx__attr at[4] = {jx__a_ints(JX_A_WINDOW, (jx_ints){sel_win, 2}), jx__a_ints(JX_A_STRIDES, (jx_ints){sel_str, 2}),
                      jx__a_ints(JX_A_LO, (jx_ints){sel_lo, 2}), jx__a_ints(JX_A_HI, (jx_ints){sel_hi, 2})};
    jx_prim p = user ? JX_PRIM_SELECT_AND_SCATTER_ADD : JX_PRIM_SELECT_AND_GATHER_ADD;
    /* a nonlinear use of the result so the check sees second-order terms too */
    jx_val y = jx__bind1(JX_HERE, p, 2, in, 4, at);
    out[0] = jx_mul(y, y);
}

static void test_select_and_add_grads(void) {
    /* x (4,7) windows 2x3 stride (1,2) pad lo (1,0) hi (0,1): output (4,3) */
    jx_aval g[2] = {JX_AVAL(JX_F64, 4, 7), JX_AVAL(JX_F64, 4, 7)};
    CU_ASSERT(jt_check_grads("select_and_gather_add", sel_body, NULL, 2, g, -2, 2, 1e-6));
    jx_aval s[2] = {JX_AVAL(JX_F64, 4, 3), JX_AVAL(JX_F64, 4, 7)};
    CU_ASSERT(jt_check_grads("select_and_scatter_add", sel_body, (void *)1, 2, s, -2, 2, 1e-6));
}

/* ------------------------------------------------------------------ second order */

/* L(x, w) = sum(tanh(pool(conv(x, w)))): its gradient is a function of (x, w) built from
 * the transposes above, so checking the gradient's own jvp and vjp differentiates
 * those (Hessian-vector products). */
static void f_second(jx_val *out, const jx_val *in, void *u) {
    const jt_window *w = u;
    jx_conv_opts o = {JX_INTS(1, 2), JX_INTS(1, 0), JX_INTS(0, 1), JX_NOINTS, JX_INTS(2, 1), 2};
    jx_val h = jx_conv(in[0], in[1], &o);
    h = jx_reduce_window(h, w->kind, w->window, w->strides, w->lo, w->hi);
    out[0] = jx_reduce_sum(jx_tanh(h), JX_NOINTS);
}

static void test_second_order(void) {
    jt_window pools[3] = {
        {JX_WINDOW_SUM, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 1, 2), JX_INTS(0, 0, 1, 0), JX_NOINTS},
        {JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 1), JX_NOINTS, JX_INTS(0, 0, 0, 1)},
        {JX_WINDOW_MIN, JX_INTS(1, 2, 1, 2), JX_INTS(1, 1, 1, 1), JX_NOINTS, JX_NOINTS},
    };
    jx_aval a[2] = {JX_AVAL(JX_F64, 2, 4, 5, 4), JX_AVAL(JX_F64, 4, 2, 2, 2)};
    for (int k = 0; k < 3; k++) {
        jx_fn *f = jx_trace("second", f_second, &pools[k], 2, a, 1);
        jx_fn *g = f ? jx_grad(f, JX_INTS(0, 1)) : NULL;
        if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        uint64_t seed = 99;
        jx_array *x[2] = {jt_random((jx_ints){a[0].shape, 4}, -1, 1, &seed), jt_random((jx_ints){a[1].shape, 4}, -1, 1, &seed)};
        double ej = jt_jvp_error(g, x, 1e-6, 3), ev = jt_vjp_error(g, x, 5);
        if (!(ej <= 1e-6 && ev <= 1e-10)) fprintf(stderr, "\n  second order %d: jvp %g vjp %g\n", k, ej, ev);
        CU_ASSERT(ej <= 1e-6);
        CU_ASSERT(ev <= 1e-10);
        jx_array_release(x[0]);
        jx_array_release(x[1]);
        jx_fn_release(g);
        jx_fn_release(f);
    }
}

/* ------------------------------------------------------------------ a small CNN */

/* loss(x, w, b, wd) for images x (2,1,6,6), conv 3x3 same to 3 channels, bias, tanh,
 * 2x2 max pool, dense to 4 classes, log_softmax, mean negative log-likelihood of
 * class 1. */
static void cnn_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_conv_opts o = {JX_NOINTS, JX_INTS(1, 1), JX_INTS(1, 1), JX_NOINTS, JX_NOINTS, 0};
    jx_val h = jx_conv(in[0], in[1], &o);                                     /* (2,3,6,6) */
    h = jx_add(h, jx_broadcast_in_dim(in[2], JX_INTS(2, 3, 6, 6), JX_INTS(1))); /* bias per channel */
    h = jx_tanh(h);
    h = jx_reduce_window(h, JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
    h = jx_reshape(h, JX_INTS(2, 27));
    jx_val logits = jx_matmul(h, in[3]); /* (2,4) */
    jx_val lp = jx_log_softmax(logits, 1);
    jx_val pick = jx_slice(lp, JX_INTS(0, 1), JX_INTS(2, 2), JX_NOINTS);
    out[0] = jx_neg(jx_mean(pick, JX_NOINTS));
}

static void test_cnn_loss(void) {
    jx_aval a[4] = {JX_AVAL(JX_F64, 2, 1, 6, 6), JX_AVAL(JX_F64, 3, 1, 3, 3), JX_AVAL(JX_F64, 3),
                    JX_AVAL(JX_F64, 27, 4)};
    CU_ASSERT(jt_check_grads("cnn", cnn_body, NULL, 4, a, -1, 1, 1e-6));
    /* and through jx_grad: every parameter gets a gradient of its shape */
    jx_fn *f = jx_trace("cnn", cnn_body, NULL, 4, a, 1);
    jx_fn *g = f ? jx_grad(f, JX_INTS(1, 2, 3)) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(g), 3);
    for (int i = 0; i < 3; i++) {
        jx_aval o = jx_fn_output_aval(g, i);
        CU_ASSERT(jx_aval_equal(&o, &a[i + 1]));
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"conv 1-D: strides, padding, dilation", test_conv_1d},
        {"conv 2-D", test_conv_2d},
        {"transposed conv (lhs dilation)", test_conv_transposed},
        {"grouped and depthwise conv", test_conv_groups},
        {"conv 3-D", test_conv_3d},
        {"conv gradient in closed form", test_conv_grad_closed_form},
        {"average pooling", test_avg_pool_grads},
        {"max and min pooling", test_max_min_pool_grads},
        {"max/min pool gradient values", test_max_pool_grad_values},
        {"select_and_gather_add / select_and_scatter_add", test_select_and_add_grads},
        {"second order through conv and pooling", test_second_order},
        {"a small CNN loss", test_cnn_loss},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad conv", tests);
}
