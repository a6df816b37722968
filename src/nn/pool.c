/* pool.c: max and average pooling over NHWC images, on the core's reduce_window. */
#include "nn_util.h"
#include <jx/layers.h>

/* Checks the input and window and fills the 4-D window, strides and pads. */
static int pool_setup(jx_loc loc, const char *what, jx_val x, int64_t kh, int64_t kw, int64_t sh,
                      int64_t sw, jx_nn_padding padding, int64_t win[4], int64_t str[4],
                      int64_t lo[4], int64_t hi[4]) {
    if (!jx__nn_rank(loc, what, "input", x, 4)) return 0;
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1) {
        jx__nn_fail(loc, JX_ERR_ARG, what, "window (%lld,%lld) and strides (%lld,%lld) must be positive",
                          (long long)kh, (long long)kw, (long long)sh, (long long)sw);
        return 0;
    }
    if (padding != JX_NN_PAD_SAME && padding != JX_NN_PAD_VALID) {
        jx__nn_fail(loc, JX_ERR_ARG, what, "padding must be SAME or VALID");
        return 0;
    }
    int64_t k[2] = {kh, kw}, s[2] = {sh, sw};
    for (int i = 0; i < 4; i++) win[i] = str[i] = 1, lo[i] = hi[i] = 0;
    for (int i = 0; i < 2; i++) {
        int64_t n = jx_dim(x, 1 + i);
        win[1 + i] = k[i];
        str[1 + i] = s[i];
        if (padding == JX_NN_PAD_SAME) jx__nn_same_pads(n, k[i], s[i], &lo[1 + i], &hi[1 + i]);
        else if (n < k[i]) {
            jx__nn_fail(loc, JX_ERR_SHAPE, what, "window (%lld,%lld) is larger than input %s (VALID padding)",
                              (long long)kh, (long long)kw, jx__nn_avs(x));
            return 0;
        }
    }
    return 1;
}

jx_val jx_nn_max_pool_at(jx_loc loc, jx_val x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         jx_nn_padding padding) {
    int64_t win[4], str[4], lo[4], hi[4];
    if (!pool_setup(loc, "max_pool", x, kh, kw, sh, sw, padding, win, str, lo, hi)) return JX_NONE;
    return jx_reduce_window_at(loc, x, JX_WINDOW_MAX, (jx_ints){win, 4}, (jx_ints){str, 4},
                               (jx_ints){lo, 4}, (jx_ints){hi, 4});
}

jx_val jx_nn_avg_pool_at(jx_loc loc, jx_val x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         jx_nn_padding padding, int count_include_pad) {
    int64_t win[4], str[4], lo[4], hi[4];
    if (!pool_setup(loc, "avg_pool", x, kh, kw, sh, sw, padding, win, str, lo, hi)) return JX_NONE;
    jx_ints W = {win, 4}, S = {str, 4}, L = {lo, 4}, H = {hi, 4};
    jx_val sum = jx_reduce_window_at(loc, x, JX_WINDOW_SUM, W, S, L, H);
    if (count_include_pad || padding == JX_NN_PAD_VALID)
        return jx_div_at(loc, sum, jx_scalar_like_at(loc, x, (double)(kh * kw)));
    /* the number of real inputs under each window: a window sum over ones of one image */
    jx_val ones = jx_full_at(loc, jx_dtype_of(x), JX_INTS(1, jx_dim(x, 1), jx_dim(x, 2), 1), 1.0);
    jx_val count = jx_reduce_window_at(loc, ones, JX_WINDOW_SUM, W, S, L, H);
    return jx_div_at(loc, sum, count);
}
