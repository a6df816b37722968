/* jx/random.h: counter-based pseudo-random numbers with jax.random's semantics, on the
 * threefry2x32 primitive.
 *
 * A key is a u32[2] array (jax.random.PRNGKey's raw form). Functions never change a key:
 * split it into new keys (or fold a number into it) and use each key once. The sampling
 * functions are traced ops (use them inside a body, e.g. dropout in a training step);
 * jx_random_key_new and the *_new host forms give host arrays, for initialisation.
 *
 * Bit-exact with jax.random under JAX's default configuration (threefry2x32,
 * jax_threefry_partitionable=True, x64 off) for key, split, fold_in, bits, uniform,
 * normal, truncated_normal, bernoulli, categorical, permutation and shuffle (XLA's CPU
 * backend fuses a * b + c into one rounding, and computes erf_inv's log1p with Cephes'
 * and Eigen's f32 formulas; jx computes those steps the same way).
 * tests/nn/test_random.c checks all of it against vectors made by
 * tests/nn/data/gen_random.py (which records the JAX version and configuration).
 *
 *     jx_array *key = jx_random_key_new(0);
 *     jx_array *keys = jx_random_split_new(key, 2);       // u32[2,2]
 *     // inside a body: jx_val u = jx_random_uniform(k, JX_F32, JX_INTS(3), 0, 1);
 */
#ifndef JX_RANDOM_H
#define JX_RANDOM_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ host keys */

/* A new key from a seed, as jax.random.PRNGKey(seed) with x64 off: {0, seed mod 2^32}.
 * Release it. */
jx_array *jx_random_key_new(int64_t seed);
/* n new keys (u32[n,2]) from key, as jax.random.split(key, n). NULL on error (a key
 * that is not u32[2], n < 1). Release it. */
jx_array *jx_random_split_new(const jx_array *key, int64_t n);
/* Row i of a u32[n,2] array of keys, as a new u32[2] key. */
jx_array *jx_random_key_row_new(const jx_array *keys, int64_t i);
/* jax.random.fold_in(key, data): a new key. */
jx_array *jx_random_fold_in_new(const jx_array *key, uint32_t data);

/* ------------------------------------------------------------------ traced */

/* A key constant inside a body. */
jx_val jx_random_key_at(jx_loc loc, int64_t seed);
#define jx_random_key(...) jx_random_key_at(JX_HERE, __VA_ARGS__)
/* n keys, u32[n,2]; jx_random_key_index picks keys[i] as a u32[2] key. */
jx_val jx_random_split_at(jx_loc loc, jx_val key, int64_t n);
#define jx_random_split(...) jx_random_split_at(JX_HERE, __VA_ARGS__)
jx_val jx_random_key_index_at(jx_loc loc, jx_val keys, int64_t i);
#define jx_random_key_index(...) jx_random_key_index_at(JX_HERE, __VA_ARGS__)
/* A new key from key and an integer scalar data (converted to u32, as JAX does). */
jx_val jx_random_fold_in_at(jx_loc loc, jx_val key, jx_val data);
#define jx_random_fold_in(...) jx_random_fold_in_at(JX_HERE, __VA_ARGS__)
/* Uniform u32 bits of the given shape (jax.random.bits). */
jx_val jx_random_bits_at(jx_loc loc, jx_val key, jx_ints shape);
#define jx_random_bits(...) jx_random_bits_at(JX_HERE, __VA_ARGS__)
/* Uniform in [minval, maxval), dtype f32 or f64 (f64 bit for bit as JAX draws it with
 * jax_enable_x64: 52 bits of the 64-bit draw, scaled with a fused multiply-add). */
jx_val jx_random_uniform_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape, double minval,
                            double maxval);
#define jx_random_uniform(...) jx_random_uniform_at(JX_HERE, __VA_ARGS__)
/* Standard normal, f32: sqrt(2) * erf_inv(uniform(-1 + ulp, 1)) as JAX draws it. */
jx_val jx_random_normal_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape);
#define jx_random_normal(...) jx_random_normal_at(JX_HERE, __VA_ARGS__)
/* Standard normal truncated to (lower, upper), f32 (jax.random.truncated_normal). */
jx_val jx_random_truncated_normal_at(jx_loc loc, jx_val key, jx_dtype dtype, jx_ints shape, double lower,
                                     double upper);
#define jx_random_truncated_normal(...) jx_random_truncated_normal_at(JX_HERE, __VA_ARGS__)
/* bool array, true with probability p (compared in f32, as JAX with a float p). */
jx_val jx_random_bernoulli_at(jx_loc loc, jx_val key, double p, jx_ints shape);
#define jx_random_bernoulli(...) jx_random_bernoulli_at(JX_HERE, __VA_ARGS__)
/* Samples i32 class indices from unnormalised log-probabilities along axis (the axis
 * is removed), by the Gumbel-max trick as jax.random.categorical. */
jx_val jx_random_categorical_at(jx_loc loc, jx_val key, jx_val logits, int axis);
#define jx_random_categorical(...) jx_random_categorical_at(JX_HERE, __VA_ARGS__)
/* A random permutation of 0..n-1 (i32), as jax.random.permutation(key, n). */
jx_val jx_random_permutation_at(jx_loc loc, jx_val key, int64_t n);
#define jx_random_permutation(...) jx_random_permutation_at(JX_HERE, __VA_ARGS__)
/* x with its slices along axis permuted, as jax.random.permutation(key, x, axis). */
jx_val jx_random_shuffle_at(jx_loc loc, jx_val key, jx_val x, int axis);
#define jx_random_shuffle(...) jx_random_shuffle_at(JX_HERE, __VA_ARGS__)
/* XLA's f32 erf_inv (Giles' polynomial), the inverse error function used above. */
jx_val jx_erf_inv_at(jx_loc loc, jx_val x);
#define jx_erf_inv(...) jx_erf_inv_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_RANDOM_H */
