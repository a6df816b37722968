/* norm.c: batch norm (train and eval, optionally synchronised over a named axis),
 * layer norm and group norm, with Flax's
 * arithmetic: var = max(0, mean(x^2) - mean(x)^2), y = (x - mean) * (rsqrt(var + eps)
 * * scale) + bias, so values and gradients match Flax's to rounding. */
#include "nn_util.h"
#include <jx/layers.h>

/* Mean and variance of x over axes; *m and *v keep x's rank (size 1 on the axes). With
 * axis_name (sync batch norm) the mean and the mean of squares are pmean'd over the
 * named axis first, so every device uses the statistics of the global batch. */
static void stats(jx_loc loc, jx_val x, jx_ints axes, const char *axis_name, jx_val *m, jx_val *v) {
    int r = jx_rank(x);
    int64_t keep[JX_MAX_RANK];
    for (int i = 0; i < r; i++) keep[i] = jx_dim(x, i);
    for (int i = 0; i < axes.n; i++) keep[axes.v[i]] = 1;
    jx_val mean = jx_mean_at(loc, x, axes);
    jx_val mean2 = jx_mean_at(loc, jx_mul_at(loc, x, x), axes);
    if (axis_name) mean = jx_pmean_at(loc, mean, axis_name), mean2 = jx_pmean_at(loc, mean2, axis_name);
    jx_val var = jx_max_at(loc, jx_sub_at(loc, mean2, jx_mul_at(loc, mean, mean)),
                           jx_scalar_like_at(loc, x, 0.0));
    *m = jx_reshape_at(loc, mean, (jx_ints){keep, r});
    *v = jx_reshape_at(loc, var, (jx_ints){keep, r});
}

/* (x - mean) * rsqrt(var + eps) * scale + bias; scale and bias (C) may be absent. */
static jx_val normalize(jx_loc loc, jx_val x, jx_val mean, jx_val var, jx_val scale, jx_val bias,
                        double eps) {
    jx_val mul = jx_rsqrt_at(loc, jx_add_at(loc, var, jx_scalar_like_at(loc, x, eps)));
    if (jx__nn_given(scale)) mul = jx_mul_at(loc, mul, scale);
    jx_val y = jx_mul_at(loc, jx_sub_at(loc, x, mean), mul);
    return jx__nn_affine(loc, y, JX_NONE, bias);
}

/* Checks x (rank >= min_rank) and its per-channel parameters of shape (C). */
static int check_norm(jx_loc loc, const char *what, jx_val x, int min_rank, jx_val scale,
                      jx_val bias, jx_val mean, jx_val var) {
    if (!jx__nn_rank(loc, what, "input", x, -min_rank)) return 0;
    jx_ints c = JX_INTS(jx_dim(x, -1));
    return jx__nn_param(loc, what, "scale", scale, x, c) &&
           jx__nn_param(loc, what, "bias", bias, x, c) &&
           jx__nn_param(loc, what, "mean", mean, x, c) && jx__nn_param(loc, what, "var", var, x, c);
}

jx_val jx_nn_batch_norm_train_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                 jx_val var, double momentum, double eps, jx_val *new_mean,
                                 jx_val *new_var) {
    return jx_nn_batch_norm_train_axis_at(loc, x, scale, bias, mean, var, momentum, eps, NULL, new_mean, new_var);
}

jx_val jx_nn_batch_norm_train_axis_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                      jx_val var, double momentum, double eps, const char *axis_name,
                                      jx_val *new_mean, jx_val *new_var) {
    const char *what = "batch_norm";
    if (new_mean) *new_mean = JX_NONE;
    if (new_var) *new_var = JX_NONE;
    if (!jx__nn_valid(loc, what, "mean", mean) || !jx__nn_valid(loc, what, "var", var) ||
        !check_norm(loc, what, x, 1, scale, bias, mean, var))
        return JX_NONE;
    int r = jx_rank(x);
    int64_t axes[JX_MAX_RANK];
    for (int i = 0; i < r - 1; i++) axes[i] = i;
    jx_val m, v;
    stats(loc, x, (jx_ints){axes, r - 1}, axis_name, &m, &v);
    jx_val mom = jx_scalar_like_at(loc, x, momentum), rest = jx_scalar_like_at(loc, x, 1 - momentum);
    jx_ints c = JX_INTS(jx_dim(x, -1));
    if (new_mean)
        *new_mean = jx_add_at(loc, jx_mul_at(loc, mom, mean), jx_mul_at(loc, rest, jx_reshape_at(loc, m, c)));
    if (new_var)
        *new_var = jx_add_at(loc, jx_mul_at(loc, mom, var), jx_mul_at(loc, rest, jx_reshape_at(loc, v, c)));
    return normalize(loc, x, m, v, scale, bias, eps);
}

jx_val jx_nn_batch_norm_eval_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                jx_val var, double eps) {
    const char *what = "batch_norm";
    if (!jx__nn_valid(loc, what, "mean", mean) || !jx__nn_valid(loc, what, "var", var) ||
        !check_norm(loc, what, x, 1, scale, bias, mean, var))
        return JX_NONE;
    return normalize(loc, x, mean, var, scale, bias, eps);
}

jx_val jx_nn_layer_norm_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, double eps) {
    if (!check_norm(loc, "layer_norm", x, 1, scale, bias, JX_NONE, JX_NONE)) return JX_NONE;
    jx_val m, v;
    stats(loc, x, JX_INTS(jx_rank(x) - 1), NULL, &m, &v);
    return normalize(loc, x, m, v, scale, bias, eps);
}

jx_val jx_nn_group_norm_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, int64_t groups,
                           double eps) {
    const char *what = "group_norm";
    if (!check_norm(loc, what, x, 2, scale, bias, JX_NONE, JX_NONE)) return JX_NONE;
    int r = jx_rank(x);
    int64_t c = jx_dim(x, -1);
    if (groups < 1 || c % groups)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "%lld groups do not divide the %lld channels of input %s",
                                 (long long)groups, (long long)c, jx__nn_avs(x));
    /* (N,...,C) -> (N,...,G,C/G), statistics over all but N and G */
    int64_t shape[JX_MAX_RANK + 1], axes[JX_MAX_RANK];
    int na = 0;
    for (int i = 0; i < r - 1; i++) shape[i] = jx_dim(x, i);
    shape[r - 1] = groups;
    shape[r] = c / groups;
    if (r + 1 > JX_MAX_RANK)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "input %s: rank %d is too large to split channels",
                                 jx__nn_avs(x), r);
    for (int i = 1; i < r - 1; i++) axes[na++] = i;
    axes[na++] = r;
    jx_val g = jx_reshape_at(loc, x, (jx_ints){shape, r + 1});
    jx_val m, v;
    stats(loc, g, (jx_ints){axes, na}, NULL, &m, &v);
    jx_val y = normalize(loc, g, m, v, JX_NONE, JX_NONE, eps);
    shape[r - 1] = c;
    y = jx_reshape_at(loc, y, (jx_ints){shape, r});
    return jx__nn_affine(loc, y, scale, bias);
}
