/* rules_collective.c: batch rules of the collectives over a named axis (psum, pmax,
 * pmin, axis_index, all_gather, ppermute, all_to_all). Under the vmap that binds their axis name they become
 * ordinary operations along the mapped axis, and their results are the same in every
 * slice (unmapped), as in JAX:
 *  - psum/pmax/pmin of a mapped x: reduce_sum/max/min over the mapped axis; of an
 *    unmapped x: x * size (psum), x itself (pmax/pmin);
 *  - axis_index: iota over the mapped axis (mapped at 0);
 *  - all_gather: x with its mapped axis moved first (broadcast when unmapped);
 *  - ppermute: the slices rearranged along the mapped axis (zeros where none is sent);
 *  - all_to_all: a reshape, transpose and reshape that exchange the chunks.
 * Unlike the others, ppermute and all_to_all give mapped results.
 * A collective over another name (an outer vmap's, seen inside an inner one) is bound
 * again on the batched value, which keeps its mapped axis: the outer vmap binds it. */
#include <stdlib.h>
#include <string.h>

#include "vmap.h"

#define BARGS                                                                          \
    const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim, jx_val *y, \
        int *ydim

static bool is_collective(int prim) {
    return prim == JX_PRIM_PSUM || prim == JX_PRIM_PMAX || prim == JX_PRIM_PMIN || prim == JX_PRIM_AXIS_INDEX ||
           prim == JX_PRIM_ALL_GATHER || prim == JX_PRIM_PPERMUTE || prim == JX_PRIM_ALL_TO_ALL;
}

/* Whether e is a collective over cx's axis name. */
static bool binds(const jx__vctx *cx, const jx__eqn *e) {
    if (!cx->axis_name || !is_collective(e->prim)) return false;
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    return name && strcmp(name, cx->axis_name) == 0;
}

static bool fn_binds(const jx__vctx *cx, const jx_fn *f) {
    for (int k = 0; k < f->neqn; k++)
        if (jx__vmap_binds_axis(cx, &f->eqns[k])) return true;
    return false;
}

bool jx__vmap_binds_axis(const jx__vctx *cx, const jx__eqn *e) {
    if (!cx->axis_name) return false;
    if (binds(cx, e)) return true;
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS)
            for (int j = 0; j < e->attrs[a].n; j++)
                if (fn_binds(cx, e->attrs[a].u.fns[j])) return true;
    return false;
}

/* A collective over another axis name: rebound to the batched operand x[0], its result
 * batched at ydim0. */
static jx_status pass_through(const jx__eqn *e, const jx_val *x, jx_val *y, int *ydim, int ydim0) {
    y[0] = jx__vrebind(e, 1, x, 0, NULL);
    ydim[0] = ydim0;
    return jx_trace_status();
}

/* psum/pmax/pmin. */
static jx_status b_reduce(BARGS) {
    int d = bdim[0];
    if (!binds(cx, e)) return pass_through(e, x, y, ydim, d);
    jx_loc loc = e->loc;
    ydim[0] = JX_NOBATCH;
    if (d == JX_NOBATCH) {
        jx_val n = jx_scalar_like_at(loc, x[0], (double)cx->size);
        y[0] = e->prim == JX_PRIM_PSUM ? jx_mul_at(loc, x[0], n) : x[0];
        return jx_trace_status();
    }
    int64_t ax = d;
    jx_ints axes = {&ax, 1};
    y[0] = e->prim == JX_PRIM_PSUM   ? jx_reduce_sum_at(loc, x[0], axes)
           : e->prim == JX_PRIM_PMAX ? jx_reduce_max_at(loc, x[0], axes)
                                     : jx_reduce_min_at(loc, x[0], axes);
    return jx_trace_status();
}

/* axis_index: it has no operand, so it only gets here when it names cx's axis. */
static jx_status b_axis_index(BARGS) {
    (void)x, (void)bdim;
    if (!binds(cx, e)) {
        y[0] = jx__vrebind(e, 0, NULL, 0, NULL);
        ydim[0] = JX_NOBATCH;
        return jx_trace_status();
    }
    int64_t n = cx->size;
    y[0] = jx_iota_at(e->loc, JX_I32, (jx_ints){&n, 1}, 0);
    ydim[0] = 0;
    return jx_trace_status();
}

static jx_status b_all_gather(BARGS) {
    int d = bdim[0];
    if (!binds(cx, e)) /* the gathered axis comes first: the mapped one moves up */
        return pass_through(e, x, y, ydim, d == JX_NOBATCH ? d : d + 1);
    int64_t want = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, -1);
    if (want != cx->size) {
        jx__trace_fail(jx__trace_top(), JX_ERR_SHAPE, e->loc, "all_gather",
                       "axis_size is %lld but the vmap of axis '%s' has size %lld", (long long)want,
                       cx->axis_name, (long long)cx->size);
        return jx_trace_status();
    }
    y[0] = jx__bfront(cx, e->loc, x[0], d);
    ydim[0] = JX_NOBATCH;
    return jx_trace_status();
}

/* ppermute: slice i of the result is the slice its pair's source sends (mapped at 0). */
static jx_status b_ppermute(BARGS) {
    int d = bdim[0];
    if (!binds(cx, e)) return pass_through(e, x, y, ydim, d);
    jx_loc loc = e->loc;
    jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
    for (int q = 0; q < p.n; q++)
        if (p.v[q] >= cx->size) {
            jx__trace_fail(jx__trace_top(), JX_ERR_ARG, loc, "ppermute",
                           "pair (%lld,%lld) names a device outside axis '%s' of size %lld", (long long)p.v[q - q % 2],
                           (long long)p.v[q - q % 2 + 1], cx->axis_name, (long long)cx->size);
            return jx_trace_status();
        }
    jx_val v = jx__bfront(cx, loc, x[0], d);
    jx_aval a = jx__val_aval(v);
    int64_t lo[JX_MAX_RANK] = {0}, hi[JX_MAX_RANK];
    for (int k = 0; k < a.rank; k++) hi[k] = a.shape[k];
    jx_val *parts = malloc(sizeof *parts * (size_t)cx->size);
    if (!parts) {
        jx__trace_fail(jx__trace_top(), JX_ERR_NOMEM, loc, "ppermute", "out of memory");
        return jx_trace_status();
    }
    jx_val zero = JX_NONE;
    bool have_zero = false;
    for (int64_t i = 0; i < cx->size; i++) {
        int64_t src = -1;
        for (int q = 0; q + 1 < p.n; q += 2)
            if (p.v[q + 1] == i) src = p.v[q];
        if (src < 0) {
            if (!have_zero) {
                lo[0] = 0, hi[0] = 1;
                zero = jx_zeros_like_at(loc, jx_slice_at(loc, v, (jx_ints){lo, a.rank}, (jx_ints){hi, a.rank}, JX_NOINTS));
                have_zero = true;
            }
            parts[i] = zero;
            continue;
        }
        lo[0] = src, hi[0] = src + 1;
        parts[i] = jx_slice_at(loc, v, (jx_ints){lo, a.rank}, (jx_ints){hi, a.rank}, JX_NOINTS);
    }
    y[0] = jx_concatenate_at(loc, (int)cx->size, parts, 0);
    ydim[0] = 0;
    free(parts);
    return jx_trace_status();
}

/* all_to_all over the mapped axis: with x as [src, ...] and its split axis cut into
 * (chunk, c), the result is [chunk, ...] with src merged just before the concat axis. */
static jx_status b_all_to_all(BARGS) {
    int d = bdim[0];
    int64_t k = jx__attr_int(e->nattr, e->attrs, JX_A_SPLIT_AXIS, 0), m = jx__attr_int(e->nattr, e->attrs, JX_A_CONCAT_AXIS, 0);
    if (!binds(cx, e)) {
        jx__attr rep[2] = {jx__a_int(JX_A_SPLIT_AXIS, jx__bax(k, d)), jx__a_int(JX_A_CONCAT_AXIS, jx__bax(m, d))};
        y[0] = jx__vrebind(e, 1, x, d == JX_NOBATCH ? 0 : 2, rep);
        ydim[0] = d;
        return jx_trace_status();
    }
    jx_loc loc = e->loc;
    int64_t n = cx->size, want = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, -1);
    if (want != n) {
        jx__trace_fail(jx__trace_top(), JX_ERR_SHAPE, loc, "all_to_all",
                       "axis_size is %lld but the vmap of axis '%s' has size %lld", (long long)want, cx->axis_name,
                       (long long)n);
        return jx_trace_status();
    }
    jx_val v = jx__bfront(cx, loc, x[0], d);
    jx_aval a = jx__unbatched_aval(v, 0);
    int r = a.rank;
    if (r + 2 > JX_MAX_RANK) {
        jx__trace_fail(jx__trace_top(), JX_ERR_SHAPE, loc, "all_to_all", "%s has no room to split an axis", jx__avs(&a));
        return jx_trace_status();
    }
    int64_t sh[JX_MAX_RANK], perm[JX_MAX_RANK], out[JX_MAX_RANK];
    int q = 0;
    sh[q++] = n;
    for (int j = 0; j < r; j++) {
        if (j == k) sh[q++] = n, sh[q++] = a.shape[j] / n;
        else sh[q++] = a.shape[j];
    }
    v = jx_reshape_at(loc, v, (jx_ints){sh, r + 2});
    q = 0;
    perm[q++] = 1 + k; /* the chunk index: the receiving slice */
    for (int j = 0; j < r; j++) {
        if (j == m) perm[q++] = 0; /* the sender, major within the concat axis */
        perm[q++] = j == k ? 2 + k : 1 + j + (j > k);
    }
    v = jx_transpose_at(loc, v, (jx_ints){perm, r + 2});
    out[0] = n;
    for (int j = 0; j < r; j++) out[j + 1] = a.shape[j] / (j == k ? n : 1) * (j == m ? n : 1);
    y[0] = jx_reshape_at(loc, v, (jx_ints){out, r + 1});
    ydim[0] = 0;
    return jx_trace_status();
}

void jx__vmap_register_collective(jx__batch_rule *t) {
    t[JX_PRIM_PPERMUTE] = b_ppermute;
    t[JX_PRIM_ALL_TO_ALL] = b_all_to_all;
    t[JX_PRIM_PSUM] = b_reduce;
    t[JX_PRIM_PMAX] = b_reduce;
    t[JX_PRIM_PMIN] = b_reduce;
    t[JX_PRIM_AXIS_INDEX] = b_axis_index;
    t[JX_PRIM_ALL_GATHER] = b_all_gather;
}
