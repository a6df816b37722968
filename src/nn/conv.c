/* conv.c: dense, conv2d and conv_transpose2d over NHWC images and HWIO kernels, the
 * layouts of Flax. The core's convolution is NCHW/OIHW, so nhwc_conv() transposes
 * around it: the one place to change once the core takes dimension numbers. */
#include "nn_util.h"
#include <jx/layers.h>

jx_val jx_nn_dense_at(jx_loc loc, jx_val x, jx_val w, jx_val b) {
    const char *what = "dense";
    if (!jx__nn_rank(loc, what, "input", x, -1) || !jx__nn_rank(loc, what, "kernel", w, 2))
        return JX_NONE;
    int r = jx_rank(x);
    int64_t in = jx_dim(x, -1), out = jx_dim(w, 1);
    if (jx_dim(w, 0) != in)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what,
                                 "kernel %s wants %lld input features, input %s has %lld",
                                 jx__nn_avs(w), (long long)jx_dim(w, 0), jx__nn_avs(x),
                                 (long long)in);
    if (!jx__nn_param(loc, what, "kernel", w, x, JX_INTS(in, out)) ||
        !jx__nn_param(loc, what, "bias", b, x, JX_INTS(out)))
        return JX_NONE;
    jx_val y = jx_dot_general_at(loc, x, w, JX_INTS(r - 1), JX_INTS(0), JX_NOINTS, JX_NOINTS);
    return jx__nn_affine(loc, y, JX_NONE, b);
}

/* x (N,H,W,C) * w (KH,KW,C/g,O) -> (N,OH,OW,O) on the core's NCHW convolution. */
static jx_val nhwc_conv(jx_loc loc, jx_val x, jx_val w, const int64_t stride[2],
                        const int64_t lo[2], const int64_t hi[2], const int64_t lhs_dil[2],
                        const int64_t rhs_dil[2], int64_t groups) {
    jx_val xt = jx_transpose_at(loc, x, JX_INTS(0, 3, 1, 2));
    jx_val wt = jx_transpose_at(loc, w, JX_INTS(3, 2, 0, 1));
    jx_conv_opts o = {{stride, 2}, {lo, 2}, {hi, 2}, {lhs_dil, 2}, {rhs_dil, 2}, groups};
    jx_val y = jx_conv_at(loc, xt, wt, &o);
    return jx_transpose_at(loc, y, JX_INTS(0, 2, 3, 1));
}

/* Checks x, w and b of a 2-D convolution; in_ch is the kernel's input channels per
 * group. Returns 0 after recording an error. */
static int check_conv(jx_loc loc, const char *what, jx_val x, jx_val w, jx_val b, int64_t groups) {
    if (!jx__nn_rank(loc, what, "input", x, 4) || !jx__nn_rank(loc, what, "kernel", w, 4))
        return 0;
    int64_t c = jx_dim(x, 3), kc = jx_dim(w, 2), o = jx_dim(w, 3);
    if (groups < 1 || c % groups || o % groups) {
        jx__nn_fail(loc, JX_ERR_SHAPE, what,
                          "%lld groups do not divide the %lld input and %lld output channels "
                          "of input %s and kernel %s",
                          (long long)groups, (long long)c, (long long)o, jx__nn_avs(x),
                          jx__nn_avs(w));
        return 0;
    }
    if (kc * groups != c) {
        jx__nn_fail(loc, JX_ERR_SHAPE, what,
                          "kernel %s wants %lld input channels (groups %lld), input %s has %lld",
                          jx__nn_avs(w), (long long)(kc * groups), (long long)groups,
                          jx__nn_avs(x), (long long)c);
        return 0;
    }
    if (jx_dtype_of(w) != jx_dtype_of(x)) {
        jx__nn_fail(loc, JX_ERR_DTYPE, what, "kernel %s and input %s differ in dtype",
                          jx__nn_avs(w), jx__nn_avs(x));
        return 0;
    }
    return jx__nn_param(loc, what, "bias", b, x, JX_INTS(o));
}

/* Defaults for zero fields. */
static jx_nn_conv2d_opts conv_defaults(const jx_nn_conv2d_opts *opts) {
    jx_nn_conv2d_opts o = opts ? *opts : (jx_nn_conv2d_opts){{0}, {0}, JX_NN_PAD_VALID, {0}, 0};
    for (int i = 0; i < 2; i++) {
        if (o.stride[i] == 0) o.stride[i] = 1;
        if (o.dilation[i] == 0) o.dilation[i] = 1;
    }
    if (o.groups == 0) o.groups = 1;
    return o;
}

static int check_opts(jx_loc loc, const char *what, const jx_nn_conv2d_opts *o) {
    for (int i = 0; i < 2; i++)
        if (o->stride[i] < 1 || o->dilation[i] < 1) {
            jx__nn_fail(loc, JX_ERR_ARG, what, "stride (%lld,%lld) and dilation (%lld,%lld) must be positive",
                              (long long)o->stride[0], (long long)o->stride[1],
                              (long long)o->dilation[0], (long long)o->dilation[1]);
            return 0;
        }
    if ((unsigned)o->padding > JX_NN_PAD_EXPLICIT) {
        jx__nn_fail(loc, JX_ERR_ARG, what, "unknown padding kind %d", (int)o->padding);
        return 0;
    }
    return 1;
}

jx_val jx_nn_conv2d_at(jx_loc loc, jx_val x, jx_val w, jx_val b, const jx_nn_conv2d_opts *opts) {
    const char *what = "conv2d";
    jx_nn_conv2d_opts o = conv_defaults(opts);
    if (!check_opts(loc, what, &o) || !check_conv(loc, what, x, w, b, o.groups)) return JX_NONE;
    int64_t lo[2] = {0, 0}, hi[2] = {0, 0}, one[2] = {1, 1};
    for (int i = 0; i < 2; i++) {
        int64_t k = (jx_dim(w, i) - 1) * o.dilation[i] + 1;
        if (o.padding == JX_NN_PAD_SAME)
            jx__nn_same_pads(jx_dim(x, 1 + i), k, o.stride[i], &lo[i], &hi[i]);
        else if (o.padding == JX_NN_PAD_EXPLICIT)
            lo[i] = o.pad[2 * i], hi[i] = o.pad[2 * i + 1];
    }
    jx_val y = nhwc_conv(loc, x, w, o.stride, lo, hi, one, o.dilation, o.groups);
    return jx__nn_affine(loc, y, JX_NONE, b);
}

/* lax's _conv_transpose_padding for a dilated kernel size k and a stride s. */
static void transpose_pads(int64_t k, int64_t s, jx_nn_padding p, int64_t *lo, int64_t *hi) {
    int64_t len, a;
    if (p == JX_NN_PAD_SAME) {
        len = k + s - 2;
        a = s > k - 1 ? k - 1 : (len + 1) / 2;
    } else {
        len = k + s - 2 + (k > s ? k - s : 0);
        a = k - 1;
    }
    *lo = a;
    *hi = len - a;
}

jx_val jx_nn_conv_transpose2d_at(jx_loc loc, jx_val x, jx_val w, jx_val b,
                                 const jx_nn_conv2d_opts *opts) {
    const char *what = "conv_transpose2d";
    jx_nn_conv2d_opts o = conv_defaults(opts);
    if (!check_opts(loc, what, &o)) return JX_NONE;
    if (o.groups != 1)
        return jx__nn_fail(loc, JX_ERR_UNSUPPORTED, what, "groups %lld: only 1 is supported",
                                 (long long)o.groups);
    if (!check_conv(loc, what, x, w, b, 1)) return JX_NONE;
    int64_t lo[2], hi[2], one[2] = {1, 1};
    for (int i = 0; i < 2; i++) {
        int64_t k = (jx_dim(w, i) - 1) * o.dilation[i] + 1;
        if (o.padding == JX_NN_PAD_EXPLICIT)
            lo[i] = o.pad[2 * i], hi[i] = o.pad[2 * i + 1];
        else
            transpose_pads(k, o.stride[i], o.padding, &lo[i], &hi[i]);
    }
    jx_val y = nhwc_conv(loc, x, w, one, lo, hi, o.stride, o.dilation, 1);
    return jx__nn_affine(loc, y, JX_NONE, b);
}
