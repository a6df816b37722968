/* test_coco_seg.c: the U-Net (jx/unet.h) and the coco_seg trainer's model and scoring
 * (examples/coco_seg/): the parameter tree's paths, shapes and count; the forward pass's
 * shape and its errors; IoU at the original resolution on hand-made masks with exact
 * values; on coco-tiny, that the model overfits 8 training images (person) and that the
 * same seed gives the same losses bit for bit with loader threads. Without coco-tiny the
 * data parts are left out and the suite exits 77 (skipped) when the rest passed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../../examples/coco_seg/seg_model.h"
#include "../../examples/coco_seg/seg_report.h"

static char tiny[4096];
static int have_tiny;

/* ------------------------------------------------------------------ the U-Net */

static jx_nn_unet_config small_cfg(jx_nn_unet_up up) {
    jx_nn_unet_config c = jx_nn_unet_default(3, 2);
    c.width = 4, c.depth = 2, c.up = up;
    return c;
}

/* Parameters of a conv block (c -> o): two 3x3 kernels without bias, two batch norms. */
static int64_t block_params(int64_t c, int64_t o) { return 9 * c * o + 9 * o * o + 4 * o; }

static void test_unet_tree(void) {
    jx_array *key = jx_random_key_new(0);
    for (int up = 0; up < 2; up++) {
        jx_nn_unet_config c = small_cfg(up ? JX_NN_UNET_UP_RESIZE : JX_NN_UNET_UP_TRANSPOSE);
        jx_tree *p, *s;
        CU_ASSERT_EQUAL_FATAL(jx_nn_unet_init(&c, key, &p, &s), JX_OK);
        int64_t k = up ? 9 : 4; /* the up kernel: 3x3 after a resize, else 2x2 transposed */
        int64_t want = block_params(3, 4) + block_params(4, 8) + block_params(8, 16) /* encoder */
                       + (k * 16 * 8 + 8) + block_params(16, 8) + (k * 8 * 4 + 4) + block_params(8, 4) /* decoder */
                       + (4 * 2 + 2);                                                                        /* head */
        CU_ASSERT_EQUAL(jx_tree_num_params(p), want);
        CU_ASSERT_EQUAL(jx_tree_num_params(s), 2 * (4 + 8 + 16 + 8 + 4) * 2);
        const int64_t *sh = jx_array_shape(jx_tree_get_array(p, "dec0.up.w"));
        CU_ASSERT(sh[0] == (up ? 3 : 2) && sh[1] == sh[0] && sh[2] == 8 && sh[3] == 4);
        sh = jx_array_shape(jx_tree_get_array(p, "dec1.conv1.w"));
        CU_ASSERT(sh[0] == 3 && sh[2] == 16 && sh[3] == 8); /* skip (8) + upsampled (8) channels in */
        CU_ASSERT_PTR_NOT_NULL(jx_tree_get_array(s, "enc2.bn2.var"));
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CU_ASSERT_EQUAL(jx_tree_print(f, p), JX_OK);
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "enc0"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "head"));
        free(text);
        jx_tree_free(p), jx_tree_free(s);
    }
    jx_nn_unet_config bad = small_cfg(JX_NN_UNET_UP_TRANSPOSE);
    bad.depth = 0;
    jx_tree *p = (jx_tree *)1, *s = (jx_tree *)1;
    CU_ASSERT_EQUAL(jx_nn_unet_init(&bad, key, &p, &s), JX_ERR_ARG);
    CU_ASSERT(p == NULL && s == NULL);
    JT_ASSERT_ERR("unet: depth 0 is outside 1..8");
    jx_array_release(key);
}

typedef struct apply_case {
    jx_nn_unet_config cfg;
    jx_tree *p, *s;
    int train, line;
} apply_case;

static void apply_body(jx_tree **out, jx_tree *const *in, void *user) {
    apply_case *a = user;
    jx_tree *ns = a->train ? jx_tree_dict() : NULL;
    a->line = __LINE__ + 1;
    jx_val y = jx_nn_unet_apply(&a->cfg, in[0], in[1], jx_tree_get_val(in[2], "x"), ns);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "y", y);
    if (ns) jx_tree_set(out[0], "stats", ns);
}

static void test_unet_apply(void) {
    jx_array *key = jx_random_key_new(1);
    apply_case a = {small_cfg(JX_NN_UNET_UP_TRANSPOSE), NULL, NULL, 1, 0};
    CU_ASSERT_EQUAL_FATAL(jx_nn_unet_init(&a.cfg, key, &a.p, &a.s), JX_OK);
    for (int h = 16; h >= 10; h -= 6) {
        jx_tree *x = jx_tree_dict();
        jx_tree_set(x, "x", jx_tree_aval(JX_AVAL(JX_F32, 2, h, 8, 3)));
        jx_tree *in[3] = {a.p, a.s, x};
        jx_tree_fn *f = jx_tree_trace("unet", apply_body, &a, 3, in, 1);
        if (h == 16) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(f);
            jx_aval y = jx_tree_leaf_aval(jx_tree_get(jx_tree_fn_output(f, 0), "y"));
            CU_ASSERT(y.rank == 4 && y.shape[0] == 2 && y.shape[1] == 16 && y.shape[2] == 8 && y.shape[3] == 2);
            CU_ASSERT_EQUAL(jx_tree_num_leaves(jx_tree_get(jx_tree_fn_output(f, 0), "stats")), 20);
        } else {
            CU_ASSERT_PTR_NULL(f);
            JT_ASSERT_ERR("unet: input f32[2,10,8,3] wants height and width divisible by 2^depth = 4 and 3 channels");
            JT_ASSERT_ERR(jt_place(__FILE__, a.line));
        }
        jx_tree_fn_free(f);
        jx_tree_free(x);
    }
    a.cfg.depth = 9; /* a bad config fails the trace at the caller's line */
    jx_tree *x = jx_tree_dict();
    jx_tree_set(x, "x", jx_tree_aval(JX_AVAL(JX_F32, 1, 16, 16, 3)));
    jx_tree *in[3] = {a.p, a.s, x};
    CU_ASSERT_PTR_NULL(jx_tree_trace("unet", apply_body, &a, 3, in, 1));
    JT_ASSERT_ERR("unet: depth 9 is outside 1..8");
    JT_ASSERT_ERR(jt_place(__FILE__, a.line));
    jx_tree_free(x);
    jx_tree_free(a.p), jx_tree_free(a.s);
    jx_array_release(key);
}

/* ------------------------------------------------------------------ scoring */

/* A 2x2 prediction scored against a 4x4 truth: each predicted pixel covers a 2x2 block.
 *   pred  1 0     truth  1 1 0 0
 *         1 1            1 255 0 0
 *                        0 0 1 1
 *                        1 1 1 0
 * Counted pixels (15, one ignored): class 1 true positives 3 (top left) + 4 (bottom) - 1
 * (the 0 at the bottom right) ... worked out per pixel below. */
static void test_score(void) {
    const int32_t pred[4] = {1, 0, 1, 1};
    const uint8_t gt[16] = {1, 1, 0, 0, 1, 255, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0};
    /* upsampled prediction: rows 0-1 = 1 1 0 0, rows 2-3 = 1 1 1 1.
     * class 1: TP = (0,0),(0,1),(1,0),(2,2),(2,3),(3,0),(3,1),(3,2) = 8;
     *          FP = (2,0),(2,1),(3,3) = 3; FN = 0  -> IoU 8/11.
     * class 0: TP = (0,2),(0,3),(1,2),(1,3) = 4; FP = 0; FN = 3  -> IoU 4/7.
     * pixel accuracy 12/15. */
    jx_metrics m;
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 2, 255), JX_OK);
    CU_ASSERT_EQUAL(seg_score(&m, pred, 2, 2, gt, 4, 4), 0);
    CU_ASSERT_EQUAL(m.count, 15);
    CU_ASSERT_DOUBLE_EQUAL(jx_metrics_iou(&m, 1), 8.0 / 11, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(jx_metrics_iou(&m, 0), 4.0 / 7, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(jx_metrics_mean_iou(&m), (8.0 / 11 + 4.0 / 7) / 2, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(jx_metrics_accuracy(&m), 12.0 / 15, 1e-15);
    /* a 3x3 prediction onto 2x5: rows take source rows floor((y+.5)*3/2) = 0, 2 and
     * columns floor((x+.5)*3/5) = 0, 0, 1, 2, 2 */
    const int32_t p3[9] = {0, 1, 2, 0, 0, 0, 2, 2, 1};
    const uint8_t g3[10] = {0, 0, 1, 2, 2, 2, 2, 2, 1, 1};
    jx_metrics_free(&m);
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 3, 255), JX_OK);
    CU_ASSERT_EQUAL(seg_score(&m, p3, 3, 3, g3, 2, 5), 0);
    CU_ASSERT_EQUAL(m.correct, 10);
    CU_ASSERT_DOUBLE_EQUAL(jx_metrics_mean_iou(&m), 1.0, 0);
    /* a label outside the classes is an error naming it, and counts nothing */
    const uint8_t g4[4] = {0, 7, 0, 0};
    CU_ASSERT_EQUAL(seg_score(&m, pred, 2, 2, g4, 2, 2), -1);
    JT_ASSERT_ERR("7");
    CU_ASSERT_EQUAL(m.count, 10);
    jx_metrics_free(&m);
}

/* ------------------------------------------------------------------ training on coco-tiny */

enum { OVERFIT_IMAGES = 8, OVERFIT_SIZE = 32, OVERFIT_STEPS = 150 };

/* A loader of the first 8 training images at 32x32, labels 1 for person. */
static jx_coco_loader *tiny_loader(jx_coco **c, uint8_t **label_of, int augment, int threads) {
    static char dir[4200]; /* the loader borrows it */
    char json[4200];
    snprintf(json, sizeof json, "%s/annotations/instances_train2017.json", tiny);
    snprintf(dir, sizeof dir, "%s/train2017", tiny);
    if (jx_coco_load(json, c) != JX_OK) return NULL;
    size_t nc;
    jx_coco_categories(*c, &nc);
    *label_of = calloc(nc, 1);
    (*label_of)[jx_coco_find_category_name(*c, "person")] = 1;
    static const uint32_t first[OVERFIT_IMAGES] = {0, 1, 2, 3, 4, 5, 6, 7};
    jx_coco_loader_opts o = {.coco = *c, .image_dir = dir, .images = first, .n_images = OVERFIT_IMAGES,
                             .batch = OVERFIT_IMAGES, .height = OVERFIT_SIZE, .width = OVERFIT_SIZE,
                             .label_of = *label_of, .augment = augment, .flip = augment, .shuffle = augment,
                             .seed = 3, .threads = threads, .prefetch = 2};
    jx_coco_loader *l = NULL;
    jx_coco_loader_new(&o, &l);
    return l;
}

static seg_setup tiny_setup(double lr, int64_t steps) {
    seg_setup s = {jx_nn_unet_default(3, 2), OVERFIT_SIZE, lr, steps, 2, JX_DEVICE_CPU, 5};
    s.unet.width = 8, s.unet.depth = 2;
    return s;
}

/* The 8 images without augmentation, person against background: after OVERFIT_STEPS Adam
 * steps, the mIoU of the model (running statistics) on those images is at least 0.9. */
static void test_overfit(void) {
    if (!have_tiny) return;
    jx_coco *c = NULL;
    uint8_t *label_of = NULL;
    jx_coco_loader *l = tiny_loader(&c, &label_of, 0, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    seg_model m;
    seg_setup s = tiny_setup(1e-2, OVERFIT_STEPS);
    CU_ASSERT_EQUAL_FATAL(seg_model_init(&m, &s), 0);
    jx_coco_batch b;
    double loss = 0, first = 0;
    CU_ASSERT_EQUAL_FATAL(jx_coco_loader_epoch(l, 0), JX_OK);
    if (jx_coco_loader_next(l, &b) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(b.n, OVERFIT_IMAGES);
    CU_ASSERT_EQUAL_FATAL(b.n, OVERFIT_IMAGES);
    for (int i = 0; i < OVERFIT_STEPS; i++) {
        CU_ASSERT_EQUAL_FATAL(seg_model_step(&m, &b, &loss, NULL), 0);
        if (i == 0) first = loss;
    }
    int32_t *pred = malloc(sizeof(int32_t) * OVERFIT_IMAGES * OVERFIT_SIZE * OVERFIT_SIZE);
    CU_ASSERT_EQUAL_FATAL(seg_model_predict(&m, &b, pred), 0);
    jx_metrics mt;
    jx_metrics_init(&mt, 2, 255);
    for (int i = 0; i < OVERFIT_IMAGES; i++) {
        size_t px = OVERFIT_SIZE * OVERFIT_SIZE;
        CU_ASSERT_EQUAL(seg_score(&mt, pred + i * px, OVERFIT_SIZE, OVERFIT_SIZE, b.labels + i * px, OVERFIT_SIZE,
                                  OVERFIT_SIZE), 0);
    }
    double miou = jx_metrics_mean_iou(&mt);
    printf("\n  overfit: loss %.4f -> %.4f after %d steps, train mIoU %.4f (person %.4f) ", first, loss,
           OVERFIT_STEPS, miou, jx_metrics_iou(&mt, 1));
    CU_ASSERT(loss < first / 2);
    CU_ASSERT(miou >= 0.9);
    jx_metrics_free(&mt);
    free(pred);
    seg_model_free(&m);
    jx_coco_loader_free(l);
    jx_coco_free(c);
    free(label_of);
}

/* Losses of 2 augmented epochs of 8 images in batches of 8 (loader on 2 threads). */
static void run_losses(double *losses) {
    jx_coco *c = NULL;
    uint8_t *label_of = NULL;
    jx_coco_loader *l = tiny_loader(&c, &label_of, 1, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    seg_model m;
    seg_setup s = tiny_setup(3e-3, 4);
    CU_ASSERT_EQUAL_FATAL(seg_model_init(&m, &s), 0);
    int k = 0;
    for (uint32_t e = 1; e <= 2; e++) {
        jx_coco_batch b;
        CU_ASSERT_EQUAL_FATAL(jx_coco_loader_epoch(l, e), JX_OK);
        while (jx_coco_loader_next(l, &b) == JX_OK && b.n > 0)
            CU_ASSERT_EQUAL(seg_model_step(&m, &b, &losses[k++], NULL), 0);
    }
    CU_ASSERT_EQUAL(k, 2);
    seg_model_free(&m);
    jx_coco_loader_free(l);
    jx_coco_free(c);
    free(label_of);
}

static void test_determinism(void) {
    if (!have_tiny) return;
    double a[2], b[2];
    run_losses(a);
    run_losses(b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT(a[0] != a[1]); /* two different batches (augmentation draws by epoch) */
}

int main(void) {
    have_tiny = jt_coco_tiny(tiny, sizeof tiny);
    CU_TestInfo tests[] = {{"unet tree", test_unet_tree}, {"unet apply", test_unet_apply},
                           {"score at original resolution", test_score}, {"overfit 8 images", test_overfit},
                           {"same seed, same losses", test_determinism}, CU_TEST_INFO_NULL};
    int rc = jt_run("coco_seg", tests);
    return rc == 0 && !have_tiny ? 77 : rc;
}
