/* mlp.c: see mlp.h. */
#include "mlp.h"

#include <jx/layers.h>
#include <math.h>
#include <stdio.h>

#include "tut.h"

jx_tree *mlp_init(const mlp *m, uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    for (int l = 0; p && l < m->layers; l++) {
        int64_t in = m->widths[l], out = m->widths[l + 1];
        /* the scale rounded to f32 as mlp.py's: normal * scale in double, rounded once, is
         * then the f32 product */
        float scale = (float)sqrt((l + 1 < m->layers ? 2.0 : 1.0) / (double)in);
        jx_array *w = tut_weights(seed + 1 + (uint64_t)l, in, out, scale);
        char path[64];
        snprintf(path, sizeof path, "%s.w", m->names[l]);
        int ok = jx_tree_set_array(p, path, w) == JX_OK;
        snprintf(path, sizeof path, "%s.b", m->names[l]);
        if (!ok || jx_tree_set_array(p, path, jx_array_zeros(JX_F32, JX_INTS(out))) != JX_OK) {
            jx_tree_free(p);
            return NULL;
        }
    }
    return p;
}

jx_val mlp_forward(const mlp *m, const jx_tree *params, jx_val x) {
    for (int l = 0; l < m->layers; l++) {
        const jx_tree *d = jx_tree_get(params, m->names[l]);
        x = jx_nn_dense(x, jx_tree_get_val(d, "w"), jx_tree_get_val(d, "b"));
        if (l + 1 < m->layers) x = jx_relu(x);
    }
    return x;
}
