/* ops_collective.c: the public collectives over a named axis (psum, pmax, pmin, pmean,
 * all_gather, ppermute, all_to_all, axis_index). They only record the axis name: what it
 * means comes from the vmap_named that binds it (the batch rules in
 * src/vmap/rules_collective.c) or the pmap running them (src/backends/collective.c);
 * anywhere else the interpreter reports the name as unbound. */
#include <stdlib.h>

#include "ops_util.h"

/* Checks the axis name (the op's error at the user's line when NULL or empty). */
static bool name_ok(jx_loc loc, const char *what, const char *axis_name) {
    if (!jx__ops_trace(loc, what) || jx__ops_failed()) return false;
    if (axis_name && *axis_name) return true;
    jx__ops_fail(loc, JX_ERR_ARG, what, "axis name is %s", axis_name ? "empty" : "NULL");
    return false;
}

static jx_val collective(jx_loc loc, jx_prim prim, jx_val x, const char *axis_name) {
    if (!name_ok(loc, jx__prims[prim].name, axis_name)) return jx__ops_invalid();
    jx__attr a = jx__a_str(JX_A_AXIS_NAME, axis_name);
    return jx__bind1(loc, prim, 1, &x, 1, &a);
}

jx_val jx_psum_at(jx_loc loc, jx_val x, const char *axis_name) {
    return collective(loc, JX_PRIM_PSUM, x, axis_name);
}

jx_val jx_pmax_at(jx_loc loc, jx_val x, const char *axis_name) {
    return collective(loc, JX_PRIM_PMAX, x, axis_name);
}

jx_val jx_pmin_at(jx_loc loc, jx_val x, const char *axis_name) {
    return collective(loc, JX_PRIM_PMIN, x, axis_name);
}

/* The axis size is only known to the map that binds the name: it is psum(1) there. */
jx_val jx_pmean_at(jx_loc loc, jx_val x, const char *axis_name) {
    jx_val s = collective(loc, JX_PRIM_PSUM, x, axis_name);
    if (jx__ops_failed()) return jx__ops_invalid();
    jx_val n = collective(loc, JX_PRIM_PSUM, jx_scalar_like_at(loc, x, 1), axis_name);
    return jx_div_at(loc, s, n);
}

jx_val jx_all_gather_at(jx_loc loc, jx_val x, const char *axis_name, int64_t axis_size) {
    if (!name_ok(loc, "all_gather", axis_name)) return jx__ops_invalid();
    if (axis_size < 0)
        return jx__ops_fail(loc, JX_ERR_ARG, "all_gather", "axis_size %lld is negative",
                            (long long)axis_size);
    jx__attr a[2] = {jx__a_str(JX_A_AXIS_NAME, axis_name), jx__a_int(JX_A_AXIS_SIZE, axis_size)};
    return jx__bind1(loc, JX_PRIM_ALL_GATHER, 1, &x, 2, a);
}

jx_val jx_axis_index_at(jx_loc loc, const char *axis_name) {
    if (!name_ok(loc, "axis_index", axis_name)) return jx__ops_invalid();
    jx__attr a = jx__a_str(JX_A_AXIS_NAME, axis_name);
    return jx__bind1(loc, JX_PRIM_AXIS_INDEX, 0, NULL, 1, &a);
}

jx_val jx_ppermute_at(jx_loc loc, jx_val x, const char *axis_name, jx_ints pairs) {
    if (!name_ok(loc, "ppermute", axis_name)) return jx__ops_invalid();
    jx__attr a[2] = {jx__a_str(JX_A_AXIS_NAME, axis_name), jx__a_ints(JX_A_PAIRS, pairs)};
    return jx__bind1(loc, JX_PRIM_PPERMUTE, 1, &x, 2, a);
}

jx_val jx_all_to_all_at(jx_loc loc, jx_val x, const char *axis_name, int64_t axis_size, int split_axis,
                        int concat_axis) {
    if (!name_ok(loc, "all_to_all", axis_name)) return jx__ops_invalid();
    int r = jx_rank(x), k = jx__norm_axis(split_axis, r), m = jx__norm_axis(concat_axis, r);
    if (k < 0 || m < 0)
        return jx__ops_fail(loc, JX_ERR_AXIS, "all_to_all", "split_axis %d or concat_axis %d out of range for rank %d",
                            split_axis, concat_axis, r);
    jx__attr a[4] = {jx__a_str(JX_A_AXIS_NAME, axis_name), jx__a_int(JX_A_AXIS_SIZE, axis_size),
                     jx__a_int(JX_A_SPLIT_AXIS, k), jx__a_int(JX_A_CONCAT_AXIS, m)};
    return jx__bind1(loc, JX_PRIM_ALL_TO_ALL, 1, &x, 4, a);
}

void jx__pmap_bind(jx_loc loc, const jx_fn *f, const char *axis_name, int64_t size, const int *in_dims,
                   const int *out_dims, const jx_val *in, jx_val *out) {
    int n = f->nin, m = f->nout;
    int64_t *ax = malloc(sizeof *ax * (size_t)(n + m + 1));
    if (!ax) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, loc, "pmap", "out of memory");
        return;
    }
    for (int i = 0; i < n + m; i++) ax[i] = i < n ? in_dims[i] : out_dims[i - n];
    jx_fn *fp = (jx_fn *)f; /* the attribute retains it; nothing writes it */
    jx__attr at[5] = {jx__a_fns(JX_A_FN, 1, &fp), jx__a_str(JX_A_AXIS_NAME, axis_name), jx__a_int(JX_A_AXIS_SIZE, size),
                      jx__a_ints(JX_A_IN_AXES, (jx_ints){ax, n}), jx__a_ints(JX_A_OUT_AXES, (jx_ints){ax + n, m})};
    jx__bind(loc, JX_PRIM_PMAP, n, in, 5, at, m, out, NULL);
    free(ax);
}
