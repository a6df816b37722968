/* jx/unet.h: a U-Net for semantic segmentation written with jx's layers (jx/layers.h),
 * NHWC, its depth and width configurable:
 *
 *     jx_nn_unet_config cfg = jx_nn_unet_default(3, 2);     // RGB in, 2 classes out
 *     jx_tree *params, *stats;
 *     jx_nn_unet_init(&cfg, key, &params, &stats);          // host arrays
 *     jx_tree_print(stdout, params);
 *     // inside a traced body, x (N,H,W,3) with H and W divisible by 2^depth:
 *     jx_tree *new_stats = jx_tree_dict();
 *     jx_val logits = jx_nn_unet_apply(&cfg, p, s, x, new_stats);   // training mode
 *     jx_val eval   = jx_nn_unet_apply(&cfg, p, s, x, NULL);        // running statistics
 *
 * The network: level l (0..depth) has width * 2^l channels. Each level's block is two
 * (3x3 conv without bias - batch norm - relu). The encoder runs the blocks of levels
 * 0..depth-1, each followed by a 2x2 max pool, then the bottleneck block of level depth.
 * The decoder, from level depth-1 down to 0, upsamples by 2 (a 2x2 stride-2 transposed
 * convolution with bias, or a nearest resize followed by a 3x3 conv with bias) to the
 * level's width, concatenates the encoder's output of that level (skip first, then the
 * upsampled), and runs the level's block. A 1x1 conv with bias gives the class logits.
 *
 * Parameter paths: "enc<l>.conv<i>.w", "enc<l>.bn<i>.{scale,bias}" (l = 0..depth, i = 1, 2),
 * "dec<l>.up.{w,b}", "dec<l>.conv<i>.w", "dec<l>.bn<i>.{scale,bias}" (l = 0..depth-1),
 * "head.{w,b}"; the statistics tree holds "<block>.bn<i>.{mean,var}". Convolution kernels
 * are He-normal (fan in, ReLU's gain), biases 0, batch norm scale 1 and bias 0.
 */
#ifndef JX_UNET_H
#define JX_UNET_H

#include <jx.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jx_nn_unet_up {
    JX_NN_UNET_UP_TRANSPOSE, /* 2x2 transposed convolution, stride 2 */
    JX_NN_UNET_UP_RESIZE,    /* nearest resize x2, then a 3x3 convolution */
} jx_nn_unet_up;

typedef struct jx_nn_unet_config {
    int64_t in_channels;  /* >= 1 */
    int64_t num_classes;  /* >= 1: the logits' last axis */
    int64_t width;        /* channels of level 0, >= 1 */
    int depth;            /* downsamplings, 1..8 */
    jx_nn_unet_up up;
    double bn_momentum;   /* running statistics: momentum * old + (1 - momentum) * batch */
    double bn_eps;
    jx_dtype dtype;       /* JX_F32 or JX_F64 */
} jx_nn_unet_config;

/* Width 16, depth 3, transposed convolutions, batch norm momentum 0.9, eps 1e-5, f32. */
jx_nn_unet_config jx_nn_unet_default(int64_t in_channels, int64_t num_classes);

/* Checks cfg; JX_ERR_ARG naming the field ("unet: depth 0 is outside 1..8") otherwise. */
jx_status jx_nn_unet_check(const jx_nn_unet_config *cfg);

/* New trees of host arrays (free with jx_tree_free): *params the trained parameters, *stats
 * the batch-norm running statistics (mean 0, var 1). Each array is drawn from key (u32[2])
 * folded with its leaf number, so the same key gives the same network. JX_OK, or an
 * error status with jx_errmsg() set (and both set to NULL). */
jx_status jx_nn_unet_init(const jx_nn_unet_config *cfg, const jx_array *key, jx_tree **params,
                          jx_tree **stats);

/* The logits (N,H,W,num_classes) of x (N,H,W,in_channels), inside a traced body; params
 * and stats are trees of traced values with the paths above. With new_stats (a dict) the
 * network runs in training mode (batch statistics) and the updated running statistics are
 * set into new_stats under the same paths; with NULL it uses the running statistics.
 * H and W must be divisible by 2^depth: otherwise, as for a missing or misshapen
 * parameter, the trace fails at the caller's place naming "unet" and the shapes. */
jx_val jx_nn_unet_apply_at(jx_loc loc, const jx_nn_unet_config *cfg, const jx_tree *params,
                           const jx_tree *stats, jx_val x, jx_tree *new_stats);
#define jx_nn_unet_apply(...) jx_nn_unet_apply_at(JX_HERE, __VA_ARGS__)

struct jx_taps;
/* jx_nn_unet_apply with each block's output passed through jx_tap (jx/taps.h) under the
 * block's name: "enc0" .. "enc<depth-1>" (before pooling), "enc<depth>" (the
 * bottleneck), "dec<depth-1>" .. "dec0"; taps NULL is jx_nn_unet_apply. */
jx_val jx_nn_unet_apply_tapped_at(jx_loc loc, const jx_nn_unet_config *cfg, const jx_tree *params,
                                  const jx_tree *stats, jx_val x, jx_tree *new_stats, struct jx_taps *taps);
#define jx_nn_unet_apply_tapped(...) jx_nn_unet_apply_tapped_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_UNET_H */
