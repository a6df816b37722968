/* test_nn_metrics.c: the metrics accumulators on small cases checked by hand: accuracy
 * and top-k over two batches, the confusion matrix, per-class precision/recall/F1/IoU,
 * mean IoU with an ignored void label, NaN for undefined scores, and bad input. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdlib.h>

#include <jx/metrics.h>

#include "harness.h"

#define CLOSE(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-12)

static jx_array *ints(jx_ints shape, const double *v) { return jt_array(JX_I32, shape, v); }

/* 3 classes; labels 0 1 2 2 1 0, predictions 0 2 2 1 1 0:
 * confusion [true][pred] = [[2,0,0],[0,1,1],[0,1,1]], accuracy 4/6. */
static void test_confusion_scores(void) {
    jx_metrics m;
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 3, JX_METRICS_NO_IGNORE), JX_OK);
    jx_array *p = ints(JX_INTS(6), (double[]){0, 2, 2, 1, 1, 0});
    jx_array *y = ints(JX_INTS(6), (double[]){0, 1, 2, 2, 1, 0});
    CU_ASSERT_EQUAL(jx_metrics_update(&m, p, y), JX_OK);
    const int64_t want[9] = {2, 0, 0, 0, 1, 1, 0, 1, 1};
    for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(m.confusion[i], want[i]);
    CU_ASSERT_EQUAL(m.count, 6);
    CLOSE(jx_metrics_accuracy(&m), 4.0 / 6);
    CLOSE(jx_metrics_precision(&m, 0), 1.0);
    CLOSE(jx_metrics_recall(&m, 1), 0.5);
    CLOSE(jx_metrics_precision(&m, 2), 0.5);
    CLOSE(jx_metrics_f1(&m, 2), 0.5);
    CLOSE(jx_metrics_iou(&m, 0), 1.0);
    CLOSE(jx_metrics_iou(&m, 1), 1.0 / 3);
    CLOSE(jx_metrics_mean_iou(&m), (1.0 + 1.0 / 3 + 1.0 / 3) / 3);
    CLOSE(jx_metrics_macro_f1(&m), (1.0 + 0.5 + 0.5) / 3);
    CU_ASSERT(isnan(jx_metrics_iou(&m, 3)));
    CU_ASSERT(isnan(jx_metrics_topk_accuracy(&m)));
    /* a second batch accumulates */
    CU_ASSERT_EQUAL(jx_metrics_update(&m, p, y), JX_OK);
    CU_ASSERT_EQUAL(m.count, 12);
    CU_ASSERT_EQUAL(m.confusion[0], 4);
    CLOSE(jx_metrics_accuracy(&m), 8.0 / 12);
    jx_metrics_reset(&m);
    CU_ASSERT_EQUAL(m.count, 0);
    CU_ASSERT_EQUAL(m.confusion[0], 0);
    CU_ASSERT(isnan(jx_metrics_accuracy(&m)));
    CU_ASSERT(isnan(jx_metrics_mean_iou(&m)));
    jx_array_release(p);
    jx_array_release(y);
    jx_metrics_free(&m);
}

/* logits rows: argmax 1, 0 (a tie between 0 and 2 goes to 0), 3, 2; labels 1, 2, 0, 3.
 * top-1: 1 right. top-2 (k largest, ties to the lower index): row 0 {1,3} has 1; row 1
 * {0,2} has 2; row 2 {3,1} lacks 0; row 3 {2,3} has 3: 3 of 4. */
static void test_logits_topk(void) {
    jx_metrics m;
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 4, JX_METRICS_NO_IGNORE), JX_OK);
    jx_array *l = jt_array(JX_F32, JX_INTS(4, 4), (double[]){0.1, 3, -1, 2,  /* */
                                                             5, 1, 5, -2,    /* */
                                                             -9, 0.5, 0.2, 7, /* */
                                                             0, 1, 4, 3});
    jx_array *y = ints(JX_INTS(4), (double[]){1, 2, 0, 3});
    CU_ASSERT_EQUAL(jx_metrics_update_logits(&m, l, y, 2), JX_OK);
    CLOSE(jx_metrics_accuracy(&m), 0.25);
    CLOSE(jx_metrics_topk_accuracy(&m), 0.75);
    CU_ASSERT_EQUAL(m.topk_k, 2);
    CU_ASSERT_EQUAL(m.confusion[2 * 4 + 0], 1); /* true 2 predicted 0 (the tie) */
    CU_ASSERT_EQUAL(jx_metrics_update_logits(&m, l, y, 4), JX_OK);
    CLOSE(jx_metrics_topk_accuracy(&m), 7.0 / 8);
    jx_array_release(l);
    jx_array_release(y);
    jx_metrics_free(&m);
}

/* A 2x4 segmentation mask with void label 255: void pixels are not counted. Classes
 * 0,1,2; labels 0 0 1 255 / 2 2 1 255, predictions 0 1 1 2 / 2 0 1 0.
 * Counted: (0,0) (0,1) (1,1) (2,2) (2,0) (1,1): IoU0 = 1/(1+1+1) = 1/3, IoU1 = 2/3,
 * IoU2 = 1/2; class 3 (of 4) never seen: excluded from the mean. */
static void test_segmentation_iou(void) {
    jx_metrics m;
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 4, 255), JX_OK);
    jx_array *y = jt_array(JX_U8, JX_INTS(1, 2, 4), (double[]){0, 0, 1, 255, 2, 2, 1, 255});
    jx_array *p = jt_array(JX_I64, JX_INTS(1, 2, 4), (double[]){0, 1, 1, 2, 2, 0, 1, 0});
    CU_ASSERT_EQUAL(jx_metrics_update(&m, p, y), JX_OK);
    CU_ASSERT_EQUAL(m.count, 6);
    CLOSE(jx_metrics_iou(&m, 0), 1.0 / 3);
    CLOSE(jx_metrics_iou(&m, 1), 2.0 / 3);
    CLOSE(jx_metrics_iou(&m, 2), 0.5);
    CU_ASSERT(isnan(jx_metrics_iou(&m, 3)));
    CLOSE(jx_metrics_mean_iou(&m), (1.0 / 3 + 2.0 / 3 + 0.5) / 3);
    CLOSE(jx_metrics_accuracy(&m), 4.0 / 6);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    CU_ASSERT_EQUAL(jx_metrics_print(f, &m), JX_OK);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "accuracy 0.6667 over 6, mean IoU 0.5000"));
    free(buf);
    jx_array_release(y);
    jx_array_release(p);
    jx_metrics_free(&m);
}

static void test_bad_input(void) {
    jx_metrics m;
    CU_ASSERT_EQUAL(jx_metrics_init(&m, 0, JX_METRICS_NO_IGNORE), JX_ERR_ARG);
    JT_ASSERT_ERR("metrics_init: num_classes 0 must be in [1, 65536]");
    CU_ASSERT_EQUAL_FATAL(jx_metrics_init(&m, 3, JX_METRICS_NO_IGNORE), JX_OK);
    jx_array *y = ints(JX_INTS(3), (double[]){0, 1, 3});
    jx_array *p = ints(JX_INTS(3), (double[]){0, 1, 2});
    CU_ASSERT_EQUAL(jx_metrics_update(&m, p, y), JX_ERR_ARG);
    JT_ASSERT_ERR("metrics_update: label 3 at index 2 is not a class nor the ignore label");
    CU_ASSERT_EQUAL(m.count, 0); /* nothing of the bad batch was counted */
    jx_array *p2 = ints(JX_INTS(1, 3), (double[]){0, 1, 2});
    CU_ASSERT_EQUAL(jx_metrics_update(&m, p2, p), JX_ERR_SHAPE);
    JT_ASSERT_ERR("metrics_update: predictions i32[1,3] and labels i32[3] differ in shape");
    jx_array *fl = jt_array(JX_F32, JX_INTS(3), (double[]){0, 1, 2});
    CU_ASSERT_EQUAL(jx_metrics_update(&m, fl, p), JX_ERR_DTYPE);
    jx_array *l = jt_array(JX_F32, JX_INTS(3, 4), NULL);
    CU_ASSERT_EQUAL(jx_metrics_update_logits(&m, l, p, 1), JX_ERR_SHAPE);
    JT_ASSERT_ERR("metrics_update_logits: logits f32[3,4] should be labels i32[3] with a last axis of 3 classes");
    CU_ASSERT_EQUAL(m.count, 0);
    jx_array_release(y);
    jx_array_release(p);
    jx_array_release(p2);
    jx_array_release(fl);
    jx_array_release(l);
    jx_metrics_free(&m);
    jx_metrics_free(&m); /* twice is harmless */
}

int main(void) {
    CU_TestInfo tests[] = {
        {"confusion matrix and per-class scores", test_confusion_scores},
        {"argmax and top-k from logits", test_logits_topk},
        {"segmentation IoU with a void label", test_segmentation_iou},
        {"bad input leaves the counts alone", test_bad_input},
        CU_TEST_INFO_NULL,
    };
    return jt_run("nn metrics", tests);
}
