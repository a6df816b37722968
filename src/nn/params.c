/* params.c: the parameter specs of each layer (name, aval, Flax's default initializer,
 * fans), for the code that creates parameter trees. Fans follow
 * jax.nn.initializers.variance_scaling on the kernel as Flax initialises it. */
#include "nn_util.h"
#include <jx/layers.h>

static jx_nn_param_spec spec(const char *name, jx_dtype t, jx_ints shape, jx_nn_init init,
                             int64_t fan_in, int64_t fan_out, int is_state) {
    return (jx_nn_param_spec){name, jx_aval_make(t, shape), init, fan_in, fan_out, is_state};
}

int jx_nn_dense_params(int64_t in, int64_t out, int bias, jx_dtype t, jx_nn_param_spec *s) {
    s[0] = spec("w", t, JX_INTS(in, out), JX_NN_INIT_LECUN_NORMAL, in, out, 0);
    if (bias) s[1] = spec("b", t, JX_INTS(out), JX_NN_INIT_ZEROS, in, out, 0);
    return bias ? 2 : 1;
}

int jx_nn_conv2d_params(int64_t kh, int64_t kw, int64_t c, int64_t o, int64_t groups, int bias,
                        jx_dtype t, jx_nn_param_spec *s) {
    if (groups < 1) groups = 1;
    int64_t rf = kh * kw, ci = c / groups;
    s[0] = spec("w", t, JX_INTS(kh, kw, ci, o), JX_NN_INIT_LECUN_NORMAL, rf * ci, rf * o, 0);
    if (bias) s[1] = spec("b", t, JX_INTS(o), JX_NN_INIT_ZEROS, rf * ci, rf * o, 0);
    return bias ? 2 : 1;
}

int jx_nn_norm_params(int64_t c, jx_dtype t, jx_nn_param_spec *s) {
    s[0] = spec("scale", t, JX_INTS(c), JX_NN_INIT_ONES, c, c, 0);
    s[1] = spec("bias", t, JX_INTS(c), JX_NN_INIT_ZEROS, c, c, 0);
    return 2;
}

int jx_nn_batch_norm_params(int64_t c, jx_dtype t, jx_nn_param_spec *s) {
    jx_nn_norm_params(c, t, s);
    s[2] = spec("mean", t, JX_INTS(c), JX_NN_INIT_ZEROS, c, c, 1);
    s[3] = spec("var", t, JX_INTS(c), JX_NN_INIT_ONES, c, c, 1);
    return 4;
}

int jx_nn_embedding_params(int64_t v, int64_t d, jx_dtype t, jx_nn_param_spec *s) {
    s[0] = spec("table", t, JX_INTS(v, d), JX_NN_INIT_EMBED_NORMAL, d, d, 0);
    return 1;
}

/* Flax initialises each gate's kernel apart: fans are those of one (in, hidden) block,
 * and the recurrent kernel is orthogonal per (hidden, hidden) block. */
int jx_nn_lstm_params(int64_t in, int64_t h, jx_dtype t, jx_nn_param_spec *s) {
    s[0] = spec("wi", t, JX_INTS(in, 4 * h), JX_NN_INIT_LECUN_NORMAL, in, h, 0);
    s[1] = spec("wh", t, JX_INTS(h, 4 * h), JX_NN_INIT_ORTHOGONAL, h, h, 0);
    s[2] = spec("b", t, JX_INTS(4 * h), JX_NN_INIT_ZEROS, h, h, 0);
    return 3;
}

int jx_nn_gru_params(int64_t in, int64_t h, jx_dtype t, jx_nn_param_spec *s) {
    s[0] = spec("wi", t, JX_INTS(in, 3 * h), JX_NN_INIT_LECUN_NORMAL, in, h, 0);
    s[1] = spec("bi", t, JX_INTS(3 * h), JX_NN_INIT_ZEROS, in, h, 0);
    s[2] = spec("wh", t, JX_INTS(h, 3 * h), JX_NN_INIT_ORTHOGONAL, h, h, 0);
    s[3] = spec("bh", t, JX_INTS(3 * h), JX_NN_INIT_ZEROS, h, h, 0);
    return 4;
}

int jx_nn_mha_params_spec(int64_t e, int64_t h, int64_t d, int64_t f, jx_dtype t, jx_nn_param_spec *s) {
    static const char *const names[6] = {"wq", "bq", "wk", "bk", "wv", "bv"};
    for (int i = 0; i < 3; i++) {
        s[2 * i] = spec(names[2 * i], t, JX_INTS(e, h, d), JX_NN_INIT_LECUN_NORMAL, e, h * d, 0);
        s[2 * i + 1] = spec(names[2 * i + 1], t, JX_INTS(h, d), JX_NN_INIT_ZEROS, e, h * d, 0);
    }
    s[6] = spec("wo", t, JX_INTS(h, d, f), JX_NN_INIT_LECUN_NORMAL, h * d, f, 0);
    s[7] = spec("bo", t, JX_INTS(f), JX_NN_INIT_ZEROS, h * d, f, 0);
    return 8;
}
