/* batch_util.c: helpers batch rules are written with: moving a value's mapped axis
 * (a transpose), giving an unmapped value the mapped axis (a broadcast, which the jit
 * fuses rather than copies), the aval a value had before batching, and the batching of
 * a rule's nested functions. */
#include <string.h>

#include "vmap.h"
#include "rule_scratch.h"

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

jx_val jx__bspread(const jx__vctx *cx, jx_loc loc, jx_val x, const jx_aval *full, int d) {
    int64_t shape[JX_MAX_RANK + 1], dim = d;
    for (int k = 0, j = 0; k <= full->rank; k++) shape[k] = k == d ? cx->size : full->shape[j++];
    return jx_broadcast_in_dim_at(loc, x, (jx_ints){shape, full->rank + 1}, (jx_ints){&dim, 1});
}

jx_val jx__vrebind(const jx__eqn *e, int nin, const jx_val *x, int nrep, const jx__attr *rep) {
    jx__attr a[32];
    int n = 0;
    JX__ASSERT(e->nattr + nrep <= 32);
    bool used[32] = {false};
    for (int i = 0; i < e->nattr; i++) {
        a[n] = e->attrs[i];
        for (int j = 0; j < nrep; j++)
            if (rep[j].key == e->attrs[i].key) a[n] = rep[j], used[j] = true;
        n++;
    }
    for (int j = 0; j < nrep; j++)
        if (!used[j]) a[n++] = rep[j];
    return jx__bind1(e->loc, (jx_prim)e->prim, nin, x, n, a);
}

jx_fn *jx__vmap_fn_rs(jx__rs *r, const jx_fn *f, const int *in_dims, const int *out_dims,
                      bool *out_batched) {
    return jx__rs_ok(r) ? jx__rs_own(r, jx__vmap_fn(r->cx, f, in_dims, out_dims, out_batched)) : NULL;
}

bool jx__bools_same(int n, const bool *a, const bool *b) {
    return n == 0 || !memcmp(a, b, sizeof *a * (size_t)n);
}
