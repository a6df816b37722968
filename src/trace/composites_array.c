/* composites_array.c: numpy/lax array helpers a JAX user reaches for, written over the
 * primitives (so grad, vmap and jit need no new rules): stack, split, tile, repeat,
 * clip with traced bounds, top_k along any axis, and binary ops with a C double as the
 * second operand (JAX's weak-typed Python scalars). Each checks its arguments and names
 * itself in the error, with the caller's line. */
#include <math.h>

#include "ops_util.h"

/* x's aval into *a, false (error recorded) for an invalid value. */
static bool aval_of(jx_loc loc, const char *what, jx_val x, jx_aval *a) { return jx__ops_aval(loc, what, x, a); }

jx_val jx_stack_at(jx_loc loc, int n, const jx_val *xs, int axis) {
    static const char what[] = "stack";
    if (n < 1 || !xs) return jx__ops_fail(loc, JX_ERR_ARG, what, "needs at least one operand, got %d", n);
    if (n > 1024) return jx__ops_fail(loc, JX_ERR_ARG, what, "%d operands (at most 1024)", n);
    jx_aval a;
    if (!aval_of(loc, what, xs[0], &a)) return jx__ops_invalid();
    int ax = jx__norm_axis(axis, a.rank + 1);
    if (ax < 0)
        return jx__ops_fail(loc, JX_ERR_ARG, what, "axis %d is out of range for %d operands of %s", axis, n,
                            jx__avs(&a));
    jx_val ys[1024];
    for (int i = 0; i < n; i++) {
        jx_aval b;
        if (!aval_of(loc, what, xs[i], &b)) return jx__ops_invalid();
        if (!jx_aval_equal(&a, &b))
            return jx__ops_fail(loc, JX_ERR_SHAPE, what, "operand %d is %s, operand 0 %s: all must be equal", i,
                                jx__avs(&b), jx__avs(&a));
        ys[i] = jx_expand_dims_at(loc, xs[i], JX_INTS(ax));
    }
    return n == 1 ? ys[0] : jx_concatenate_at(loc, n, ys, ax);
}

void jx_split_at(jx_loc loc, jx_val x, jx_ints sizes, int axis, jx_val *out) {
    static const char what[] = "split";
    if (!out) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "out is NULL");
        return;
    }
    jx_aval a;
    int ax = -1;
    int64_t total = 0;
    bool ok = sizes.n > 0 && sizes.v && aval_of(loc, what, x, &a);
    if (ok) ax = jx__norm_axis(axis, a.rank);
    for (int i = 0; ok && i < sizes.n; i++) ok = sizes.v[i] >= 0 && !__builtin_add_overflow(total, sizes.v[i], &total);
    const char *why = !(sizes.n > 0 && sizes.v) ? "no sizes" : !ok ? "a negative size" : ax < 0 ? "axis out of range"
                      : total != a.shape[ax] ? "sizes do not add up to the axis" : NULL;
    if (why) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, what, "%s: sizes %s along axis %d of %s", why,
                                  sizes.v ? jx__ints_str(sizes) : "()", axis, sizes.v && ok ? jx__avs(&a) : "x");
        for (int i = 0; i < sizes.n; i++) out[i] = bad;
        return;
    }
    int64_t start[JX_MAX_RANK] = {0}, limit[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) limit[d] = a.shape[d];
    for (int i = 0; i < sizes.n; i++) {
        limit[ax] = start[ax] + sizes.v[i];
        out[i] = jx_slice_at(loc, x, (jx_ints){start, a.rank}, (jx_ints){limit, a.rank}, JX_NOINTS);
        start[ax] = limit[ax];
    }
}

/* x (shape s) broadcast to interleave a new dim of size r before (tile) or after
 * (repeat) each dim d where r = reps[d], then merged: (r0*s0, r1*s1, ...). */
static jx_val interleave(jx_loc loc, jx_val x, const jx_aval *a, const int64_t *reps, bool before) {
    int64_t shape[JX_MAX_RANK], dims[JX_MAX_RANK], merged[JX_MAX_RANK];
    int n = 0;
    for (int d = 0; d < a->rank; d++) {
        if (reps[d] == 1) {
            dims[d] = n;
            shape[n++] = a->shape[d];
        } else {
            if (before) shape[n++] = reps[d];
            dims[d] = n;
            shape[n++] = a->shape[d];
            if (!before) shape[n++] = reps[d];
        }
        merged[d] = a->shape[d] * reps[d];
    }
    if (n > JX_MAX_RANK) return jx__ops_fail(loc, JX_ERR_ARG, before ? "tile" : "repeat", "needs rank %d, above %d", n, JX_MAX_RANK);
    jx_val b = jx_broadcast_in_dim_at(loc, x, (jx_ints){shape, n}, (jx_ints){dims, a->rank});
    return jx_reshape_at(loc, b, (jx_ints){merged, a->rank});
}

/* Each repetition count is at least 0 and the result's dims stay below 2^48. */
static bool reps_ok(const int64_t *reps, const int64_t *shape, int n) {
    for (int d = 0; d < n; d++) {
        int64_t p;
        if (reps[d] < 0 || __builtin_mul_overflow(reps[d], shape[d], &p) || p > ((int64_t)1 << 48)) return false;
    }
    return true;
}

jx_val jx_tile_at(jx_loc loc, jx_val x, jx_ints reps) {
    static const char what[] = "tile";
    jx_aval a;
    if (!aval_of(loc, what, x, &a)) return jx__ops_invalid();
    if (reps.n < 0 || (reps.n && !reps.v) || reps.n > JX_MAX_RANK / 2)
        return jx__ops_fail(loc, JX_ERR_ARG, what, "reps needs 0 to %d entries, got %d", JX_MAX_RANK / 2, reps.n);
    /* numpy: the shorter of x's shape and reps is padded with leading ones */
    int r = a.rank > reps.n ? a.rank : reps.n;
    if (r > JX_MAX_RANK / 2)
        return jx__ops_fail(loc, JX_ERR_ARG, what, "reps %s on %s: rank %d is too large", jx__ints_str(reps), jx__avs(&a), r);
    int64_t rr[JX_MAX_RANK];
    for (int d = 0; d < r; d++) rr[d] = d < r - reps.n ? 1 : reps.v[d - (r - reps.n)];
    if (r > a.rank) {
        int64_t shape[JX_MAX_RANK];
        for (int d = 0; d < r; d++) shape[d] = d < r - a.rank ? 1 : a.shape[d - (r - a.rank)];
        x = jx_reshape_at(loc, x, (jx_ints){shape, r});
        a = jx__val_aval(x);
    }
    if (!reps_ok(rr, a.shape, r))
        return jx__ops_fail(loc, JX_ERR_ARG, what, "reps %s on %s: negative or too large", jx__ints_str(reps), jx__avs(&a));
    return interleave(loc, x, &a, rr, true);
}

jx_val jx_repeat_at(jx_loc loc, jx_val x, int64_t repeats, int axis) {
    static const char what[] = "repeat";
    jx_aval a;
    if (!aval_of(loc, what, x, &a)) return jx__ops_invalid();
    int ax = jx__norm_axis(axis, a.rank);
    if (ax < 0) return jx__ops_fail(loc, JX_ERR_ARG, what, "axis %d is out of range for %s", axis, jx__avs(&a));
    if (a.rank >= JX_MAX_RANK) return jx__ops_fail(loc, JX_ERR_ARG, what, "%s has the largest rank already", jx__avs(&a));
    int64_t rr[JX_MAX_RANK];
    for (int d = 0; d < a.rank; d++) rr[d] = d == ax ? repeats : 1;
    if (!reps_ok(rr, a.shape, a.rank))
        return jx__ops_fail(loc, JX_ERR_ARG, what, "repeats %lld on %s: negative or too large", (long long)repeats,
                            jx__avs(&a));
    return interleave(loc, x, &a, rr, false);
}

/* jnp.clip: min(max(x, lo), hi), bounds broadcasting against x; NaN passes through. */
jx_val jx_clip_at(jx_loc loc, jx_val x, jx_val lo, jx_val hi) {
    return jx_min_at(loc, jx_max_at(loc, x, lo), hi);
}

void jx_top_k_axis_at(jx_loc loc, jx_val x, int k, int axis, jx_val *values, jx_val *indices) {
    jx_aval a;
    if (!values || !indices || !aval_of(loc, "top_k", x, &a)) {
        jx_top_k_at(loc, x, k, values, indices); /* reports what is wrong */
        return;
    }
    int ax = jx__norm_axis(axis, a.rank);
    if (ax < 0) {
        *values = *indices = jx__ops_fail(loc, JX_ERR_ARG, "top_k", "axis %d is out of range for %s", axis, jx__avs(&a));
        return;
    }
    /* move the axis last (a no-op when it is), take top_k, move it back */
    int64_t perm[JX_MAX_RANK], inv[JX_MAX_RANK];
    for (int d = 0, j = 0; d < a.rank; d++)
        if (d != ax) perm[j++] = d;
    perm[a.rank - 1] = ax;
    for (int d = 0; d < a.rank; d++) inv[perm[d]] = d;
    jx_val v, i;
    jx_top_k_at(loc, jx_transpose_at(loc, x, (jx_ints){perm, a.rank}), k, &v, &i);
    *values = jx_transpose_at(loc, v, (jx_ints){inv, a.rank});
    *indices = jx_transpose_at(loc, i, (jx_ints){inv, a.rank});
}

/* ------------------------------------------------------------------ scalar operands */

/* The literal v of x's dtype; an error when v is not a value of that dtype (a fraction,
 * or out of range, for an integer x: jx does not promote). */
static jx_val weak(jx_loc loc, const char *what, jx_val x, double v) {
    jx_aval a;
    if (!aval_of(loc, what, x, &a)) return jx__ops_invalid();
    if (jx_dtype_is_int(a.dtype) || a.dtype == JX_BOOL) {
        double lo = a.dtype == JX_I32 ? -2147483648.0 : a.dtype == JX_I64 ? -9223372036854775808.0 : 0;
        double hi = a.dtype == JX_I32 ? 2147483647.0 : a.dtype == JX_I64 ? 9223372036854775807.0
                    : a.dtype == JX_U32 ? 4294967295.0 : a.dtype == JX_U8 ? 255 : 1;
        if (v != floor(v) || v < lo || v > hi)
            return jx__ops_fail(loc, JX_ERR_DTYPE, what, "%g is not a value of %s (x is %s); convert x first", v,
                                jx_dtype_name(a.dtype), jx__avs(&a));
    }
    return jx_scalar_at(loc, a.dtype, v);
}

#define SCALAR_OP(name, op)                                                                   \
    jx_val jx_##name##_s_at(jx_loc loc, jx_val x, double v) {                                 \
        return jx_##op##_at(loc, x, weak(loc, #name "_s", x, v));                             \
    }
SCALAR_OP(add, add)
SCALAR_OP(sub, sub)
SCALAR_OP(mul, mul)
SCALAR_OP(div, div)
SCALAR_OP(pow, pow)
SCALAR_OP(max, max)
SCALAR_OP(min, min)
jx_val jx_rsub_s_at(jx_loc loc, double v, jx_val x) { return jx_sub_at(loc, weak(loc, "rsub_s", x, v), x); }
jx_val jx_rdiv_s_at(jx_loc loc, double v, jx_val x) { return jx_div_at(loc, weak(loc, "rdiv_s", x, v), x); }
