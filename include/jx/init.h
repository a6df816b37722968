/* jx/init.h: parameter initializers, as jax.nn.initializers.
 *
 * An initializer is a small value (jx_init) that a layer keeps, like Flax's kernel_init:
 *
 *     jx_array *w = jx_init_new(&jx_init_he_normal, key, JX_F32, JX_INTS(784, 512));
 *
 * Variance scaling (glorot, he, lecun) reads the fans from the shape as JAX does: the
 * input axis -2, the output axis -1, every other axis a receptive field (so a conv
 * kernel HWIO of (3,3,4,8) has fan_in 36 and fan_out 72). The "normal" variants draw
 * a normal truncated at two standard deviations, rescaled to the wanted variance, as
 * JAX's. Same key, same shape: the same values as JAX to f32 rounding (bit-exact for
 * the uniform ones; see jx/random.h for the normal ones). */
#ifndef JX_INIT_H
#define JX_INIT_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jx_init_kind {
    JX_INIT_ZEROS,
    JX_INIT_ONES,
    JX_INIT_CONSTANT,         /* every element `scale` */
    JX_INIT_UNIFORM,          /* uniform in [0, scale) (jax.nn.initializers.uniform) */
    JX_INIT_NORMAL,           /* normal with stddev `scale` (jax.nn.initializers.normal) */
    JX_INIT_VARIANCE_SCALING  /* variance scale / fan, by mode and dist */
} jx_init_kind;

typedef enum jx_init_fan { JX_FAN_IN, JX_FAN_OUT, JX_FAN_AVG } jx_init_fan;
typedef enum jx_init_dist {
    JX_DIST_TRUNCATED_NORMAL, /* truncated at +-2 stddev, rescaled (JAX's "truncated_normal") */
    JX_DIST_NORMAL,           /* JAX's "normal" */
    JX_DIST_UNIFORM           /* JAX's "uniform": [-limit, limit) with limit = sqrt(3 var) */
} jx_init_dist;

typedef struct jx_init {
    jx_init_kind kind;
    double scale;      /* variance scale; the constant; the uniform range; the stddev */
    jx_init_fan fan;   /* variance scaling only */
    jx_init_dist dist; /* variance scaling only */
} jx_init;

/* The named initializers (jax.nn.initializers.glorot_uniform and so on). */
extern const jx_init jx_init_glorot_uniform, jx_init_glorot_normal, jx_init_he_uniform, jx_init_he_normal,
    jx_init_lecun_uniform, jx_init_lecun_normal, jx_init_zeros, jx_init_ones;
/* Initializers with a parameter, by value. */
jx_init jx_init_constant(double value);
jx_init jx_init_uniform(double scale);  /* [0, scale) */
jx_init jx_init_normal(double stddev);
jx_init jx_init_variance_scaling(double scale, jx_init_fan fan, jx_init_dist dist);

/* The fans of a weight shape (input axis -2, output axis -1, the rest receptive
 * field); a rank below 2 is an error (as JAX). */
jx_status jx_init_fans(jx_ints shape, double *fan_in, double *fan_out);

/* Inside a body: an array of dtype and shape drawn with key (a u32[2] value; unused by
 * zeros, ones and constant). Random kinds want f32 (uniform ones also f64). */
jx_val jx_init_apply_at(jx_loc loc, const jx_init *init, jx_val key, jx_dtype dtype, jx_ints shape);
#define jx_init_apply(...) jx_init_apply_at(JX_HERE, __VA_ARGS__)
/* The same on the host: a new array (release it), or NULL with jx_errmsg() set. key
 * may be NULL for zeros, ones and constant. */
jx_array *jx_init_new_at(jx_loc loc, const jx_init *init, const jx_array *key, jx_dtype dtype, jx_ints shape);
#define jx_init_new(...) jx_init_new_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_INIT_H */
