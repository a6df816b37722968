/* jx/layers.h: neural-network layers as pure functions over traced values.
 *
 * Every layer is a function of its input and its parameters, all passed explicitly as
 * jx_val (Flax linen's apply, Equinox's functional core): nothing is hidden, so a layer
 * composes with grad, vmap and jit like any op. Parameters use Flax's layouts (dense
 * kernels (in, out), conv kernels HWIO, images NHWC), so weights trained with Flax can
 * be used as they are. Each layer has a `*_params` helper listing the parameters it
 * wants (name, aval, default initializer, fans) for the code that creates them.
 *
 *     // y = relu(conv(x)) then a dense head; x is (B,28,28,1)
 *     jx_nn_conv2d_opts c = {.padding = JX_NN_PAD_SAME};
 *     jx_val h = jx_relu(jx_nn_conv2d(x, w1, b1, &c));            // (B,28,28,32)
 *     h = jx_nn_max_pool(h, 2, 2, 2, 2, JX_NN_PAD_VALID);         // (B,14,14,32)
 *     jx_val y = jx_nn_dense(jx_reshape(h, JX_INTS(-1, 14 * 14 * 32)), w2, b2);
 *
 * Conventions
 *  - Each layer is a macro around its _at form taking the caller's place (see jx.h): a
 *    wrong shape or dtype is an error at the user's line naming the layer and the
 *    shapes, e.g. `model.c:12: conv2d: kernel f32[3,3,4,8] wants 4 input channels
 *    (groups 1), input f32[2,8,8,3] has 3`.
 *  - Parameters and inputs share one float dtype (f32 or f64); indices are integers.
 *  - Optional parameters (a bias) may be JX_NONE.
 */
#ifndef JX_LAYERS_H
#define JX_LAYERS_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ parameter specs */

/* Default initializers, as Flax's layers use them (jax.nn.initializers names). */
typedef enum jx_nn_init {
    JX_NN_INIT_ZEROS,
    JX_NN_INIT_ONES,
    JX_NN_INIT_LECUN_NORMAL,  /* truncated normal, variance 1/fan_in (Dense, Conv) */
    JX_NN_INIT_ORTHOGONAL,    /* recurrent kernels of LSTM and GRU cells */
    JX_NN_INIT_EMBED_NORMAL,  /* normal, variance 1/fan_in with fan_in the feature size */
} jx_nn_init;

/* One parameter (or state) array a layer wants. */
typedef struct jx_nn_param_spec {
    const char *name;        /* "w", "b", "scale", "mean"...: static storage */
    jx_aval aval;            /* dtype and shape */
    jx_nn_init init;         /* Flax's default initializer for it */
    int64_t fan_in, fan_out; /* for variance-scaling initializers (receptive field included) */
    int is_state;            /* 1 for running statistics: carried state, not trained */
} jx_nn_param_spec;

#define JX_NN_MAX_PARAMS 8 /* the most specs one layer lists */

/* ------------------------------------------------------------------ dense */

/* y = x @ w + b.  x (..., in), w (in, out), b (out) or JX_NONE  ->  (..., out). */
jx_val jx_nn_dense_at(jx_loc loc, jx_val x, jx_val w, jx_val b);
#define jx_nn_dense(...) jx_nn_dense_at(JX_HERE, __VA_ARGS__)
/* Specs {w (in,out) lecun_normal, b (out) zeros (when bias)}; returns their count. */
int jx_nn_dense_params(int64_t in, int64_t out, int bias, jx_dtype dtype, jx_nn_param_spec *specs);

/* ------------------------------------------------------------------ convolution */

/* Padding of a convolution or a pooling window, as lax names it. SAME: the output has
 * ceil(in / stride) positions, padding split with the smaller half first. */
typedef enum jx_nn_padding {
    JX_NN_PAD_VALID,
    JX_NN_PAD_SAME,
    JX_NN_PAD_EXPLICIT, /* pad[] below: top, bottom, left, right (may be negative) */
} jx_nn_padding;

/* Options of conv2d and conv_transpose2d; zero fields take the defaults (stride 1,
 * dilation 1, one group, VALID padding). */
typedef struct jx_nn_conv2d_opts {
    int64_t stride[2];   /* (h, w) */
    int64_t dilation[2]; /* of the kernel (rhs dilation), (h, w) */
    jx_nn_padding padding;
    int64_t pad[4]; /* explicit padding: top, bottom, left, right */
    int64_t groups; /* feature groups: C and O must divide by it (conv2d only) */
} jx_nn_conv2d_opts;

/* 2-D convolution (flax.linen.Conv).  x (N,H,W,C), w (KH,KW,C/groups,O) (HWIO),
 * b (O) or JX_NONE  ->  (N,OH,OW,O); opts may be NULL for the defaults. */
jx_val jx_nn_conv2d_at(jx_loc loc, jx_val x, jx_val w, jx_val b, const jx_nn_conv2d_opts *opts);
#define jx_nn_conv2d(...) jx_nn_conv2d_at(JX_HERE, __VA_ARGS__)
/* Specs {w (kh,kw,c/groups,o) lecun_normal, b (o) zeros}. */
int jx_nn_conv2d_params(int64_t kh, int64_t kw, int64_t c, int64_t o, int64_t groups, int bias,
                        jx_dtype dtype, jx_nn_param_spec *specs);

/* Transposed 2-D convolution (flax.linen.ConvTranspose, lax.conv_transpose with an
 * unflipped kernel): the gradient-shaped upsampling convolution.  x (N,H,W,C),
 * w (KH,KW,C,O), b (O) or JX_NONE  ->  (N,OH,OW,O) with OH = H*stride (SAME),
 * H*stride + max(KH' - stride, 0) (VALID; KH' the dilated kernel size), or
 * (H-1)*stride + 1 + top + bottom - KH' + 1 (EXPLICIT). groups must be 0 or 1. */
jx_val jx_nn_conv_transpose2d_at(jx_loc loc, jx_val x, jx_val w, jx_val b,
                                 const jx_nn_conv2d_opts *opts);
#define jx_nn_conv_transpose2d(...) jx_nn_conv_transpose2d_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ pooling */

/* Max pooling over (kh,kw) windows (flax.linen.max_pool).  x (N,H,W,C) -> (N,OH,OW,C);
 * padding SAME or VALID (padded positions never win). */
jx_val jx_nn_max_pool_at(jx_loc loc, jx_val x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         jx_nn_padding padding);
#define jx_nn_max_pool(...) jx_nn_max_pool_at(JX_HERE, __VA_ARGS__)
/* Average pooling (flax.linen.avg_pool). With count_include_pad (Flax's default) a
 * window is divided by kh*kw, else by the number of real inputs it covers. */
jx_val jx_nn_avg_pool_at(jx_loc loc, jx_val x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         jx_nn_padding padding, int count_include_pad);
#define jx_nn_avg_pool(...) jx_nn_avg_pool_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ normalisation */

/* Batch norm, training mode (flax.linen.BatchNorm(use_running_average=False)): x is
 * normalised with the statistics of this batch over every axis but the last.
 * x (...,C), scale (C) or JX_NONE, bias (C) or JX_NONE, mean and var (C): the running
 * statistics (Flax's batch_stats)  ->  (...,C). *new_mean and *new_var (may be NULL)
 * receive the updated running statistics, momentum * old + (1 - momentum) * batch
 * (batch variance biased, as Flax); Flax's defaults are momentum 0.99, eps 1e-5. */
jx_val jx_nn_batch_norm_train_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                 jx_val var, double momentum, double eps, jx_val *new_mean,
                                 jx_val *new_var);
#define jx_nn_batch_norm_train(...) jx_nn_batch_norm_train_at(JX_HERE, __VA_ARGS__)
/* Synchronised batch norm (flax.linen.BatchNorm(axis_name=...)): as
 * jx_nn_batch_norm_train, but under a pmap or vmap binding axis_name the batch mean and
 * mean of squares are averaged over that axis (jx_pmean), so that x, one equal slice of
 * the global batch per device, is normalised with the global batch's statistics (to
 * rounding: the mean of the slices' means); the new running statistics are the same on
 * every device. axis_name NULL: jx_nn_batch_norm_train. */
jx_val jx_nn_batch_norm_train_axis_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                      jx_val var, double momentum, double eps, const char *axis_name,
                                      jx_val *new_mean, jx_val *new_var);
#define jx_nn_batch_norm_train_axis(...) jx_nn_batch_norm_train_axis_at(JX_HERE, __VA_ARGS__)
/* Batch norm, evaluation mode: normalises with the running statistics mean and var. */
jx_val jx_nn_batch_norm_eval_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, jx_val mean,
                                jx_val var, double eps);
#define jx_nn_batch_norm_eval(...) jx_nn_batch_norm_eval_at(JX_HERE, __VA_ARGS__)
/* Specs {scale ones, bias zeros, mean zeros (state), var ones (state)}, each (c). */
int jx_nn_batch_norm_params(int64_t c, jx_dtype dtype, jx_nn_param_spec *specs);

/* Layer norm over the last axis (flax.linen.LayerNorm, default eps 1e-6).
 * x (...,C), scale (C) or JX_NONE, bias (C) or JX_NONE  ->  (...,C). */
jx_val jx_nn_layer_norm_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, double eps);
#define jx_nn_layer_norm(...) jx_nn_layer_norm_at(JX_HERE, __VA_ARGS__)
/* Group norm (flax.linen.GroupNorm, default 32 groups and eps 1e-6): the C channels
 * are split into `groups` groups, each normalised over every axis but the first (the
 * batch). x (N,...,C) with C divisible by groups, scale and bias (C) or JX_NONE. */
jx_val jx_nn_group_norm_at(jx_loc loc, jx_val x, jx_val scale, jx_val bias, int64_t groups,
                           double eps);
#define jx_nn_group_norm(...) jx_nn_group_norm_at(JX_HERE, __VA_ARGS__)
/* Specs {scale ones, bias zeros}, each (c): layer norm and group norm. */
int jx_nn_norm_params(int64_t c, jx_dtype dtype, jx_nn_param_spec *specs);

/* ------------------------------------------------------------------ dropout */

/* Inverted dropout (flax.linen.Dropout): each element is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate), else zeroed. key is a u32[2] PRNG key; the
 * mask is jax.random.bernoulli(key, 1 - rate, x.shape) bit for bit under JAX's default
 * configuration (threefry2x32, jax_threefry_partitionable=True, JAX >= 0.5), so the
 * same key drops the same elements as Flax. rate 0 returns x; rate 1 returns zeros. */
jx_val jx_nn_dropout_at(jx_loc loc, jx_val x, double rate, jx_val key);
#define jx_nn_dropout(...) jx_nn_dropout_at(JX_HERE, __VA_ARGS__)
/* Dropout of one slice of a batch split over a pmap or vmap axis: x is slice i
 * (jx_axis_index(axis_name)) of a global batch cut along its first axis into equal
 * slices in axis order, key is the same on every slice, and the mask is rows of the
 * global batch's jx_nn_dropout mask, bit for bit, so N devices drop exactly what one
 * device drops on the whole batch. The global batch must have fewer than 2^32
 * elements. axis_name NULL: jx_nn_dropout. */
jx_val jx_nn_dropout_axis_at(jx_loc loc, jx_val x, double rate, jx_val key, const char *axis_name);
#define jx_nn_dropout_axis(...) jx_nn_dropout_axis_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ embedding */

/* Rows of table picked by integer ids (flax.linen.Embed).  table (V,D), ids (...) of
 * any integer dtype  ->  (...,D). Out-of-range ids are clamped into [0, V) (Flax's
 * jnp.take gives NaN rows instead). */
jx_val jx_nn_embedding_at(jx_loc loc, jx_val table, jx_val ids);
#define jx_nn_embedding(...) jx_nn_embedding_at(JX_HERE, __VA_ARGS__)
/* Specs {table (v,d) embed_normal}. */
int jx_nn_embedding_params(int64_t v, int64_t d, jx_dtype dtype, jx_nn_param_spec *specs);

/* ------------------------------------------------------------------ resizing */

typedef enum jx_nn_resize { JX_NN_RESIZE_NEAREST, JX_NN_RESIZE_BILINEAR } jx_nn_resize;

/* Resizes the spatial axes of x (N,H,W,C) to (N,oh,ow,C) as jax.image.resize does
 * (half-pixel centres; bilinear is antialiased when shrinking, as JAX's default). */
jx_val jx_nn_resize_at(jx_loc loc, jx_val x, int64_t oh, int64_t ow, jx_nn_resize method);
#define jx_nn_resize(...) jx_nn_resize_at(JX_HERE, __VA_ARGS__)
/* Upsampling by an integer factor: jx_nn_resize to (H*factor, W*factor). */
jx_val jx_nn_upsample_at(jx_loc loc, jx_val x, int64_t factor, jx_nn_resize method);
#define jx_nn_upsample(...) jx_nn_upsample_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ recurrent cells */

/* LSTM cell (flax.linen.LSTMCell with its four gates fused in one matmul, gate order
 * i, f, g, o).  x (B,I), carry c (B,H) and h (B,H), wi (I,4H), wh (H,4H), b (4H):
 *   [i f g o] = x @ wi + h @ wh + b;  c' = sigmoid(f) c + sigmoid(i) tanh(g);
 *   h' = sigmoid(o) tanh(c').  *c_out and *h_out get c' and h' (h' is the output). */
void jx_nn_lstm_cell_at(jx_loc loc, jx_val x, jx_val c, jx_val h, jx_val wi, jx_val wh, jx_val b,
                        jx_val *c_out, jx_val *h_out);
#define jx_nn_lstm_cell(...) jx_nn_lstm_cell_at(JX_HERE, __VA_ARGS__)
/* Specs {wi (i,4h) lecun_normal, wh (h,4h) orthogonal, b (4h) zeros}. */
int jx_nn_lstm_params(int64_t in, int64_t hidden, jx_dtype dtype, jx_nn_param_spec *specs);

/* GRU cell (flax.linen.GRUCell, gates fused, order r, z, n).  x (B,I), h (B,H),
 * wi (I,3H), bi (3H), wh (H,3H), bh (3H) or JX_NONE:
 *   [xr xz xn] = x @ wi + bi;  [hr hz hn] = h @ wh + bh;  r = sigmoid(xr + hr);
 *   z = sigmoid(xz + hz);  n = tanh(xn + r hn);  h' = (1 - z) n + z h.
 * Flax's cell has a recurrent bias on n only: its bh is (0, 0, b_hn). Returns h'. */
jx_val jx_nn_gru_cell_at(jx_loc loc, jx_val x, jx_val h, jx_val wi, jx_val bi, jx_val wh, jx_val bh);
#define jx_nn_gru_cell(...) jx_nn_gru_cell_at(JX_HERE, __VA_ARGS__)
/* Specs {wi (i,3h) lecun_normal, bi (3h) zeros, wh (h,3h) orthogonal, bh (3h) zeros}. */
int jx_nn_gru_params(int64_t in, int64_t hidden, jx_dtype dtype, jx_nn_param_spec *specs);

typedef enum jx_nn_cell { JX_NN_CELL_LSTM, JX_NN_CELL_GRU } jx_nn_cell;

/* A recurrent layer over a sequence (flax.linen.RNN): the cell runs over the time axis
 * as one scan (one loop in the IR, differentiable in both modes). x (B,T,I) batch-major;
 * params: LSTM {wi, wh, b}, GRU {wi, bi, wh, bh} as for the cells; carry: LSTM {c, h},
 * GRU {h}, each (B,H). reverse runs from the last step to the first (outputs stay in
 * input order). Returns the outputs h_t (B,T,H); carry_out (may be NULL) receives the
 * final carry (LSTM: 2 values, GRU: 1). */
jx_val jx_nn_rnn_at(jx_loc loc, jx_nn_cell cell, const jx_val *params, jx_val x,
                    const jx_val *carry, int reverse, jx_val *carry_out);
#define jx_nn_rnn(...) jx_nn_rnn_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ attention */

/* Scaled dot-product attention (flax.linen.dot_product_attention): softmax over keys
 * of q.k / sqrt(D), then the weighted sum of values.  q (B,Tq,H,D), k (B,Tk,H,D),
 * v (B,Tk,H,Dv), mask bool broadcastable to (B,H,Tq,Tk) (true: attend) or JX_NONE
 * ->  (B,Tq,H,Dv). Masked logits become the dtype's lowest finite value, as Flax. */
jx_val jx_nn_attention_at(jx_loc loc, jx_val q, jx_val k, jx_val v, jx_val mask);
#define jx_nn_attention(...) jx_nn_attention_at(JX_HERE, __VA_ARGS__)

/* The parameters of multi-head attention, in flax.linen.MultiHeadDotProductAttention's
 * layout: wq, wk, wv (E,H,D) with biases (H,D); wo (H,D,F) with bias (F). Biases may be
 * JX_NONE. */
typedef struct jx_nn_mha_params {
    jx_val wq, bq, wk, bk, wv, bv, wo, bo;
} jx_nn_mha_params;

/* Multi-head attention: queries from xq (B,Tq,E), keys and values from xkv (B,Tk,E)
 * (pass xq again for self-attention), mask as jx_nn_attention  ->  (B,Tq,F). */
jx_val jx_nn_mha_at(jx_loc loc, jx_val xq, jx_val xkv, const jx_nn_mha_params *p, jx_val mask);
#define jx_nn_mha(...) jx_nn_mha_at(JX_HERE, __VA_ARGS__)
/* Specs {wq, bq, wk, bk, wv, bv, wo, bo} for embedding size e, h heads of size d and
 * f output features; kernels lecun_normal (fans of the flattened kernel), biases zeros. */
int jx_nn_mha_params_spec(int64_t e, int64_t h, int64_t d, int64_t f, jx_dtype dtype,
                          jx_nn_param_spec *specs);

/* A boolean (T,T) mask that lets position i attend to positions j <= i. */
jx_val jx_nn_causal_mask_at(jx_loc loc, int64_t t);
#define jx_nn_causal_mask(...) jx_nn_causal_mask_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_LAYERS_H */
