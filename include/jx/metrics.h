/* jx/metrics.h: classification and segmentation metrics accumulated over batches on
 * the host, from the arrays a jitted step returns.
 *
 *     jx_metrics m;
 *     if (jx_metrics_init(&m, 10, JX_METRICS_NO_IGNORE) != JX_OK) ...;
 *     for (each test batch) {
 *         ... run the model: logits (B,10), labels (B) ...
 *         jx_metrics_update_logits(&m, logits, labels, 5);   // also counts top-5 hits
 *     }
 *     printf("accuracy %.4f top-5 %.4f mIoU %.4f\n", jx_metrics_accuracy(&m),
 *            jx_metrics_topk_accuracy(&m), jx_metrics_mean_iou(&m));
 *     jx_metrics_free(&m);
 *
 * A metric with nothing to count (no examples; a class never predicted nor present) is
 * NaN, so that it cannot be mistaken for a measured 0. Bad input (shapes that do not
 * match, non-integer labels, a class out of range) returns an error status with
 * jx_errmsg() naming the function and the shapes or the value, and leaves the counts
 * unchanged.
 */
#ifndef JX_METRICS_H
#define JX_METRICS_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ignore_label value meaning "no label is ignored". */
#define JX_METRICS_NO_IGNORE INT64_MIN

typedef struct jx_metrics {
    int64_t num_classes;
    int64_t ignore_label;  /* labels equal to it are skipped (a void class), or NO_IGNORE */
    int64_t count;         /* examples (or pixels) counted */
    int64_t correct;       /* of which predicted right */
    int64_t topk_count;    /* examples counted by the top-k test (update_logits with k > 0) */
    int64_t topk_correct;  /* of which the label is among the k largest logits */
    int64_t topk_k;        /* the k of the last top-k update (0 before any) */
    int64_t *confusion;    /* num_classes^2 counts, [true * num_classes + predicted] */
} jx_metrics;

/* Sets up an empty accumulator for num_classes classes (>= 1); free it with
 * jx_metrics_free. Returns JX_ERR_ARG or JX_ERR_NOMEM on failure (m then needs no free). */
jx_status jx_metrics_init(jx_metrics *m, int64_t num_classes, int64_t ignore_label);
void jx_metrics_free(jx_metrics *m); /* releases the counts; m may be reused by _init */
void jx_metrics_reset(jx_metrics *m); /* zero counts, same classes */

/* Counts predictions against labels: integer arrays (any integer dtype) of one shape,
 * any rank (a batch of classes, or of segmentation masks). Labels equal to
 * ignore_label are skipped; any other value outside [0, num_classes) is an error. */
jx_status jx_metrics_update(jx_metrics *m, const jx_array *predicted, const jx_array *labels);
/* Counts argmax(logits) (first maximum) against labels: logits (...,num_classes) float,
 * labels (...) integer. With k > 0 it also counts whether each label is among the k
 * largest logits (ties broken by the lower index, as jax.lax.top_k). */
jx_status jx_metrics_update_logits(jx_metrics *m, const jx_array *logits, const jx_array *labels,
                                   int64_t k);

double jx_metrics_accuracy(const jx_metrics *m);      /* correct / count */
double jx_metrics_topk_accuracy(const jx_metrics *m); /* topk_correct / topk_count */
/* Per class c: precision TP/(TP+FP), recall TP/(TP+FN), F1 their harmonic mean
 * 2TP/(2TP+FP+FN), IoU TP/(TP+FP+FN). NaN where the denominator is 0 or c is out of range. */
double jx_metrics_precision(const jx_metrics *m, int64_t c);
double jx_metrics_recall(const jx_metrics *m, int64_t c);
double jx_metrics_f1(const jx_metrics *m, int64_t c);
double jx_metrics_iou(const jx_metrics *m, int64_t c);
/* Mean IoU over the classes whose IoU is defined (present or predicted); NaN if none. */
double jx_metrics_mean_iou(const jx_metrics *m);
/* Macro-averaged F1 over the classes whose F1 is defined; NaN if none. */
double jx_metrics_macro_f1(const jx_metrics *m);

/* Prints a per-class table (precision, recall, F1, IoU, support) and the totals. */
jx_status jx_metrics_print(FILE *out, const jx_metrics *m);

#ifdef __cplusplus
}
#endif
#endif /* JX_METRICS_H */
