/* composites.c: neural-network and statistics helpers written as plain functions over
 * the public ops (each emits several equations), following jax.nn / jax.numpy's
 * formulas so values and gradients match. The caller's loc is passed to every op so
 * an error names the user's line. */
#include <math.h>

#include "reduce_util.h"

/* jax.nn.relu: max(x, 0) with derivative 0 at 0 (JAX's custom jvp, select(x > 0, g, 0)):
 * x <= 0 ? 0 : x, whose tangent is the same select; NaN passes through as in max. */
jx_val jx_relu_at(jx_loc loc, jx_val x) {
    jx_val z = jx_scalar_like_at(loc, x, 0);
    return jx_select_at(loc, jx_le_at(loc, x, z), z, x);
}

/* jax.nn.gelu(approximate=True): x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) */
jx_val jx_gelu_at(jx_loc loc, jx_val x) {
    jx_val x3 = jx_integer_pow_at(loc, x, 3);
    jx_val inner = jx_add_at(loc, x, jx_mul_at(loc, jx_scalar_like_at(loc, x, 0.044715), x3));
    jx_val t = jx_tanh_at(loc, jx_mul_at(loc, jx_scalar_like_at(loc, x, 0.7978845608028654 /* sqrt(2/pi) */), inner));
    jx_val cdf = jx_mul_at(loc, jx_scalar_like_at(loc, x, 0.5), jx_add_at(loc, jx_scalar_like_at(loc, x, 1), t));
    return jx_mul_at(loc, x, cdf);
}

/* jax.nn.gelu(approximate=False): x * 0.5 * erfc(-x / sqrt(2)), JAX's exact form */
jx_val jx_gelu_exact_at(jx_loc loc, jx_val x) {
    jx_val c = jx_erfc_at(loc, jx_mul_at(loc, x, jx_scalar_like_at(loc, x, -0.7071067811865476 /* -sqrt(1/2) */)));
    return jx_mul_at(loc, jx_mul_at(loc, jx_scalar_like_at(loc, x, 0.5), x), c);
}

jx_val jx_sigmoid_at(jx_loc loc, jx_val x) { return jx_logistic_at(loc, x); }

jx_val jx_square_at(jx_loc loc, jx_val x) { return jx_integer_pow_at(loc, x, 2); }

/* jnp.clip: min(max(x, lo), hi); NaN passes through. */
jx_val jx_clamp_at(jx_loc loc, jx_val x, double lo, double hi) {
    jx_val m = jx_max_at(loc, x, jx_scalar_like_at(loc, x, lo));
    return jx_min_at(loc, m, jx_scalar_like_at(loc, x, hi));
}

jx_val jx_sum_at(jx_loc loc, jx_val x, jx_ints axes) { return jx_reduce_sum_at(loc, x, axes); }

/* Normalised axes of x for a composite; false (error recorded) when x or an axis is bad. */
static bool axes_of(jx_loc loc, const char *what, jx_val x, jx_ints axes, jx_aval *xa, int64_t *ax, int *n) {
    return jx__ops_aval(loc, what, x, xa) && jx__norm_axes(loc, what, xa, axes, ax, n);
}

/* Broadcasts r (x reduced over the sorted axes ax) back to x's shape: keepdims. */
static jx_val unreduce(jx_loc loc, jx_val r, const jx_aval *xa, const int64_t *ax, int n) {
    int64_t dims[JX_MAX_RANK];
    int k = 0, j = 0;
    for (int d = 0; d < xa->rank; d++) {
        if (j < n && ax[j] == d)
            j++;
        else
            dims[k++] = d;
    }
    return jx_broadcast_in_dim_at(loc, r, (jx_ints){xa->shape, xa->rank}, (jx_ints){dims, k});
}

/* sum / count; for integers the division truncates (the dtype is kept). */
static jx_val mean_over(jx_loc loc, jx_val x, const jx_aval *xa, const int64_t *ax, int n) {
    double count = 1;
    for (int i = 0; i < n; i++) count *= (double)xa->shape[ax[i]];
    jx_val s = jx_reduce_sum_at(loc, x, (jx_ints){ax, n});
    return jx_div_at(loc, s, jx_scalar_like_at(loc, s, count));
}

jx_val jx_mean_at(jx_loc loc, jx_val x, jx_ints axes) {
    jx_aval xa;
    int64_t ax[JX_MAX_RANK];
    int n;
    if (!axes_of(loc, "mean", x, axes, &xa, ax, &n)) return jx__ops_invalid();
    return mean_over(loc, x, &xa, ax, n);
}

/* jnp.var: mean(square(x - mean(x, keepdims))), the centred (stable) form. */
jx_val jx_var_at(jx_loc loc, jx_val x, jx_ints axes) {
    jx_aval xa;
    int64_t ax[JX_MAX_RANK];
    int n;
    if (!axes_of(loc, "var", x, axes, &xa, ax, &n)) return jx__ops_invalid();
    jx_val m = unreduce(loc, mean_over(loc, x, &xa, ax, n), &xa, ax, n);
    jx_val c = jx_sub_at(loc, x, m);
    return mean_over(loc, jx_square_at(loc, c), &xa, ax, n);
}

/* The one axis of a softmax-like composite, normalised; false (recorded) if bad. */
static bool one_axis(jx_loc loc, const char *what, jx_val x, int axis, jx_aval *xa, int64_t *ax) {
    int n;
    int64_t a = axis;
    return axes_of(loc, what, x, (jx_ints){&a, 1}, xa, ax, &n);
}

/* max of x over ax, kept out of differentiation: it only shifts for stability. */
static jx_val shift_max(jx_loc loc, jx_val x, const int64_t *ax) {
    return jx_stop_gradient_at(loc, jx_reduce_max_at(loc, x, (jx_ints){ax, 1}));
}

/* jax.nn.logsumexp: log(sum(exp(x - m))) + m with m the max, replaced by 0 where it is
 * not finite (so all -inf gives -inf, not NaN) and held under stop_gradient. */
jx_val jx_logsumexp_at(jx_loc loc, jx_val x, int axis) {
    jx_aval xa;
    int64_t ax[1];
    if (!one_axis(loc, "logsumexp", x, axis, &xa, ax)) return jx__ops_invalid();
    if (xa.dtype != JX_F32 && xa.dtype != JX_F64)
        return jx__ops_fail(loc, JX_ERR_DTYPE, "logsumexp", "needs f32 or f64, got %s", jx__avs(&xa));
    jx_val m = jx_reduce_max_at(loc, x, (jx_ints){ax, 1});
    jx_val finite = jx_lt_at(loc, jx_abs_at(loc, m), jx_scalar_like_at(loc, m, INFINITY));
    m = jx_stop_gradient_at(loc, jx_select_at(loc, finite, m, jx_scalar_like_at(loc, m, 0)));
    jx_val e = jx_exp_at(loc, jx_sub_at(loc, x, unreduce(loc, m, &xa, ax, 1)));
    jx_val s = jx_reduce_sum_at(loc, e, (jx_ints){ax, 1});
    return jx_add_at(loc, jx_log_at(loc, s), m);
}

/* jax.nn.softmax: exp(x - max) / sum(exp(x - max)). */
jx_val jx_softmax_at(jx_loc loc, jx_val x, int axis) {
    jx_aval xa;
    int64_t ax[1];
    if (!one_axis(loc, "softmax", x, axis, &xa, ax)) return jx__ops_invalid();
    jx_val u = jx_exp_at(loc, jx_sub_at(loc, x, unreduce(loc, shift_max(loc, x, ax), &xa, ax, 1)));
    jx_val s = jx_reduce_sum_at(loc, u, (jx_ints){ax, 1});
    return jx_div_at(loc, u, unreduce(loc, s, &xa, ax, 1));
}

/* jax.nn.log_softmax: (x - max) - log(sum(exp(x - max))). */
jx_val jx_log_softmax_at(jx_loc loc, jx_val x, int axis) {
    jx_aval xa;
    int64_t ax[1];
    if (!one_axis(loc, "log_softmax", x, axis, &xa, ax)) return jx__ops_invalid();
    jx_val shifted = jx_sub_at(loc, x, unreduce(loc, shift_max(loc, x, ax), &xa, ax, 1));
    jx_val s = jx_reduce_sum_at(loc, jx_exp_at(loc, shifted), (jx_ints){ax, 1});
    return jx_sub_at(loc, shifted, unreduce(loc, jx_log_at(loc, s), &xa, ax, 1));
}

/* Compares the indices, stretched along a new last axis, against an iota of classes. */
jx_val jx_one_hot_at(jx_loc loc, jx_val indices, int64_t n, jx_dtype dtype) {
    jx_aval ia = jx__val_aval(indices);
    if (ia.rank < 0) return jx_convert_at(loc, indices, dtype); /* the bind reports it */
    if (!jx_dtype_is_int(ia.dtype))
        return jx__ops_fail(loc, JX_ERR_DTYPE, "one_hot", "indices must be integers, got %s", jx__avs(&ia));
    if (n < 0) return jx__ops_fail(loc, JX_ERR_ARG, "one_hot", "number of classes %lld is negative", (long long)n);
    if (ia.rank == JX_MAX_RANK)
        return jx__ops_fail(loc, JX_ERR_SHAPE, "one_hot", "result of %s would have rank above %d", jx__avs(&ia),
                           JX_MAX_RANK);
    /* an iota in a narrow index dtype would wrap past its range and match wrongly */
    double top = ia.dtype == JX_U8 ? 255.0 : ia.dtype == JX_I32 ? 2147483647.0 : ia.dtype == JX_U32 ? 4294967295.0 : 0;
    jx_dtype it = ia.dtype == JX_I64 || (double)(n - 1) <= top ? ia.dtype : JX_I64;
    jx_val idx = it == ia.dtype ? indices : jx_convert_at(loc, indices, it);
    int64_t shape[JX_MAX_RANK], dims[JX_MAX_RANK];
    for (int d = 0; d < ia.rank; d++) shape[d] = ia.shape[d], dims[d] = d;
    shape[ia.rank] = n;
    jx_ints out_shape = {shape, ia.rank + 1};
    jx_val b = jx_broadcast_in_dim_at(loc, idx, out_shape, (jx_ints){dims, ia.rank});
    jx_val classes = jx_iota_at(loc, it, out_shape, ia.rank);
    return jx_convert_at(loc, jx_eq_at(loc, b, classes), dtype);
}
