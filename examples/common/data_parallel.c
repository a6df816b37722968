/* data_parallel.c: see data_parallel.h. The step over the global batch is one traced
 * function: it reshapes each batch leaf (B, ...) into (ndev, B/ndev, ...) and calls the
 * per-device step through jx_pmap_call, so the trainer jits and runs it like the
 * single-device step (same inputs, same outputs, same donation). */
#include "data_parallel.h"

#include <stdlib.h>
#include <string.h>

const char *dp_axis;

void dp_mean_trees(int n, jx_tree **t) {
    if (!dp_axis) return;
    int total = 0, k = 0;
    for (int i = 0; i < n; i++) total += t[i] ? jx_tree_num_leaves(t[i]) : 0;
    jx_val *v = malloc(sizeof *v * (size_t)(2 * total + 1)), *flat = v ? v + total : NULL;
    if (!v) {
        jx_error_at(JX_HERE, JX_ERR_NOMEM, "data_parallel", "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) k += t[i] ? jx_tree_flatten_vals(t[i], v + k, total - k) : 0;
    /* one bucket per dtype: the leaves flattened and concatenated, one pmean, cut back */
    for (int first = 0; first < total; first++) {
        jx_dtype dt = jx_aval_of(v[first]).dtype;
        int m = 0, seen = 0;
        for (int j = 0; j < first && !seen; j++) seen = jx_aval_of(v[j]).dtype == dt;
        if (seen) continue; /* this dtype's bucket is done */
        for (int j = first; j < total; j++)
            if (jx_aval_of(v[j]).dtype == dt) flat[m++] = jx_reshape(v[j], JX_INTS(-1));
        jx_val sum = jx_pmean(m > 1 ? jx_concatenate(m, flat, 0) : flat[0], dp_axis);
        for (int j = first, off = 0; j < total; j++) {
            jx_aval a = jx_aval_of(v[j]);
            if (a.dtype != dt) continue;
            int64_t size = jx_aval_size(&a);
            v[j] = jx_reshape(jx_slice(sum, JX_INTS(off), JX_INTS(off + size), JX_NOINTS), (jx_ints){a.shape, a.rank});
            off += (int)size;
        }
    }
    for (int i = 0, at = 0; i < n; i++) {
        if (!t[i]) continue;
        int nl = jx_tree_num_leaves(t[i]);
        jx_tree *m = jx_tree_unflatten_vals(t[i], nl, v + at);
        jx_tree_free(t[i]);
        t[i] = m;
        at += nl;
    }
    free(v);
}

typedef struct dp {
    int nin, nout, ndev;
    jx_tree_fn *local; /* the per-device step */
} dp;

/* The step over the global batch: shards, pmap_call, outputs rebuilt. */
static void global_body(jx_tree **out, jx_tree *const *in, void *user) {
    const dp *d = user;
    const jx_fn *f = jx_tree_fn_fn(d->local);
    int n = jx_fn_num_inputs(f), m = jx_fn_num_outputs(f), first_batch = jx_tree_fn_input_offset(d->local, d->nin - 1);
    jx_val *v = malloc(sizeof *v * (size_t)(n + m)), *y = v ? v + n : NULL;
    int64_t *ia = malloc(sizeof *ia * (size_t)(n + m)), *oa = ia ? ia + n : NULL;
    if (!v || !ia) {
        jx_error_at(JX_HERE, JX_ERR_NOMEM, "data_parallel", "out of memory");
        goto done;
    }
    for (int t = 0, k = 0; t < d->nin; t++) k += jx_tree_flatten_vals(in[t], v + k, n - k);
    const jx_tree *batch = in[d->nin - 1];
    for (int i = 0; i < n; i++) {
        ia[i] = JX_NOT_MAPPED;
        if (i < first_batch) continue;
        char path[256];
        jx_tree_leaf_path(batch, i - first_batch, path, sizeof path);
        if (!strcmp(path, "key")) continue;
        jx_aval a = jx_aval_of(v[i]);
        int64_t shape[JX_MAX_RANK + 1] = {d->ndev, a.shape[0] / d->ndev};
        for (int r = 1; r < a.rank; r++) shape[r + 1] = a.shape[r];
        v[i] = jx_reshape(v[i], (jx_ints){shape, a.rank + 1});
        ia[i] = 0;
    }
    for (int j = 0; j < m; j++) oa[j] = JX_NOT_MAPPED; /* averaged: every device has the same */
    jx_pmap_call(f, (jx_ints){ia, n}, (jx_ints){oa, m}, dp_axis, n, v, m, y);
    for (int o = 0, k = 0; o < d->nout; o++) {
        const jx_tree *like = jx_tree_fn_output(d->local, o);
        int nl = jx_tree_num_leaves(like);
        out[o] = jx_tree_unflatten_vals(like, nl, y + k);
        k += nl;
    }
done:
    free(v);
    free(ia);
}

jx_tree_fn *dp_trace_step(const char *name, jx_tree_body body, void *user, int nin, jx_tree *const *in, int nout,
                          int ndev) {
    if (nin > 8) return NULL;
    /* the per-device batch: every leaf but the key has 1/ndev of the rows */
    const jx_tree *batch = in[nin - 1];
    jx_tree *local = jx_tree_dict();
    int nl = jx_tree_num_leaves(batch);
    for (int i = 0; i < nl; i++) {
        char path[256];
        jx_tree_leaf_path(batch, i, path, sizeof path);
        jx_aval a = jx_tree_leaf_aval(jx_tree_leaf(batch, i));
        if (strcmp(path, "key")) {
            if (a.rank < 1 || a.shape[0] % ndev) {
                jx_error_at(JX_HERE, JX_ERR_SHAPE, "data_parallel", "batch leaf '%s' (%lld rows) does not split into %d devices",
                            path, (long long)(a.rank ? a.shape[0] : 0), ndev);
                jx_tree_free(local);
                return NULL;
            }
            a.shape[0] /= ndev;
        }
        jx_tree_set(local, path, jx_tree_aval(a));
    }
    jx_tree *args[8];
    memcpy(args, in, sizeof *args * (size_t)nin);
    args[nin - 1] = local;
    dp d = {nin, nout, ndev, NULL};
    const char *saved = dp_axis;
    dp_axis = "batch";
    d.local = jx_tree_trace("device_step", body, user, nin, args, nout);
    jx_tree_fn *g = d.local ? jx_tree_trace(name, global_body, &d, nin, in, nout) : NULL;
    dp_axis = saved;
    jx_tree_fn_free(d.local);
    jx_tree_free(local);
    return g;
}
