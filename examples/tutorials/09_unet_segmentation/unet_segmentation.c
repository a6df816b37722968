/* 09_unet_segmentation: a small U-Net labels every pixel of generated 32x32 scenes as
 * background, square, cross or triangle (common/vision.h draws the scenes, the same in
 * C and Python). The encoder convolves and max-pools twice, the decoder upsamples
 * (nearest, jx_nn_upsample) and concatenates the encoder's maps of the same size (the
 * skip connections) before each convolution; a 1x1 convolution gives the four classes'
 * logits per pixel. The parameters are a tree, the Adam step one jitted function, and
 * the score is the mean intersection over union (mIoU, jx/metrics.h) on test scenes.
 * See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/losses.h>
#include <jx/metrics.h>
#include <jx/plot.h>

#include "convnet.h"
#include "fit.h"
#include "tut.h"
#include "vision.h"

enum { S = 32, GRID = 4, RMIN = 3, RMAX = 6, K = VIS_CLASSES + 1, W0 = 8, W1 = 16, W2 = 32, SHOWN = 8 };

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    tut_conv_init(p, "enc0", seed, 3, 1, W0);
    tut_conv_init(p, "enc1", seed + 1, 3, W0, W1);
    tut_conv_init(p, "mid", seed + 2, 3, W1, W2);
    tut_conv_init(p, "dec1", seed + 3, 3, W1 + W2, W1);
    tut_conv_init(p, "dec0", seed + 4, 3, W0 + W1, W0);
    tut_conv_init(p, "head", seed + 5, 1, W0, K);
    return p;
}

/* The decoder's step: upsample x by 2, put the encoder's skip map first, convolve. */
static jx_val up_block(const jx_tree *p, const char *name, jx_val skip, jx_val x) {
    jx_val cat[2] = {skip, jx_nn_upsample(x, 2, JX_NN_RESIZE_NEAREST)};
    return jx_relu(tut_conv(p, name, jx_concatenate(2, cat, 3)));
}

/* x (N,32,32,1) -> logits (N,32,32,4). */
static jx_val unet(const jx_tree *p, jx_val x) {
    jx_val e0 = jx_relu(tut_conv(p, "enc0", x));                                              /* 32x32x8 */
    jx_val e1 = jx_relu(tut_conv(p, "enc1", jx_nn_max_pool(e0, 2, 2, 2, 2, JX_NN_PAD_VALID))); /* 16x16x16 */
    jx_val m = jx_relu(tut_conv(p, "mid", jx_nn_max_pool(e1, 2, 2, 2, 2, JX_NN_PAD_VALID)));   /* 8x8x32 */
    jx_val d1 = up_block(p, "dec1", e1, m);                                               /* 16x16x16 */
    jx_val d0 = up_block(p, "dec0", e0, d1);                                              /* 32x32x8 */
    return tut_conv(p, "head", d0);
}

/* in: params, batch {x, y (N,32,32) i32}. out[0]: the mean cross-entropy over pixels. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits = unet(in[0], jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

/* in: params, {x, y}. out: {label}, the most likely class of each pixel (N,32,32) i32. */
static void predict_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "label", jx_argmax(unet(in[0], jx_tree_get_val(in[1], "x")), 3, JX_I32));
}

/* Scenes [i0, i0 + n) of s as a batch tree {x, y}. */
static jx_tree *batch_tree(const vis_scenes *s, int64_t i0, int64_t n) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(n, S, S, 1), s->image + i0 * S * S));
    jx_tree_set_array(t, "y", jx_array_new(JX_I32, JX_INTS(n, S, S), s->mask + i0 * S * S));
    return t;
}

typedef struct batches {
    const vis_scenes *s;
    int64_t size;
    double *curve; /* each epoch's mean training loss */
} batches;

static jx_tree *next_batch(int64_t i, int64_t step, void *user) {
    const batches *b = user;
    (void)step;
    return batch_tree(b->s, i * b->size, b->size);
}

static void epoch_line(int e, double loss, void *user) {
    ((batches *)user)->curve[e] = loss;
    printf("epoch %d: mean training cross-entropy %.4f\n", e + 1, loss);
}

/* Writes segmentation.png: rows scene / true mask / predicted mask of SHOWN test scenes. */
static void plot(const trainer_opts *o, const vis_scenes *t, const int32_t *pred) {
    enum { PX = SHOWN * S * S };
    float *pix = malloc(sizeof(float) * 3 * PX);
    if (!pix) return;
    memcpy(pix, t->image, sizeof(float) * PX);
    for (int i = 0; i < PX; i++) pix[PX + i] = (float)t->mask[i], pix[2 * PX + i] = (float)pred[i];
    for (int r = 1; r < 3; r++) /* pin the class scale: a tile without triangles keeps its greys */
        for (int i = 0; i < SHOWN; i++) pix[r * PX + i * S * S] = VIS_CLASSES;
    const char *rows[3] = {"scene", "truth", "U-Net"};
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "segmentation.png"),
                       "Scenes, true and predicted masks (dark to light: background, square, cross, triangle)", 3,
                       SHOWN, S, S, pix, NULL, NULL, rows, 4) == JX_OK)
        printf("wrote %s\n", path);
    free(pix);
}

int main(int argc, char **argv) {
    const char *prog = "tut_09_unet_segmentation";
    trainer_opts o = {.epochs = 8, .batch = 16, .lr = 3e-3, .seed = 0, .limit = 512};
    int quick, r = tut_parse(prog, "U-Net segmentation of generated scenes of shapes (conv2d, max_pool, upsample, "
                                   "concatenate, tree Adam step, jit; mIoU). --limit: training scenes (default 512).",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 4, o.batch = 8, o.limit = 256;
    int64_t n = o.limit > 0 ? o.limit : 512, nt = quick ? 64 : 256, steps = n / o.batch;
    if (steps < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training scenes\n", prog, o.batch, (long long)n);
        return 2;
    }
    vis_scenes tr, te;
    if (vis_scenes_make(&tr, (uint64_t)o.seed * 4 + 1, n, S, GRID, RMIN, RMAX) ||
        vis_scenes_make(&te, (uint64_t)o.seed * 4 + 3, nt, S, GRID, RMIN, RMAX)) {
        vis_scenes_free(&tr);
        fprintf(stderr, "%s: out of memory for %lld scenes\n", prog, (long long)n);
        return 1;
    }
    printf("%s: %lld training scenes of %dx%d, %d epochs of %lld steps, %lld test scenes\n", prog, (long long)n, S, S,
           o.epochs, (long long)steps, (long long)nt);

    jx_tree *params = init_params((uint64_t)o.seed + 10);
    double *curve = calloc((size_t)o.epochs, sizeof(double));
    batches bs = {&tr, o.batch, curve};
    tut_loop loop = {"training cross-entropy", o.epochs, steps, next_batch, &bs, NULL, epoch_line};
    int status = tut_fit(prog, &o, loss_body, o.lr, &params, batch_tree(&tr, 0, o.batch), &loop, "training");

    /* the test scenes in one call of a jitted prediction, scored by jx/metrics.h */
    jx_tree *tb = batch_tree(&te, 0, nt), *ein[2] = {params, tb}, *pred = NULL;
    jx_tree_fn *ev = status ? NULL : jx_tree_trace("predict", predict_body, NULL, 2, ein, 1);
    jx_exec *eexec = tut_jit(ev, &o, 0);
    if (!status && (!eexec || jx_tree_fn_run(ev, eexec, 2, ein, 1, &pred) != JX_OK))
        status = tut_fail(prog, "segmenting the test scenes");
    double miou = 0;
    jx_metrics m;
    if (!status && jx_metrics_init(&m, K, JX_METRICS_NO_IGNORE) == JX_OK) {
        const jx_array *label = jx_tree_get_array(pred, "label");
        if (jx_metrics_update(&m, label, jx_tree_get_array(tb, "y")) != JX_OK) status = tut_fail(prog, "scoring");
        miou = jx_metrics_mean_iou(&m);
        printf("test mIoU %.2f%% over %lld scenes (IoU background %.1f%%, square %.1f%%, cross %.1f%%, "
               "triangle %.1f%%), pixel accuracy %.2f%%\n",
               100 * miou, (long long)nt, 100 * jx_metrics_iou(&m, 0), 100 * jx_metrics_iou(&m, 1),
               100 * jx_metrics_iou(&m, 2), 100 * jx_metrics_iou(&m, 3), 100 * jx_metrics_accuracy(&m));
        tut_metric("test_miou", miou);
        jx_metrics_free(&m);
        if (jx_plot_available()) plot(&o, &te, jx_array_data(label));
        tut_plot_curve(&o, "loss.png", "U-Net training", "epoch", "cross-entropy", "training loss", curve, o.epochs);
    }
    jx_tree_free(pred), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(ev);
    jx_tree_free(params);
    vis_scenes_free(&tr), vis_scenes_free(&te), free(curve);
    if (status) return status;
    /* chance: labelling every pixel background scores about 21% (its IoU ~85%, the
     * shapes' 0); the quick run must find the shapes and tell some apart: mIoU > 40%
     * (it reaches about 53%; the default run about 70%) */
    return tut_quick_check(quick, "test mIoU", miou, 0.4, 1);
}
