/* seg_report.h: what coco_seg reports: scoring predictions against masks at the original
 * resolution, the per-class table and its CSV, the per-epoch log (CSV and PNG curves) and
 * the image / ground truth / prediction panel. */
#ifndef JX_SEG_REPORT_H
#define JX_SEG_REPORT_H

#include <jx/metrics.h>
#include <stdint.h>

/* Scores a prediction of ph x pw labels against the ground truth gt (h x w, 255 ignored):
 * the prediction is resized to h x w with the nearest rule of jx_resize_nearest, then
 * counted into m (whose ignore label is 255). 0, or -1 with jx_errmsg() set. */
int seg_score(jx_metrics *m, const int32_t *pred, int32_t ph, int32_t pw, const uint8_t *gt, int32_t h, int32_t w);

/* Prints the per-class IoU (names[c] for class c), the mean IoU and the pixel accuracy,
 * and when csv is not NULL writes them there atomically ("class,iou" rows, then
 * "mean_iou" and "pixel_accuracy"). 0, or -1 after printing "prog: ..." to stderr. */
int seg_table(const char *prog, const jx_metrics *m, const char *const *names, const char *csv);

/* The per-epoch record. */
typedef struct seg_log {
    int n, cap;
    double *rows; /* n x 4: epoch, train loss, train mIoU %, val mIoU % */
} seg_log;

int seg_log_add(seg_log *log, int epoch, double loss, double train_miou, double val_miou); /* 0 or -1 */
/* Reads back the rows of an earlier run's CSV with epoch below `before` (for --resume); a
 * missing file reads nothing. Returns the rows read or -1. */
int seg_log_read(seg_log *log, const char *path, int before);
/* <out>/<prog>_metrics.csv ("epoch,train_loss,train_miou,val_miou"), <prog>_loss.png and
 * <prog>_miou.png (the latter two only where jx has cairo). 0, or -1 after a message. */
int seg_log_write(const seg_log *log, const char *out, const char *prog);
void seg_log_free(seg_log *log);

/* A panel PNG of n rows: the image (n x s x s x 3 normalised floats, undone with ImageNet's
 * mean and std), the ground truth and the prediction (n x s x s labels, 255 ignore) drawn
 * over the image in one colour per class. 0, or -1 with jx_errmsg() set. */
int seg_panel(const char *path, int32_t n, int32_t s, const float *images, const int32_t *truth,
              const int32_t *pred);

#endif
