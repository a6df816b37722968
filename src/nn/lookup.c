/* lookup.c: layers that pick or blend input rows by position: embedding and image
 * resizing (nearest and bilinear, as jax.image.resize). The resize weights depend only
 * on the sizes, so they are computed here on the host and enter the IR as constants:
 * nearest is a gather, bilinear a (in, out) weight matrix contracted with each axis. */
#include <math.h>
#include <stdlib.h>

#include "nn_util.h"
#include <jx/layers.h>

jx_val jx_nn_embedding_at(jx_loc loc, jx_val table, jx_val ids) {
    const char *what = "embedding";
    if (!jx__nn_rank(loc, what, "table", table, 2) || !jx__nn_valid(loc, what, "ids", ids))
        return JX_NONE;
    if (!jx_dtype_is_int(jx_dtype_of(ids)))
        return jx__nn_fail(loc, JX_ERR_DTYPE, what, "ids %s must be integers", jx__nn_avs(ids));
    return jx_gather_at(loc, table, ids, 0, 0);
}

/* Nearest neighbour along axis: out[i] = in[floor((i + 0.5) * m / n)], computed in f32
 * as jax.image's _resize_nearest does. */
static jx_val nearest_axis(jx_loc loc, jx_val x, int axis, int64_t n) {
    int64_t m = jx_dim(x, axis);
    jx_array *idx = jx_array_zeros(JX_I32, JX_INTS(n));
    if (!idx) return jx__nn_fail(loc, JX_ERR_NOMEM, "resize", "out of memory");
    int32_t *p = jx_array_data_mut(idx);
    for (int64_t i = 0; i < n; i++) {
        float o = ((float)i + 0.5f) * (float)m / (float)n;
        p[i] = (int32_t)floorf(o);
    }
    jx_val y = jx_gather_at(loc, x, jx_const_at(loc, idx), axis, 0);
    jx_array_release(idx);
    return y;
}

/* The (m, n) weights of jax.image.scale_and_translate with the triangle kernel
 * (antialiased when shrinking), into w of dtype t. */
static jx_array *bilinear_weights(int64_t m, int64_t n, jx_dtype t) {
    double *w = calloc((size_t)(m * n), sizeof *w);
    if (!w) return NULL;
    double inv = (double)m / (double)n, ks = inv > 1 ? inv : 1;
    for (int64_t i = 0; i < n; i++) {
        double s = (i + 0.5) * inv - 0.5, total = 0;
        for (int64_t j = 0; j < m; j++) {
            double v = 1 - fabs(s - (double)j) / ks;
            w[j * n + i] = v > 0 ? v : 0;
            total += w[j * n + i];
        }
        int inside = s >= -0.5 && s <= (double)m - 0.5;
        for (int64_t j = 0; j < m; j++)
            w[j * n + i] = inside && fabs(total) > 1000 * 1.1920928955078125e-07 ? w[j * n + i] / total : 0;
    }
    jx_array *a = jx_array_new(JX_F64, JX_INTS(m, n), w);
    free(w);
    if (!a || t == JX_F64) return a;
    jx_array *c = jx_array_astype(a, t);
    jx_array_release(a);
    return c;
}

static jx_val bilinear_axis(jx_loc loc, jx_val x, int axis, int64_t n) {
    int r = jx_rank(x);
    jx_array *w = bilinear_weights(jx_dim(x, axis), n, jx_dtype_of(x));
    if (!w) return jx__nn_fail(loc, JX_ERR_NOMEM, "resize", "out of memory");
    jx_val y = jx_dot_general_at(loc, x, jx_const_at(loc, w), JX_INTS(axis), JX_INTS(0), JX_NOINTS,
                                 JX_NOINTS);
    jx_array_release(w);
    /* the new axis came out last: move it back */
    int64_t perm[JX_MAX_RANK];
    for (int i = 0, k = 0; i < r; i++) perm[i] = i == axis ? r - 1 : k++;
    return jx_transpose_at(loc, y, (jx_ints){perm, r});
}

jx_val jx_nn_resize_at(jx_loc loc, jx_val x, int64_t oh, int64_t ow, jx_nn_resize method) {
    const char *what = "resize";
    if (!jx__nn_rank(loc, what, "input", x, 4)) return JX_NONE;
    if (oh < 1 || ow < 1)
        return jx__nn_fail(loc, JX_ERR_ARG, what, "output size (%lld,%lld) of input %s must be positive",
                                 (long long)oh, (long long)ow, jx__nn_avs(x));
    if (method != JX_NN_RESIZE_NEAREST && method != JX_NN_RESIZE_BILINEAR)
        return jx__nn_fail(loc, JX_ERR_ARG, what, "unknown method %d", (int)method);
    if (jx_dim(x, 1) < 1 || jx_dim(x, 2) < 1)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "input %s is empty", jx__nn_avs(x));
    int64_t size[2] = {oh, ow};
    for (int a = 1; a <= 2; a++) {
        if (jx_dim(x, a) == size[a - 1]) continue;
        x = method == JX_NN_RESIZE_NEAREST ? nearest_axis(loc, x, a, size[a - 1])
                                           : bilinear_axis(loc, x, a, size[a - 1]);
    }
    return x;
}

jx_val jx_nn_upsample_at(jx_loc loc, jx_val x, int64_t factor, jx_nn_resize method) {
    if (!jx__nn_rank(loc, "upsample", "input", x, 4)) return JX_NONE;
    if (factor < 1)
        return jx__nn_fail(loc, JX_ERR_ARG, "upsample", "factor %lld must be positive", (long long)factor);
    return jx_nn_resize_at(loc, x, jx_dim(x, 1) * factor, jx_dim(x, 2) * factor, method);
}
