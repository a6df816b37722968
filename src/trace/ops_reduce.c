/* ops_reduce.c: the public reduction ops (reduce_*, argmax/argmin, cumulative ops).
 * They normalise user axes (negative, unsorted, JX_NOINTS for all) into the canonical
 * attributes the shape rules check, and report bad axes at the caller's line. */
#include <stdlib.h>

#include "reduce_util.h"

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

bool jx__norm_axes(jx_loc loc, const char *what, const jx_aval *x, jx_ints axes, int64_t *out,
                   int *n) {
    *n = 0;
    if (axes.n > 0 && !axes.v) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "axes list is NULL");
        return false;
    }
    if (axes.n == 0 && axes.v == NULL) { /* JX_NOINTS: every axis */
        for (int d = 0; d < x->rank; d++) out[d] = d;
        *n = x->rank;
        return true;
    }
    bool seen[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) {
        int a = jx__norm_axis(axes.v[i], x->rank);
        if (a < 0) {
            jx__ops_fail(loc, JX_ERR_AXIS, what, "axis %lld out of range for rank %d", (long long)axes.v[i],
                        x->rank);
            return false;
        }
        if (seen[a]) {
            jx__ops_fail(loc, JX_ERR_AXIS, what, "axis %lld repeated in %s", (long long)axes.v[i],
                        jx__ints_str(axes));
            return false;
        }
        seen[a] = true;
        out[(*n)++] = a;
    }
    qsort(out, (size_t)*n, sizeof *out, cmp_i64);
    return true;
}

static jx_val reduce(jx_loc loc, jx_prim prim, jx_val x, jx_ints axes) {
    jx_aval a = jx__val_aval(x);
    int64_t norm[JX_MAX_RANK];
    int n = 0;
    /* an invalid x goes straight to the bind, which reports it */
    if (a.rank >= 0 && !jx__norm_axes(loc, jx__prims[prim].name, &a, axes, norm, &n))
        return jx__ops_invalid();
    jx__attr at = jx__a_ints(JX_A_AXES, (jx_ints){n ? norm : NULL, n});
    return jx__bind1(loc, prim, 1, &x, 1, &at);
}

jx_val jx_reduce_sum_at(jx_loc loc, jx_val x, jx_ints axes) { return reduce(loc, JX_PRIM_REDUCE_SUM, x, axes); }
jx_val jx_reduce_max_at(jx_loc loc, jx_val x, jx_ints axes) { return reduce(loc, JX_PRIM_REDUCE_MAX, x, axes); }
jx_val jx_reduce_min_at(jx_loc loc, jx_val x, jx_ints axes) { return reduce(loc, JX_PRIM_REDUCE_MIN, x, axes); }
jx_val jx_reduce_prod_at(jx_loc loc, jx_val x, jx_ints axes) { return reduce(loc, JX_PRIM_REDUCE_PROD, x, axes); }

/* A negative axis counts from the end; one out of range is passed on unchanged so the
 * shape rule reports it against the rank. */
static int64_t norm_one(jx_val x, int axis) {
    int r = jx__val_aval(x).rank;
    int a = r >= 0 ? jx__norm_axis(axis, r) : -1;
    return a >= 0 ? a : axis;
}

static jx_val arg(jx_loc loc, jx_prim prim, jx_val x, int axis, jx_dtype index_dtype) {
    jx__attr at[2] = {jx__a_dtype(JX_A_DTYPE, index_dtype), jx__a_int(JX_A_AXIS, norm_one(x, axis))};
    return jx__bind1(loc, prim, 1, &x, 2, at);
}

jx_val jx_argmax_at(jx_loc loc, jx_val x, int axis, jx_dtype index_dtype) {
    return arg(loc, JX_PRIM_ARGMAX, x, axis, index_dtype);
}
jx_val jx_argmin_at(jx_loc loc, jx_val x, int axis, jx_dtype index_dtype) {
    return arg(loc, JX_PRIM_ARGMIN, x, axis, index_dtype);
}

static jx_val cum(jx_loc loc, jx_prim prim, jx_val x, int axis, int reverse) {
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, norm_one(x, axis)), jx__a_int(JX_A_REVERSE, reverse != 0)};
    return jx__bind1(loc, prim, 1, &x, 2, at);
}

jx_val jx_cumsum_at(jx_loc loc, jx_val x, int axis, int reverse) { return cum(loc, JX_PRIM_CUMSUM, x, axis, reverse); }
jx_val jx_cumprod_at(jx_loc loc, jx_val x, int axis, int reverse) { return cum(loc, JX_PRIM_CUMPROD, x, axis, reverse); }
jx_val jx_cummax_at(jx_loc loc, jx_val x, int axis, int reverse) { return cum(loc, JX_PRIM_CUMMAX, x, axis, reverse); }
jx_val jx_cummin_at(jx_loc loc, jx_val x, int axis, int reverse) { return cum(loc, JX_PRIM_CUMMIN, x, axis, reverse); }
