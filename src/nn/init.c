/* init.c: jax.nn.initializers. The scale factors are computed in the same precision
 * and order as JAX (variance rounded to the dtype, then sqrt and products in it) so the
 * samples agree to the bit where the underlying distribution does. */
#include <math.h>
#include <string.h>

#include <jx/init.h>
#include <jx/random.h>

#include "nn_util.h"

#define VS(scale, fan, dist) {JX_INIT_VARIANCE_SCALING, scale, fan, dist}
const jx_init jx_init_glorot_uniform = VS(1.0, JX_FAN_AVG, JX_DIST_UNIFORM),
              jx_init_glorot_normal = VS(1.0, JX_FAN_AVG, JX_DIST_TRUNCATED_NORMAL),
              jx_init_he_uniform = VS(2.0, JX_FAN_IN, JX_DIST_UNIFORM),
              jx_init_he_normal = VS(2.0, JX_FAN_IN, JX_DIST_TRUNCATED_NORMAL),
              jx_init_lecun_uniform = VS(1.0, JX_FAN_IN, JX_DIST_UNIFORM),
              jx_init_lecun_normal = VS(1.0, JX_FAN_IN, JX_DIST_TRUNCATED_NORMAL),
              jx_init_zeros = {JX_INIT_ZEROS, 0, JX_FAN_IN, JX_DIST_NORMAL},
              jx_init_ones = {JX_INIT_ONES, 0, JX_FAN_IN, JX_DIST_NORMAL};

jx_init jx_init_constant(double value) { return (jx_init){JX_INIT_CONSTANT, value, JX_FAN_IN, JX_DIST_NORMAL}; }
jx_init jx_init_uniform(double scale) { return (jx_init){JX_INIT_UNIFORM, scale, JX_FAN_IN, JX_DIST_NORMAL}; }
jx_init jx_init_normal(double stddev) { return (jx_init){JX_INIT_NORMAL, stddev, JX_FAN_IN, JX_DIST_NORMAL}; }
jx_init jx_init_variance_scaling(double scale, jx_init_fan fan, jx_init_dist dist) {
    return (jx_init){JX_INIT_VARIANCE_SCALING, scale, fan, dist};
}

jx_status jx_init_fans(jx_ints shape, double *fan_in, double *fan_out) {
    if (shape.n < 2)
        return jx_error_at(JX_HERE, JX_ERR_SHAPE, "init", "fans need a weight of rank 2 or more, got rank %d", shape.n);
    double in = (double)shape.v[shape.n - 2], out = (double)shape.v[shape.n - 1], size = 1;
    for (int i = 0; i < shape.n; i++) size *= (double)shape.v[i];
    double receptive = in > 0 && out > 0 ? size / in / out : 0;
    *fan_in = in * receptive;
    *fan_out = out * receptive;
    return JX_OK;
}

/* The value in the dtype's precision, as jnp.array(v, dtype) rounds it. */
static double in_dtype(jx_dtype dtype, double v) { return dtype == JX_F32 ? (double)(float)v : v; }
static double sqrt_in(jx_dtype dtype, double v) { return dtype == JX_F32 ? (double)sqrtf((float)v) : sqrt(v); }

jx_val jx_init_apply_at(jx_loc loc, const jx_init *init, jx_val key, jx_dtype dtype, jx_ints shape) {
    if (!init) return jx__nn_fail(loc, JX_ERR_ARG, "init", "NULL initializer");
    switch (init->kind) {
    case JX_INIT_ZEROS: return jx_full_at(loc, dtype, shape, 0);
    case JX_INIT_ONES: return jx_full_at(loc, dtype, shape, 1);
    case JX_INIT_CONSTANT: return jx_full_at(loc, dtype, shape, init->scale);
    case JX_INIT_UNIFORM:
        return jx_mul_at(loc, jx_random_uniform_at(loc, key, dtype, shape, 0, 1),
                         jx_scalar_at(loc, dtype, in_dtype(dtype, init->scale)));
    case JX_INIT_NORMAL:
        return jx_mul_at(loc, jx_random_normal_at(loc, key, dtype, shape),
                         jx_scalar_at(loc, dtype, in_dtype(dtype, init->scale)));
    case JX_INIT_VARIANCE_SCALING: break;
    default: return jx__nn_fail(loc, JX_ERR_ARG, "init", "unknown initializer kind %d", (int)init->kind);
    }
    double fan_in, fan_out;
    if (shape.n < 2 || jx_init_fans(shape, &fan_in, &fan_out) != JX_OK)
        return jx__nn_fail(loc, JX_ERR_SHAPE, "init", "variance scaling needs a weight of rank 2 or more, got rank %d",
                           shape.n);
    double den = init->fan == JX_FAN_IN ? fan_in : init->fan == JX_FAN_OUT ? fan_out : (fan_in + fan_out) / 2;
    if (!(den > 0)) return jx__nn_fail(loc, JX_ERR_SHAPE, "init", "a weight with no elements has no fan");
    double var = in_dtype(dtype, init->scale / den);
    switch (init->dist) {
    case JX_DIST_TRUNCATED_NORMAL: {
        /* 0.8796... is the stddev of a standard normal truncated to (-2, 2) */
        double sd = dtype == JX_F32 ? (double)(sqrtf((float)var) / (float)0.87962566103423978)
                                    : sqrt(var) / 0.87962566103423978;
        return jx_mul_at(loc, jx_random_truncated_normal_at(loc, key, dtype, shape, -2, 2), jx_scalar_at(loc, dtype, sd));
    }
    case JX_DIST_NORMAL:
        return jx_mul_at(loc, jx_random_normal_at(loc, key, dtype, shape), jx_scalar_at(loc, dtype, sqrt_in(dtype, var)));
    case JX_DIST_UNIFORM:
        return jx_mul_at(loc, jx_random_uniform_at(loc, key, dtype, shape, -1, 1),
                         jx_scalar_at(loc, dtype, sqrt_in(dtype, in_dtype(dtype, 3 * var))));
    }
    return jx__nn_fail(loc, JX_ERR_ARG, "init", "unknown distribution %d", (int)init->dist);
}

typedef struct init_args {
    jx_loc loc;
    const jx_init *init;
    jx_dtype dtype;
    jx_ints shape;
} init_args;

static void init_body(jx_val *out, const jx_val *in, void *user) {
    init_args *a = user;
    out[0] = jx_init_apply_at(a->loc, a->init, in[0], a->dtype, a->shape);
}

jx_array *jx_init_new_at(jx_loc loc, const jx_init *init, const jx_array *key, jx_dtype dtype, jx_ints shape) {
    init_args a = {loc, init, dtype, shape};
    jx_array *k = key ? (jx_array *)key : jx_random_key_new(0); /* unused by the constant kinds */
    jx_array *in[1] = {k};
    if (!key && init && (init->kind != JX_INIT_ZEROS && init->kind != JX_INIT_ONES && init->kind != JX_INIT_CONSTANT)) {
        jx_array_release(k);
        jx_error_at(loc, JX_ERR_ARG, "init", "a random initializer needs a key");
        return NULL;
    }
    jx_array *out = jx__nn_eval1(loc, "init", init_body, &a, 1, in);
    if (!key) jx_array_release(k);
    return out;
}
