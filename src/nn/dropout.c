/* dropout.c: inverted dropout with the keep mask of jax.random.bernoulli, bit for bit.
 *
 * Under JAX's default configuration (x64 off, jax_threefry_partitionable=True since JAX
 * 0.5) bernoulli(key, p, shape) is uniform(key, shape, f32) < f32(p), where element i
 * (row-major) draws bits = y0 ^ y1 with (y0, y1) = threefry2x32(key, (0, i)), and
 * uniform = (bits >> 9) * 2^-23 exactly. So the comparison is an integer one:
 * (bits >> 9) < ceil(f32(p) * 2^23), with no float rounding to reproduce.
 *
 * Under pmap (jx_nn_dropout_axis) each device draws only its slice of the global batch's
 * mask, by starting the counters i at its offset in the global batch: the devices together
 * drop exactly the elements a single device would drop on the whole batch. */
#include <math.h>

#include "nn_util.h"
#include <jx/layers.h>

/* The keep mask: bool of x's shape, true with probability keep. With axis_name, x is
 * slice i (axis_index) of a batch cut along axis 0 into equal slices in axis order, and
 * the mask is slice i of the whole batch's mask: the counters start at i * x's size. */
static jx_val keep_mask(jx_loc loc, jx_val x, double keep, jx_val key, const char *axis_name) {
    int r = jx_rank(x);
    int64_t n = 1, shape[JX_MAX_RANK];
    for (int i = 0; i < r; i++) n *= shape[i] = jx_dim(x, i);
    jx_val lo = jx_iota_at(loc, JX_U32, JX_INTS(n), 0);
    if (axis_name) {
        jx_val first = jx_mul_at(loc, jx_convert_at(loc, jx_axis_index_at(loc, axis_name), JX_U32),
                                 jx_scalar_at(loc, JX_U32, (double)n));
        lo = jx_add_at(loc, lo, first);
    }
    lo = jx_reshape_at(loc, lo, (jx_ints){shape, r});
    jx_val hi = jx_zeros_like_at(loc, lo);
    jx_val k0 = jx_reshape_at(loc, jx_slice_at(loc, key, JX_INTS(0), JX_INTS(1), JX_NOINTS), JX_NOINTS);
    jx_val k1 = jx_reshape_at(loc, jx_slice_at(loc, key, JX_INTS(1), JX_INTS(2), JX_NOINTS), JX_NOINTS);
    jx_val y0, y1;
    jx_threefry2x32_at(loc, k0, k1, hi, lo, &y0, &y1);
    jx_val mant = jx_shift_right_logical_at(loc, jx_xor_at(loc, y0, y1), jx_scalar_at(loc, JX_U32, 9));
    double threshold = ceil((double)(float)keep * 8388608.0); /* 2^23 */
    return jx_lt_at(loc, mant, jx_scalar_at(loc, JX_U32, threshold));
}

jx_val jx_nn_dropout_at(jx_loc loc, jx_val x, double rate, jx_val key) {
    return jx_nn_dropout_axis_at(loc, x, rate, key, NULL);
}

jx_val jx_nn_dropout_axis_at(jx_loc loc, jx_val x, double rate, jx_val key, const char *axis_name) {
    const char *what = "dropout";
    if (!jx__nn_float(loc, what, "input", x) || !jx__nn_valid(loc, what, "key", key)) return JX_NONE;
    jx_aval k = jx_aval_of(key);
    if (k.dtype != JX_U32 || k.rank != 1 || k.shape[0] != 2)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "key %s must be u32[2]", jx__nn_avs(key));
    if (!(rate >= 0 && rate <= 1))
        return jx__nn_fail(loc, JX_ERR_ARG, what, "rate %g must be in [0, 1]", rate);
    int64_t n = 1;
    for (int i = 0; i < jx_rank(x); i++) n *= jx_dim(x, i);
    if (n > (int64_t)UINT32_MAX)
        return jx__nn_fail(loc, JX_ERR_UNSUPPORTED, what, "input %s has 2^32 elements or more",
                                 jx__nn_avs(x));
    if (rate == 0) return x;
    jx_val zero = jx_zeros_like_at(loc, x);
    if (rate == 1) return zero;
    double keep = 1.0 - rate;
    jx_val scaled = jx_div_at(loc, x, jx_scalar_like_at(loc, x, keep));
    return jx_select_at(loc, keep_mask(loc, x, keep, key, axis_name), scaled, zero);
}
