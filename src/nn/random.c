/* random.c: jax.random's algorithms over the threefry2x32 primitive, as traced ops.
 * Each follows jax/_src/random (JAX 0.10, partitionable threefry): the counters of an
 * array of shape S are the pair (high, low) 32-bit halves of its flat index, so for
 * arrays below 2^32 elements (all jx can hold) they are (0, i); 32 random bits are
 * y0 ^ y1, 64 bits are y0:y1. Float conversions are exact (a mantissa of random bits
 * times a power of two), so uniform samples match JAX bit for bit. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <jx/random.h>

#include "nn_util.h"

#define SQRT2 1.41421356237309504880 /* SQRT2 is not in C11 */

/* key must be u32[2]; splits it into two u32 scalars. */
static int key_halves(jx_loc loc, const char *op, jx_val key, jx_val *k0, jx_val *k1) {
    jx_aval a = jx_aval_of(key);
    if (a.rank < 0) return 0; /* an earlier error is already recorded */
    if (a.dtype != JX_U32 || a.rank != 1 || a.shape[0] != 2) {
        char s[64];
        jx_error_at(loc, JX_ERR_ARG, op, "a key is u32[2], got %s", jx_aval_str(&a, s, sizeof s));
        return 0;
    }
    *k0 = jx_reshape_at(loc, jx_slice_at(loc, key, JX_INTS(0), JX_INTS(1), JX_NOINTS), JX_NOINTS);
    *k1 = jx_reshape_at(loc, jx_slice_at(loc, key, JX_INTS(1), JX_INTS(2), JX_NOINTS), JX_NOINTS);
    return 1;
}

static int64_t shape_size(jx_ints shape) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    return n;
}

/* threefry2x32 over the counters (0, flat index) of an array of the given shape. */
static int hash_shape(jx_loc loc, const char *op, jx_val key, jx_ints shape, jx_val *y0, jx_val *y1) {
    jx_val k0, k1;
    if (!key_halves(loc, op, key, &k0, &k1)) return 0;
    for (int i = 0; i < shape.n; i++)
        if (shape.v[i] < 0) {
            jx_error_at(loc, JX_ERR_SHAPE, op, "negative dimension %lld in the shape", (long long)shape.v[i]);
            return 0;
        }
    int64_t n = shape_size(shape);
    if (n >= (int64_t)1 << 32) {
        jx_error_at(loc, JX_ERR_SHAPE, op, "%lld elements, more than 2^32", (long long)n);
        return 0;
    }
    jx_val lo = jx_reshape_at(loc, jx_iota_at(loc, JX_U32, JX_INTS(n), 0), shape);
    jx_val hi = jx_full_at(loc, JX_U32, shape, 0);
    jx_threefry2x32_at(loc, k0, k1, hi, lo, y0, y1);
    return 1;
}

jx_val jx_random_key_at(jx_loc loc, int64_t seed) {
    jx_array *k = jx_random_key_new(seed);
    jx_val v = jx_const_at(loc, k);
    jx_array_release(k);
    return v;
}

jx_val jx_random_split_at(jx_loc loc, jx_val key, int64_t n) {
    jx_val y0, y1;
    if (n < 1) return jx__nn_fail(loc, JX_ERR_ARG, "random_split", "split into %lld keys", (long long)n);
    if (!hash_shape(loc, "random_split", key, JX_INTS(n), &y0, &y1)) return JX_NONE;
    jx_val cols[2] = {jx_expand_dims_at(loc, y0, JX_INTS(1)), jx_expand_dims_at(loc, y1, JX_INTS(1))};
    return jx_concatenate_at(loc, 2, cols, 1);
}

jx_val jx_random_key_index_at(jx_loc loc, jx_val keys, int64_t i) {
    jx_aval a = jx_aval_of(keys);
    if (a.rank != 2 || a.shape[1] != 2 || a.dtype != JX_U32 || i < 0 || i >= a.shape[0]) {
        char s[64];
        return jx__nn_fail(loc, JX_ERR_ARG, "random_key_index", "key %lld of %s (keys are u32[n,2])", (long long)i,
                           jx_aval_str(&a, s, sizeof s));
    }
    return jx_reshape_at(loc, jx_slice_at(loc, keys, JX_INTS(i, 0), JX_INTS(i + 1, 2), JX_NOINTS), JX_INTS(2));
}

jx_val jx_random_fold_in_at(jx_loc loc, jx_val key, jx_val data) {
    jx_val k0, k1, y0, y1;
    jx_aval d = jx_aval_of(data);
    if (d.rank < 0) return JX_NONE;
    if (d.rank != 0 || !(jx_dtype_is_int(d.dtype) || d.dtype == JX_BOOL)) {
        char s[64];
        return jx__nn_fail(loc, JX_ERR_ARG, "random_fold_in", "data must be an integer scalar, got %s",
                           jx_aval_str(&d, s, sizeof s));
    }
    if (!key_halves(loc, "random_fold_in", key, &k0, &k1)) return JX_NONE;
    jx_threefry2x32_at(loc, k0, k1, jx_scalar_at(loc, JX_U32, 0), jx_convert_at(loc, data, JX_U32), &y0, &y1);
    jx_val parts[2] = {jx_reshape_at(loc, y0, JX_INTS(1)), jx_reshape_at(loc, y1, JX_INTS(1))};
    return jx_concatenate_at(loc, 2, parts, 0);
}

jx_val jx_random_bits_at(jx_loc loc, jx_val key, jx_ints shape) {
    jx_val y0, y1;
    if (!hash_shape(loc, "random_bits", key, shape, &y0, &y1)) return JX_NONE;
    return jx_xor_at(loc, y0, y1);
}

/* Uniform in [0, 1): the top mantissa bits of random bits, exactly as JAX's bitcast of
 * (bits >> (width - nmant)) | one, minus one. */
static jx_val unit_uniform(jx_loc loc, const char *op, jx_val key, jx_dtype dtype, jx_ints shape) {
    jx_val y0, y1;
    if (!hash_shape(loc, op, key, shape, &y0, &y1)) return JX_NONE;
    if (dtype == JX_F32) {
        jx_val m = jx_shift_right_logical_at(loc, jx_xor_at(loc, y0, y1), jx_scalar_at(loc, JX_U32, 9));
        return jx_mul_at(loc, jx_convert_at(loc, m, JX_F32), jx_scalar_at(loc, JX_F32, 0x1p-23));
    }
    /* f64: 52 bits of y0:y1, that is y0 * 2^-32 + (y1 >> 12) * 2^-52, both exact */
    jx_val hi = jx_mul_at(loc, jx_convert_at(loc, y0, JX_F64), jx_scalar_at(loc, JX_F64, 0x1p-32));
    jx_val lo = jx_shift_right_logical_at(loc, y1, jx_scalar_at(loc, JX_U32, 12));
    return jx_add_at(loc, hi, jx_mul_at(loc, jx_convert_at(loc, lo, JX_F64), jx_scalar_at(loc, JX_F64, 0x1p-52)));
}

/* Veltkamp's split of f64 x into hi + lo, each of at most 26 significant bits, so that
 * products of halves are exact. */
static void split64(jx_loc loc, jx_val x, jx_val *hi, jx_val *lo) {
    jx_val t = jx_mul_at(loc, jx_scalar_at(loc, JX_F64, 134217729.0 /* 2^27 + 1 */), x);
    *hi = jx_sub_at(loc, t, jx_sub_at(loc, t, x));
    *lo = jx_sub_at(loc, x, *hi);
}

/* a * b + c rounded once, as XLA's CPU backend computes a * b + c (it contracts them
 * into a fused multiply-add). f32: a * b is exact in f64 and the f64 sum rounds to f32
 * as the fused operation does (barring a double rounding, about 2^-29 likely). f64:
 * Dekker's exact product p + e and Knuth's two-sum of p and c, their errors added
 * last (correctly rounded but in rare near-halfway cases; for finite operands). */
static jx_val fma_like_xla(jx_loc loc, jx_val a, jx_val b, jx_val c) {
    if (jx_dtype_of(a) == JX_F32) {
        jx_val p = jx_mul_at(loc, jx_convert_at(loc, a, JX_F64), jx_convert_at(loc, b, JX_F64));
        return jx_convert_at(loc, jx_add_at(loc, p, jx_convert_at(loc, c, JX_F64)), JX_F32);
    }
    jx_val ah, al, bh, bl, p = jx_mul_at(loc, a, b);
    split64(loc, a, &ah, &al);
    split64(loc, b, &bh, &bl);
    jx_val e = jx_add_at(loc, jx_sub_at(loc, jx_mul_at(loc, ah, bh), p), jx_mul_at(loc, ah, bl));
    e = jx_add_at(loc, jx_add_at(loc, e, jx_mul_at(loc, al, bh)), jx_mul_at(loc, al, bl)); /* a b = p + e */
    jx_val s = jx_add_at(loc, p, c), bb = jx_sub_at(loc, s, p);
    jx_val t = jx_add_at(loc, jx_sub_at(loc, p, jx_sub_at(loc, s, bb)), jx_sub_at(loc, c, bb)); /* p + c = s + t */
    return jx_add_at(loc, s, jx_add_at(loc, t, e));
}

/* max(minval, u * (maxval - minval) + minval) in dtype arithmetic, as JAX. */
static jx_val scale_uniform(jx_loc loc, jx_val u, jx_dtype dtype, double minval, double maxval) {
    double range = dtype == JX_F32 ? (double)((float)maxval - (float)minval) : maxval - minval;
    jx_val lo = jx_scalar_at(loc, dtype, dtype == JX_F32 ? (double)(float)minval : minval);
    return jx_max_at(loc, lo, fma_like_xla(loc, u, jx_scalar_at(loc, dtype, range), lo));
}

static int float_dtype_ok(jx_loc loc, const char *op, jx_dtype dtype, int f64_ok) {
    if (dtype == JX_F32 || (f64_ok && dtype == JX_F64)) return 1;
    jx_error_at(loc, JX_ERR_DTYPE, op, "dtype must be f32%s, got %s", f64_ok ? " or f64" : "", jx_dtype_name(dtype));
    return 0;
}

jx_val jx_random_uniform_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape, double minval, double maxval) {
    if (!float_dtype_ok(loc, "random_uniform", dtype, 1)) return JX_NONE;
    return scale_uniform(loc, unit_uniform(loc, "random_uniform", key, dtype, shape), dtype, minval, maxval);
}

/* XLA's CPU log of f32 (Eigen's plog_float: frexp, then Cephes' degree-8 polynomial in
 * Estrin form with fused multiply-adds, the exponent added back as e*q1 fused into the
 * last step plus e*q2), for y in [2^-24, 1): the range erf_inv's log1p reaches past
 * sqrt(2) - 1. Without a bitcast op the frexp is done by 24 comparisons (powers of two
 * scale exactly). Checked bit for bit against jnp.log on 2 * 10^5 inputs. */
static jx_val xla_log_unit(jx_loc loc, jx_val y) {
    static const float P[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f,
                               -1.2420140846E-1f, 1.4249322787E-1f, -1.6668057665E-1f,
                               2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
#define C(v) jx_scalar_at(loc, JX_F32, (v))
    jx_val m = y, e = C(0.0f);
    for (int k = 1; k <= 24; k++) { /* y = m 2^e with m in [0.5, 1) */
        jx_val below = jx_lt_at(loc, y, C(ldexpf(1.0f, -k)));
        m = jx_select_at(loc, below, jx_mul_at(loc, m, C(2.0f)), m);
        e = jx_select_at(loc, below, jx_sub_at(loc, e, C(1.0f)), e);
    }
    jx_val lo = jx_lt_at(loc, m, C(0.707106781186547524f)); /* then m in [sqrt(1/2), sqrt(2)) - 1 */
    jx_val t = jx_add_at(loc, jx_sub_at(loc, m, C(1.0f)), jx_select_at(loc, lo, m, C(0.0f)));
    e = jx_sub_at(loc, e, jx_select_at(loc, lo, C(1.0f), C(0.0f)));
    jx_val t2 = jx_mul_at(loc, t, t), t3 = jx_mul_at(loc, t2, t);
    jx_val a = fma_like_xla(loc, t, C(P[0]), C(P[1])), b = fma_like_xla(loc, t, C(P[3]), C(P[4]));
    jx_val c = fma_like_xla(loc, t, C(P[6]), C(P[7]));
    a = fma_like_xla(loc, a, t, C(P[2])), b = fma_like_xla(loc, b, t, C(P[5])), c = fma_like_xla(loc, c, t, C(P[8]));
    a = fma_like_xla(loc, fma_like_xla(loc, fma_like_xla(loc, a, t3, b), t3, c), t3, jx_mul_at(loc, C(-2.12194440e-4f), e));
    t = jx_add_at(loc, jx_sub_at(loc, t, jx_mul_at(loc, C(0.5f), t2)), a);
    return jx_add_at(loc, t, jx_mul_at(loc, C(0.693359375f), e));
#undef C
}

/* XLA's log1p in f32, so that erf_inv's w gets JAX's bits: where |v| < sqrt(2) - 1, the
 * Cephes rational v - v^2/2 + v^3 P(v)/Q(v) with its Horner steps fused as XLA's CPU jit
 * fuses them; elsewhere XLA's log(1 + v) (above; v is -x^2 here, so 1 + v < 1). */
static jx_val xla_log1p(jx_loc loc, jx_val v) {
    static const double num[7] = {4.5270000862445199635215E-5, 4.9854102823193375972212E-1,
                                  6.5787325942061044846969E0,  2.9911919328553073277375E1,
                                  6.0949667980987787057556E1,  5.7112963590585538103336E1,
                                  2.0039553499201281259648E1};
    static const double den[7] = {1.,
                                  1.5062909083469192043167E1, 8.3047565967967209469434E1, 2.2176239823732856465394E2,
                                  3.0909872225312059774938E2, 2.1642788614495947685003E2, 6.0118660497603843919306E1};
    jx_val p = jx_scalar_at(loc, JX_F32, (float)num[0]), q = jx_scalar_at(loc, JX_F32, (float)den[0]);
    for (int i = 1; i < 7; i++) {
        p = fma_like_xla(loc, p, v, jx_scalar_at(loc, JX_F32, (float)num[i]));
        q = fma_like_xla(loc, q, v, jx_scalar_at(loc, JX_F32, (float)den[i]));
    }
    jx_val v2 = jx_mul_at(loc, v, v);
    jx_val small = jx_mul_at(loc, jx_mul_at(loc, v, v2), jx_div_at(loc, p, q));
    small = jx_add_at(loc, jx_mul_at(loc, jx_scalar_at(loc, JX_F32, -0.5), v2), small);
    small = jx_add_at(loc, v, small);
    jx_val large = xla_log_unit(loc, jx_add_at(loc, v, jx_scalar_at(loc, JX_F32, 1.0)));
    jx_val is_small = jx_lt_at(loc, jx_abs_at(loc, v), jx_scalar_at(loc, JX_F32, (float)0.41421356237309504880));
    return jx_select_at(loc, is_small, small, large);
}

/* XLA's ErfInv32: w = -log1p(-x^2); a degree-8 polynomial in w - 2.5 (w < 5) or
 * sqrt(w) - 3, times x; +-inf at +-1. */
jx_val jx_erf_inv_at(jx_loc loc, jx_val x) {
    static const float lt5[9] = {2.81022636e-08f,  3.43273939e-07f, -3.5233877e-06f, -4.39150654e-06f, 0.00021858087f,
                                 -0.00125372503f, -0.00417768164f, 0.246640727f,     1.50140941f};
    static const float ge5[9] = {-0.000200214257f, 0.000100950558f, 0.00134934322f, -0.00367342844f, 0.00573950773f,
                                 -0.0076224613f,   0.00943887047f,  1.00167406f,     2.83297682f};
    if (jx_dtype_of(x) != JX_F32) {
        if (jx_val_ok(x)) jx_error_at(loc, JX_ERR_DTYPE, "erf_inv", "wants f32, got %s", jx_dtype_name(jx_dtype_of(x)));
        return JX_NONE;
    }
    jx_val w = jx_neg_at(loc, xla_log1p(loc, jx_neg_at(loc, jx_mul_at(loc, x, x))));
    jx_val lt = jx_lt_at(loc, w, jx_scalar_at(loc, JX_F32, 5.0));
    w = jx_select_at(loc, lt, jx_sub_at(loc, w, jx_scalar_at(loc, JX_F32, 2.5)),
                     jx_sub_at(loc, jx_sqrt_at(loc, w), jx_scalar_at(loc, JX_F32, 3.0)));
    jx_val p = jx_select_at(loc, lt, jx_scalar_at(loc, JX_F32, lt5[0]), jx_scalar_at(loc, JX_F32, ge5[0]));
    for (int i = 1; i < 9; i++) {
        jx_val c = jx_select_at(loc, lt, jx_scalar_at(loc, JX_F32, lt5[i]), jx_scalar_at(loc, JX_F32, ge5[i]));
        p = fma_like_xla(loc, p, w, c);
    }
    jx_val edge = jx_eq_at(loc, jx_abs_at(loc, x), jx_scalar_at(loc, JX_F32, 1.0));
    return jx_select_at(loc, edge, jx_mul_at(loc, x, jx_scalar_at(loc, JX_F32, INFINITY)), jx_mul_at(loc, p, x));
}

jx_val jx_random_normal_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape) {
    if (!float_dtype_ok(loc, "random_normal", dtype, 0)) return JX_NONE;
    jx_val u = unit_uniform(loc, "random_normal", key, dtype, shape);
    u = scale_uniform(loc, u, dtype, nextafterf(-1.0f, 0.0f), 1.0);
    return jx_mul_at(loc, jx_scalar_at(loc, JX_F32, (float)SQRT2), jx_erf_inv_at(loc, u));
}

jx_val jx_random_truncated_normal_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape, double lower,
                                     double upper) {
    if (!float_dtype_ok(loc, "random_truncated_normal", dtype, 0)) return JX_NONE;
    if (!(lower < upper))
        return jx__nn_fail(loc, JX_ERR_ARG, "random_truncated_normal", "lower %g is not below upper %g", lower, upper);
    float s2 = (float)SQRT2, lo = (float)lower, hi = (float)upper;
    float a = (float)erf((double)(lo / s2)), b = (float)erf((double)(hi / s2));
    jx_val u = scale_uniform(loc, unit_uniform(loc, "random_truncated_normal", key, dtype, shape), dtype, a, b);
    jx_val out = jx_mul_at(loc, jx_scalar_at(loc, JX_F32, s2), jx_erf_inv_at(loc, u));
    return jx_clamp_at(loc, out, nextafterf(lo, INFINITY), nextafterf(hi, -INFINITY));
}

jx_val jx_random_bernoulli_at(jx_loc loc, jx_val key, double p, jx_ints shape) {
    jx_val u = unit_uniform(loc, "random_bernoulli", key, JX_F32, shape);
    return jx_lt_at(loc, u, jx_scalar_at(loc, JX_F32, (float)p));
}

jx_val jx_random_categorical_at(jx_loc loc, jx_val key, jx_val logits, int axis) {
    jx_aval a = jx_aval_of(logits);
    if (a.rank < 0) return JX_NONE;
    if (!float_dtype_ok(loc, "random_categorical", a.dtype, 1)) return JX_NONE;
    if (axis < 0) axis += a.rank;
    if (axis < 0 || axis >= a.rank)
        return jx__nn_fail(loc, JX_ERR_AXIS, "random_categorical", "axis out of range for rank %d", a.rank);
    /* Gumbel noise, JAX's "low" mode: -log(-log(uniform(tiny, 1))) */
    double tiny = a.dtype == JX_F32 ? FLT_MIN : DBL_MIN;
    jx_val u = scale_uniform(loc, unit_uniform(loc, "random_categorical", key, a.dtype, (jx_ints){a.shape, a.rank}),
                             a.dtype, tiny, 1.0);
    jx_val g = jx_neg_at(loc, jx_log_at(loc, jx_neg_at(loc, jx_log_at(loc, u))));
    return jx_argmax_at(loc, jx_add_at(loc, g, logits), axis, JX_I32);
}

jx_val jx_random_permutation_at(jx_loc loc, jx_val key, int64_t n) {
    if (n < 1 || n > INT32_MAX)
        return jx__nn_fail(loc, JX_ERR_ARG, "random_permutation", "n = %lld is not in [1, 2^31)", (long long)n);
    /* JAX's rounds of sorting by fresh 32-bit keys, enough that ties are unlikely */
    int rounds = (int)ceil(3.0 * log((double)n) / log(4294967295.0));
    jx_val x = jx_iota_at(loc, JX_I32, JX_INTS(n), 0);
    for (int r = 0; r < rounds; r++) {
        jx_val keys = jx_random_split_at(loc, key, 2);
        key = jx_random_key_index_at(loc, keys, 0);
        jx_val sort[2] = {jx_random_bits_at(loc, jx_random_key_index_at(loc, keys, 1), JX_INTS(n)), x}, out[2];
        jx_sort_multi_at(loc, 2, sort, 0, 1, out);
        x = out[1];
    }
    return x;
}

jx_val jx_random_shuffle_at(jx_loc loc, jx_val key, jx_val x, int axis) {
    int r = jx_rank(x);
    if (r < 0) return JX_NONE;
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r)
        return jx__nn_fail(loc, JX_ERR_AXIS, "random_shuffle", "axis out of range for rank %d", r);
    return jx_gather_at(loc, x, jx_random_permutation_at(loc, key, jx_dim(x, axis)), axis, 0);
}
