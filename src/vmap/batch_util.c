/* batch_util.c: helpers batch rules are written with: moving a value's mapped axis
 * (a transpose), giving an unmapped value the mapped axis (a broadcast, which the jit
 * fuses rather than copies), and the aval a value had before batching. */
#include "vmap.h"

jx_val jx__bmove(const jx__vctx *cx, jx_loc loc, jx_val x, int from, int to) {
    jx_aval a = jx__val_aval(x);
    if (a.rank < 0) return x; /* an invalid value: the trace has the error already */
    if (from == JX_NOBATCH) {
        int r = a.rank + 1;
        if (to < 0) to += r;
        if (r > JX_MAX_RANK) {
            /* a user's rank-8 value cannot take one more axis: an error, not a crash */
            jx__trace_fail(jx__trace_top(), JX_ERR_SHAPE, loc, "vmap",
                           "batching %s needs rank %d, above the maximum %d", jx__avs(&a), r,
                           JX_MAX_RANK);
            return x;
        }
        JX__ASSERT(to >= 0 && to < r);
        int64_t shape[JX_MAX_RANK], dims[JX_MAX_RANK];
        for (int i = 0, k = 0; i < r; i++) {
            if (i == to) {
                shape[i] = cx->size;
                continue;
            }
            shape[i] = a.shape[k];
            dims[k++] = i;
        }
        return jx_broadcast_in_dim_at(loc, x, (jx_ints){shape, r}, (jx_ints){dims, a.rank});
    }
    if (to < 0) to += a.rank;
    JX__ASSERT(from >= 0 && from < a.rank && to >= 0 && to < a.rank);
    if (from == to) return x;
    /* out dim `to` is x's dim `from`; the others keep their order */
    int64_t perm[JX_MAX_RANK];
    for (int i = 0, k = 0; i < a.rank; i++) {
        if (k == from) k++;
        perm[i] = i == to ? from : k++;
    }
    return jx_transpose_at(loc, x, (jx_ints){perm, a.rank});
}

jx_val jx__bfront(const jx__vctx *cx, jx_loc loc, jx_val x, int from) {
    return jx__bmove(cx, loc, x, from, 0);
}

jx_aval jx__unbatched_aval(jx_val x, int bdim) {
    jx_aval a = jx__val_aval(x);
    if (bdim == JX_NOBATCH || a.rank <= 0 || bdim >= a.rank) return a;
    for (int i = bdim; i + 1 < a.rank; i++) a.shape[i] = a.shape[i + 1];
    a.rank--;
    return a;
}
