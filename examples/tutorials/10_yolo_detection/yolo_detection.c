/* 10_yolo_detection: a YOLO-style detector (Redmon et al. 2016, one grid, one box per
 * cell) finds the squares, crosses and triangles of generated 32x32 scenes
 * (common/vision.h). A small CNN maps the image to a 4x4 grid; each cell predicts
 * whether a shape's centre lies in it (objectness), where (the box's centre offset and
 * size) and which shape (class logits). The loss adds a sigmoid cross-entropy on the
 * objectness of every cell to a squared error on the box and a softmax cross-entropy on
 * the class of the cells that hold a shape. The detections pass through non-maximum
 * suppression and are scored by the mean average precision at IoU 0.5 (mAP@0.5).
 * See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/losses.h>
#include <jx/plot.h>

#include "convnet.h"
#include "fit.h"
#include "tut.h"
#include "vision.h"

enum { S = 32, G = 4, CELL = S / G, RMIN = 2, RMAX = 4, OUT = 1 + 4 + VIS_CLASSES, SHOWN = 8 };
#define BOX_WEIGHT 1.0 /* YOLO's lambda_coord (5 there): 1 learns the classes faster here */
#define MIN_SCORE 0.05 /* detections below this score are dropped before NMS */

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    tut_conv_init(p, "c1", seed, 3, 1, 16);
    tut_conv_init(p, "c2", seed + 1, 3, 16, 32);
    tut_conv_init(p, "c3", seed + 2, 3, 4 * 32, 32);
    tut_conv_init(p, "c4", seed + 3, 3, 4 * 32, 32);
    tut_conv_init(p, "head", seed + 4, 1, 32, OUT);
    return p;
}

/* Space to depth: (N,H,W,C) -> (N,H/2,W/2,4C), each 2x2 block's pixels side by side in
 * the channels. Unlike max pooling it keeps where in the block a feature was, which the
 * box regression needs (with pooling only, the boxes' errors stay near those of guessing
 * the mean). */
static jx_val space_to_depth(jx_val x) {
    jx_aval a = jx_aval_of(x);
    int64_t n = a.shape[0], h = a.shape[1] / 2, w = a.shape[2] / 2, c = a.shape[3];
    x = jx_transpose(jx_reshape(x, JX_INTS(n, h, 2, w, 2, c)), JX_INTS(0, 1, 3, 2, 4, 5));
    return jx_reshape(x, JX_INTS(n, h, w, 4 * c));
}

/* x (N,32,32,1) -> (N,4,4,8): per cell objectness logit, box (tx, ty, tw, th), 3 class logits. */
static jx_val detector(const jx_tree *p, jx_val x) {
    jx_val h = jx_nn_max_pool(jx_relu(tut_conv(p, "c1", x)), 2, 2, 2, 2, JX_NN_PAD_VALID); /* 16x16x16 */
    h = space_to_depth(jx_relu(tut_conv(p, "c2", h)));                                   /* 8x8x128 */
    h = space_to_depth(jx_relu(tut_conv(p, "c3", h)));                                   /* 4x4x128 */
    return tut_conv(p, "head", jx_relu(tut_conv(p, "c4", h)));
}

/* in: params, batch {x, obj (N,4,4) f32, box (N,4,4,4), cls (N,4,4) i32}. out[0]: the loss. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    const jx_tree *b = in[1];
    jx_val parts[3], obj = jx_tree_get_val(b, "obj");
    jx_split(detector(in[0], jx_tree_get_val(b, "x")), JX_INTS(1, 4, VIS_CLASSES), 3, parts);
    double cells = (double)jx_aval_of(obj).shape[0] * G * G;
    jx_val conf = jx_mean(jx_loss_sigmoid_bce(jx_reshape(parts[0], JX_INTS(-1, G, G)), obj), JX_NOINTS);
    jx_val box = jx_sum(jx_mul(jx_expand_dims(obj, JX_INTS(3)), jx_square(jx_sub(parts[1], jx_tree_get_val(b, "box")))),
                        JX_NOINTS);
    jx_val cls = jx_sum(jx_mul(obj, jx_loss_softmax_ce_int(parts[2], jx_tree_get_val(b, "cls"), JX_LOSS_NO_IGNORE)),
                        JX_NOINTS);
    jx_val rest = jx_mul_s(jx_add(jx_mul_s(box, BOX_WEIGHT), cls), 1.0 / cells);
    out[0] = jx_tree_val(jx_add(conf, rest));
}

/* in: params, {x}. out: {y}, the raw grid (N,4,4,8). */
static void predict_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "y", detector(in[0], jx_tree_get_val(in[1], "x")));
}

/* The targets of every cell of s: objectness, box (centre offset in the cell and size,
 * in cells) and class (0 where there is no shape: masked by the objectness). */
typedef struct targets {
    float *obj, *box;
    int32_t *cls;
} targets;

static int make_targets(const vis_scenes *s, targets *t) {
    int64_t cells = s->n * G * G;
    t->obj = malloc(sizeof(float) * (size_t)cells), t->box = calloc((size_t)(4 * cells), sizeof(float));
    t->cls = malloc(sizeof(int32_t) * (size_t)cells);
    if (!t->obj || !t->box || !t->cls) return -1;
    for (int64_t i = 0; i < cells; i++) {
        const float *b = s->box + 4 * i;
        float *tb = t->box + 4 * i;
        t->obj[i] = s->cls[i] > 0, t->cls[i] = s->cls[i] > 0 ? s->cls[i] - 1 : 0;
        if (!s->cls[i]) continue;
        tb[0] = ((b[0] + b[2]) / 2 - (float)(i % G * CELL)) / CELL, tb[1] = ((b[1] + b[3]) / 2 - (float)(i / G % G * CELL)) / CELL;
        tb[2] = (b[2] - b[0]) / CELL, tb[3] = (b[3] - b[1]) / CELL;
    }
    return 0;
}

static void free_targets(targets *t) { free(t->obj), free(t->box), free(t->cls); }

typedef struct batches {
    const vis_scenes *s;
    const targets *t;
    int64_t size;
    double *curve; /* each epoch's mean training loss */
} batches;

/* Scenes [i0, i0 + n) as a batch tree {x, obj, box, cls}. */
static jx_tree *batch_tree(const vis_scenes *s, const targets *t, int64_t i0, int64_t n) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set_array(b, "x", jx_array_new(JX_F32, JX_INTS(n, S, S, 1), s->image + i0 * S * S));
    jx_tree_set_array(b, "obj", jx_array_new(JX_F32, JX_INTS(n, G, G), t->obj + i0 * G * G));
    jx_tree_set_array(b, "box", jx_array_new(JX_F32, JX_INTS(n, G, G, 4), t->box + i0 * G * G * 4));
    jx_tree_set_array(b, "cls", jx_array_new(JX_I32, JX_INTS(n, G, G), t->cls + i0 * G * G));
    return b;
}

static jx_tree *next_batch(int64_t i, int64_t step, void *user) {
    const batches *b = user;
    (void)step;
    return batch_tree(b->s, b->t, i * b->size, b->size);
}

static void epoch_line(int e, double loss, void *user) {
    ((batches *)user)->curve[e] = loss;
    printf("epoch %d: mean training loss %.4f\n", e + 1, loss);
}

/* The detections of the raw grid y (n,4,4,8): one per cell, its most likely class, scored
 * sigmoid(objectness) * softmax(class); those above MIN_SCORE. Returns their number. */
static int64_t decode(const float *y, int64_t n, vis_det *d) {
    int64_t m = 0;
    for (int64_t i = 0; i < n * G * G; i++) {
        const float *c = y + OUT * i, *l = c + 5;
        int k = 0;
        for (int j = 1; j < VIS_CLASSES; j++) k = l[j] > l[k] ? j : k;
        double z = 0;
        for (int j = 0; j < VIS_CLASSES; j++) z += exp((double)l[j] - l[k]);
        double score = 1 / (1 + exp(-(double)c[0])) / z;
        if (score < MIN_SCORE) continue;
        double cx = (double)(i % G * CELL) + c[1] * CELL, cy = (double)(i / G % G * CELL) + c[2] * CELL;
        double w = c[3] * CELL, h = c[4] * CELL;
        d[m] = (vis_det){{(float)(cx - w / 2), (float)(cy - h / 2), (float)(cx + w / 2), (float)(cy + h / 2)},
                         (float)score, k, i / (G * G)};
        m++;
    }
    return m;
}

/* Writes detections.png: SHOWN test scenes with their true boxes, then with the kept
 * detections; the scene in blue (negative), the boxes in red (positive). */
static void plot(const trainer_opts *o, const vis_scenes *t, const vis_det *d, int64_t nd) {
    enum { PX = S * S };
    float *pix = malloc(sizeof(float) * 2 * SHOWN * PX);
    if (!pix) return;
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < SHOWN * PX; i++) pix[r * SHOWN * PX + i] = -0.5f * t->image[i];
    for (int64_t c = 0; c < SHOWN * G * G; c++)
        if (t->cls[c]) vis_draw_box(pix + c / (G * G) * PX, S, S, t->box + 4 * c, 1);
    for (int64_t i = 0; i < nd; i++)
        if (d[i].img < SHOWN && d[i].score >= 0.3f) vis_draw_box(pix + (SHOWN + d[i].img) * PX, S, S, d[i].box, 1);
    const char *rows[2] = {"truth", "detected"};
    const int sign[2] = {1, 1};
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "detections.png"),
                       "True boxes and detections scoring 0.3 or more (red) on test scenes (blue)", 2, SHOWN, S, S,
                       pix, sign, NULL, rows, 5) == JX_OK)
        printf("wrote %s\n", path);
    free(pix);
}

int main(int argc, char **argv) {
    const char *prog = "tut_10_yolo_detection";
    trainer_opts o = {.epochs = 10, .batch = 32, .lr = 3e-3, .seed = 0, .limit = 1024};
    int quick, r = tut_parse(prog, "YOLO-style detection of shapes in generated scenes (conv2d, max_pool, split, "
                                   "a three-part loss, tree Adam step, jit; NMS, mAP@0.5). --limit: training scenes "
                                   "(default 1024).",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 4, o.batch = 8, o.limit = 512;
    int64_t n = o.limit > 0 ? o.limit : 1024, nt = quick ? 64 : 256, steps = n / o.batch;
    if (steps < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training scenes\n", prog, o.batch, (long long)n);
        return 2;
    }
    vis_scenes tr, te;
    targets tt = {0};
    vis_det *dets = NULL;
    if (vis_scenes_make(&tr, (uint64_t)o.seed * 4 + 1, n, S, G, RMIN, RMAX) ||
        vis_scenes_make(&te, (uint64_t)o.seed * 4 + 3, nt, S, G, RMIN, RMAX) || make_targets(&tr, &tt) ||
        !(dets = malloc(sizeof *dets * (size_t)(nt * G * G)))) {
        vis_scenes_free(&tr), free_targets(&tt);
        fprintf(stderr, "%s: out of memory for %lld scenes\n", prog, (long long)n);
        return 1;
    }
    printf("%s: %lld training scenes of %dx%d (%dx%d cells), %d epochs of %lld steps, %lld test scenes\n", prog,
           (long long)n, S, S, G, G, o.epochs, (long long)steps, (long long)nt);

    jx_tree *params = init_params((uint64_t)o.seed + 10);
    double *curve = calloc((size_t)o.epochs, sizeof(double));
    batches bs = {&tr, &tt, o.batch, curve};
    tut_loop loop = {"training loss", o.epochs, steps, next_batch, &bs, NULL, epoch_line};
    int status = tut_fit(prog, &o, loss_body, o.lr, &params, batch_tree(&tr, &tt, 0, o.batch), &loop, "training");

    /* the test scenes in one call of a jitted prediction; decoding, NMS and mAP on the host */
    jx_tree *tb = jx_tree_dict(), *ein[2] = {params, tb}, *pred = NULL;
    jx_tree_set_array(tb, "x", jx_array_new(JX_F32, JX_INTS(nt, S, S, 1), te.image));
    jx_tree_fn *ev = status ? NULL : jx_tree_trace("predict", predict_body, NULL, 2, ein, 1);
    jx_exec *eexec = tut_jit(ev, &o, 0);
    if (!status && (!eexec || jx_tree_fn_run(ev, eexec, 2, ein, 1, &pred) != JX_OK))
        status = tut_fail(prog, "detecting in the test scenes");
    double map = 0, ap[VIS_CLASSES];
    if (!status) {
        int64_t nd = decode(jx_array_data(jx_tree_get_array(pred, "y")), nt, dets), all = nd;
        nd = vis_nms(dets, nd, 0.5);
        if (jx_plot_available()) plot(&o, &te, dets, nd);
        map = vis_map(dets, nd, &te, 0.5, ap);
        printf("test mAP@0.5 %.2f%% over %lld scenes (AP square %.1f%%, cross %.1f%%, triangle %.1f%%); "
               "%lld detections above %.2f, %lld after NMS\n",
               100 * map, (long long)nt, 100 * ap[0], 100 * ap[1], 100 * ap[2], (long long)all, MIN_SCORE, (long long)nd);
        tut_metric("test_map50", map);
        tut_plot_curve(&o, "loss.png", "YOLO-style detector training", "epoch", "loss", "training loss", curve,
                       o.epochs);
    }
    jx_tree_free(pred), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(ev);
    jx_tree_free(params);
    vis_scenes_free(&tr), vis_scenes_free(&te), free_targets(&tt), free(dets), free(curve);
    if (status) return status;
    /* chance: the untrained network scores 1.6%; the quick run must place and name some
     * shapes: mAP@0.5 > 8% (it reaches about 18%, the default run about 40%) */
    return tut_quick_check(quick, "test mAP@0.5", map, 0.08, 1);
}
