/* lower_sort.c: sort and top_k as comparisons, sums and a gather, for a backend with no
 * sort of its own that computes folds per element (owner_folds: the CUDA backend), so
 * that fusion makes loop kernels of them instead of a step run on the host; the jit's
 * pipeline applies it while inlining (pipeline.c).
 *
 * Along the sorted axis (moved last), each element p gets its rank: the number of
 * elements q that come before it, q before p when its keys are less (lexicographically,
 * in the interpreter's order: NaN above everything and equal to NaN, -0.0 equal to +0.0;
 * top_k's descending order the reverse) or equal with q < p (stable: impl_sort.c's merge
 * sort keeps ties in order). Ranks are distinct, so the element at output position r is
 * the one p whose rank is r, found as the sum over p of (rank == r ? p : 0), and every
 * operand is gathered there: a permutation of its elements, so the interpreter's bits.
 * Both the ranks and the positions are n x n comparisons summed in a loop kernel (n the
 * axis' length, never stored as n x n), so the lowering is taken while lanes x n x n
 * stays within SORT_WORK; a longer sort stays a host step. */
#include "plan.h"

#define SORT_WORK ((int64_t)1 << 32)
enum { MAX_KEYS = 16 }; /* the most sort keys lowered */

bool jx__sort_lowerable(const jx__backend *be, const jx_fn *f, const jx__eqn *e) {
    if (!be || !be->owner_folds || (e->prim != JX_PRIM_SORT && e->prim != JX_PRIM_TOP_K) || e->nin < 1) return false;
    if (e->prim == JX_PRIM_SORT && jx__attr_int(e->nattr, e->attrs, JX_A_NUM_KEYS, 1) > MAX_KEYS) return false;
    jx_aval xa = jx__atom_aval(f, &e->in[0]);
    int axis = e->prim == JX_PRIM_SORT ? (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0) : xa.rank - 1;
    if (xa.rank < 1 || axis < 0 || axis >= xa.rank) return false;
    int64_t n = xa.shape[axis], size = jx_aval_size(&xa);
    if (size == 0 || (e->prim == JX_PRIM_TOP_K && jx__attr_int(e->nattr, e->attrs, JX_A_K, 0) < 1)) return false;
    return n <= SORT_WORK / size; /* lanes x n x n = size x n */
}

/* The permutation moving dim axis of a rank-r value last, and its inverse. */
static void last_perm(int r, int axis, int64_t *perm, int64_t *inv) {
    for (int d = 0, k = 0; d < r; d++)
        if (d != axis) perm[k++] = d;
    perm[r - 1] = axis;
    for (int d = 0; d < r; d++) inv[perm[d]] = d;
}

/* k (lanes..., n) broadcast to (lanes..., m, n) along the last dim (at q) or to
 * (lanes..., n, m) along the one before it (at p). */
static jx_val spread(jx_loc loc, jx_val k, int r, int64_t m, bool at_q) {
    jx_aval a = jx_aval_of(k);
    int64_t shape[JX_MAX_RANK + 1], dims[JX_MAX_RANK];
    for (int d = 0; d < r - 1; d++) shape[d] = a.shape[d], dims[d] = d;
    shape[r - 1] = at_q ? m : a.shape[r - 1];
    shape[r] = at_q ? a.shape[r - 1] : m;
    dims[r - 1] = at_q ? r : r - 1;
    return jx_broadcast_in_dim_at(loc, k, (jx_ints){shape, r + 1}, (jx_ints){dims, r});
}

/* a < b and a == b in impl_sort.c's order (NaN above everything, equal to NaN). */
static void compare(jx_loc loc, jx_val a, jx_val b, jx_val *lt, jx_val *eq) {
    jx_dtype t = jx_dtype_of(a);
    if (t == JX_BOOL) a = jx_convert_at(loc, a, JX_U8), b = jx_convert_at(loc, b, JX_U8);
    *lt = jx_lt_at(loc, a, b), *eq = jx_eq_at(loc, a, b);
    if (t != JX_F32 && t != JX_F64) return;
    jx_val na = jx_ne_at(loc, a, a), nb = jx_ne_at(loc, b, b);
    *lt = jx_or_at(loc, *lt, jx_and_at(loc, jx_not_at(loc, na), nb));
    *eq = jx_or_at(loc, *eq, jx_and_at(loc, na, nb));
}

/* The rank of each element p of the lanes of keys[0..nk) (lanes..., n): how many q
 * come before it; descending for top_k. i32 (lanes..., n). */
static jx_val ranks(jx_loc loc, int nk, const jx_val *keys, int r, int64_t n, bool descending) {
    int64_t shape_v[JX_MAX_RANK + 1];
    jx_aval ka = jx_aval_of(keys[0]);
    for (int d = 0; d < r; d++) shape_v[d] = ka.shape[d];
    shape_v[r] = n;
    jx_ints shape = {shape_v, r + 1};
    /* q < p from iotas of the axis broadcast, not iotas of the n x n shape: positions()
     * has those, and one iota shared by both would keep this group from taking in its
     * reduction (its values read later), which would store the n x n comparisons; made
     * first, as what starts a group of another shape closes the open one */
    int64_t dq[1] = {r}, dp[1] = {r - 1};
    jx_val i = jx_iota_at(loc, JX_I32, JX_INTS(n), 0);
    jx_val q_first = jx_lt_at(loc, jx_broadcast_in_dim_at(loc, i, shape, (jx_ints){dq, 1}),
                              jx_broadcast_in_dim_at(loc, i, shape, (jx_ints){dp, 1}));
    jx_val less = JX_NONE, same = JX_NONE;
    for (int k = nk - 1; k >= 0; k--) { /* lexicographic: the first key decides first */
        jx_val at_p = spread(loc, keys[k], r, n, false), at_q = spread(loc, keys[k], r, n, true), lt, eq;
        if (descending) compare(loc, at_p, at_q, &lt, &eq);
        else compare(loc, at_q, at_p, &lt, &eq);
        less = k == nk - 1 ? lt : jx_or_at(loc, lt, jx_and_at(loc, eq, less));
        same = k == nk - 1 ? eq : jx_and_at(loc, eq, same);
    }
    jx_val before = jx_or_at(loc, less, jx_and_at(loc, same, q_first));
    return jx_reduce_sum_at(loc, jx_convert_at(loc, before, JX_I32), JX_INTS(r));
}

/* For output positions r < m of each lane: the p whose rank is r (i32 (lanes..., m)). */
static jx_val positions(jx_loc loc, jx_val rank, int r, int64_t m) {
    jx_val at = spread(loc, rank, r, m, true); /* (lanes..., m, n): rank of p */
    jx_aval a = jx_aval_of(at);
    jx_ints shape = {a.shape, a.rank};
    jx_val hit = jx_eq_at(loc, at, jx_iota_at(loc, JX_I32, shape, r - 1));
    jx_val p = jx_select_at(loc, hit, jx_iota_at(loc, JX_I32, shape, r), jx_zeros_like_at(loc, at));
    return jx_reduce_sum_at(loc, p, JX_INTS(r));
}

jx_status jx__sort_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out) {
    jx_aval xa = jx__atom_aval(f, &e->in[0]);
    int r = xa.rank;
    bool sort = e->prim == JX_PRIM_SORT;
    int axis = sort ? (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0) : r - 1;
    int nk = sort ? (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_KEYS, 1) : 1;
    if (nk < 1 || nk > e->nin || nk > MAX_KEYS)
        return jx__fail(JX_ERR_INTERNAL, loc, jx__prims[e->prim].name, "num_keys %d of %d operands", nk, e->nin);
    int64_t n = xa.shape[axis], m = sort ? n : jx__attr_int(e->nattr, e->attrs, JX_A_K, 0);
    int64_t perm[JX_MAX_RANK], inv[JX_MAX_RANK];
    last_perm(r, axis, perm, inv);
    bool moved = axis != r - 1;
    jx_val keys[MAX_KEYS];
    for (int k = 0; k < nk; k++) keys[k] = moved ? jx_transpose_at(loc, in[k], (jx_ints){perm, r}) : in[k];
    jx_val at = positions(loc, ranks(loc, nk, keys, r, n, !sort), r, m);
    for (int i = 0; i < (sort ? e->nin : 1); i++) {
        jx_val x = i < nk ? keys[i] : moved ? jx_transpose_at(loc, in[i], (jx_ints){perm, r}) : in[i];
        jx_val y = jx__gather_clamped_at(loc, x, at, r - 1, r - 1);
        out[i] = moved ? jx_transpose_at(loc, y, (jx_ints){inv, r}) : y;
    }
    if (!sort) out[1] = at;
    return jx_errcode();
}
