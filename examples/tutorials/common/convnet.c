/* convnet.c: the named convolution layers of convnet.h. */
#include "convnet.h"

#include <math.h>
#include <stdio.h>

#include <jx/layers.h>

#include "tut.h"

void tut_conv_init(jx_tree *p, const char *name, uint64_t seed, int64_t k, int64_t c, int64_t o) {
    char path[JX_TREE_PATH_MAX];
    jx_array *w = tut_weights(seed, k * k * c, o, sqrt(2.0 / (double)(k * k * c)));
    snprintf(path, sizeof path, "%s.w", name);
    jx_tree_set_array(p, path, w ? jx_array_new(JX_F32, JX_INTS(k, k, c, o), jx_array_data(w)) : NULL);
    jx_array_release(w);
    snprintf(path, sizeof path, "%s.b", name);
    jx_tree_set_array(p, path, jx_array_zeros(JX_F32, JX_INTS(o)));
}

jx_val tut_conv(const jx_tree *p, const char *name, jx_val x) {
    char w[JX_TREE_PATH_MAX], b[JX_TREE_PATH_MAX];
    snprintf(w, sizeof w, "%s.w", name), snprintf(b, sizeof b, "%s.b", name);
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    return jx_nn_conv2d(x, jx_tree_get_val(p, w), jx_tree_get_val(p, b), &same);
}
