/* ops_index.c: the public indexing, sorting and random-bits ops (gather, scatter_add,
 * sort, argsort, top_k, threefry2x32). They normalise negative axes and check the
 * caller's pointers; the shape rules in shape_index.c check everything else. */
#include "ops_util.h"

/* axis normalised against x's rank; left as given when out of range (or x invalid) so
 * the shape rule reports it in the user's terms. */
static int64_t norm_axis_of(jx_val x, int axis) {
    jx_aval a = jx__val_aval(x);
    int ax = a.rank >= 0 ? jx__norm_axis(axis, a.rank) : -1;
    return ax >= 0 ? ax : axis;
}

/* indices with negative entries wrapped once by the size of x's axis (jnp indexing). */
static jx_val wrap_indices(jx_loc loc, jx_val x, jx_val indices, int64_t axis) {
    jx_aval a = jx__val_aval(x);
    return axis >= 0 && axis < a.rank ? jx__wrap_index(loc, indices, a.shape[axis]) : indices;
}

jx_val jx__gather_clamped_at(jx_loc loc, jx_val x, jx_val indices, int axis, int nbatch) {
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, norm_axis_of(x, axis)), jx__a_int(JX_A_NBATCH, nbatch)};
    jx_val in[2] = {x, indices};
    return jx__bind1(loc, JX_PRIM_GATHER, 2, in, 2, at);
}

jx_val jx_gather_at(jx_loc loc, jx_val x, jx_val indices, int axis, int nbatch) {
    return jx__gather_clamped_at(loc, x, wrap_indices(loc, x, indices, norm_axis_of(x, axis)), axis, nbatch);
}

jx_val jx_scatter_add_at(jx_loc loc, jx_val x, jx_val indices, jx_val updates, int axis,
                         int nbatch) {
    int64_t ax = norm_axis_of(x, axis);
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, ax), jx__a_int(JX_A_NBATCH, nbatch)};
    jx_val in[3] = {x, wrap_indices(loc, x, indices, ax), updates};
    return jx__bind1(loc, JX_PRIM_SCATTER_ADD, 3, in, 2, at);
}

void jx_sort_multi_at(jx_loc loc, int n, const jx_val *xs, int axis, int num_keys, jx_val *out) {
    if (!out) {
        jx__ops_fail(loc, JX_ERR_ARG, "sort", "output list is NULL");
        return;
    }
    if (n < 1 || !xs) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "sort", "needs at least one operand (got %d%s)", n,
                                  xs ? "" : ", list NULL");
        for (int i = 0; i < n; i++) out[i] = bad;
        return;
    }
    jx__attr at[2] = {jx__a_int(JX_A_AXIS, norm_axis_of(xs[0], axis)), jx__a_int(JX_A_NUM_KEYS, num_keys)};
    jx__bind(loc, JX_PRIM_SORT, n, xs, 2, at, n, out, NULL);
}

jx_val jx_sort_at(jx_loc loc, jx_val x, int axis) {
    jx_val out;
    jx_sort_multi_at(loc, 1, &x, axis, 1, &out);
    return out;
}

jx_val jx_argsort_at(jx_loc loc, jx_val x, int axis) {
    jx_aval a = jx__val_aval(x);
    int ax = a.rank >= 0 ? jx__norm_axis(axis, a.rank) : -1;
    if (ax < 0) return jx_sort_at(loc, x, axis); /* reports the bad value or axis as sort's */
    jx_val in[2] = {x, jx_iota_at(loc, JX_I32, (jx_ints){a.shape, a.rank}, ax)}, out[2];
    jx_sort_multi_at(loc, 2, in, ax, 1, out);
    return out[1];
}

void jx_top_k_at(jx_loc loc, jx_val x, int k, jx_val *values, jx_val *indices) {
    if (!values || !indices) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "top_k", "values or indices is NULL");
        if (values) *values = bad;
        if (indices) *indices = bad;
        return;
    }
    jx__attr at = jx__a_int(JX_A_K, k);
    jx_val out[2];
    jx__bind(loc, JX_PRIM_TOP_K, 1, &x, 1, &at, 2, out, NULL);
    *values = out[0];
    *indices = out[1];
}

void jx_threefry2x32_at(jx_loc loc, jx_val k0, jx_val k1, jx_val x0, jx_val x1, jx_val *y0,
                        jx_val *y1) {
    if (!y0 || !y1) {
        jx_val bad = jx__ops_fail(loc, JX_ERR_ARG, "threefry2x32", "y0 or y1 is NULL");
        if (y0) *y0 = bad;
        if (y1) *y1 = bad;
        return;
    }
    jx_val in[4] = {k0, k1, x0, x1}, out[2];
    jx__bind(loc, JX_PRIM_THREEFRY2X32, 4, in, 0, NULL, 2, out, NULL);
    *y0 = out[0];
    *y1 = out[1];
}
