/* seg_report.c: see seg_report.h. */
#define _POSIX_C_SOURCE 200809L
#include "seg_report.h"

#include <errno.h>
#include <jx/coco.h>
#include <jx/plot.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int seg_score(jx_metrics *m, const int32_t *pred, int32_t ph, int32_t pw, const uint8_t *gt, int32_t h, int32_t w) {
    size_t n = (size_t)h * (size_t)w;
    int32_t *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    int rc = -1;
    if (p && g) {
        /* jx_resize_nearest's rule, on int32 labels */
        for (int32_t y = 0; y < h; y++) {
            int32_t sy = (int32_t)floor((y + 0.5) * ph / h);
            for (int32_t x = 0; x < w; x++) p[(size_t)y * w + x] = pred[(size_t)sy * pw + (int32_t)floor((x + 0.5) * pw / w)];
        }
        for (size_t i = 0; i < n; i++) g[i] = gt[i];
        jx_array *pa = jx_array_new(JX_I32, JX_INTS(h, w), p), *ga = jx_array_new(JX_I32, JX_INTS(h, w), g);
        rc = pa && ga && jx_metrics_update(m, pa, ga) == JX_OK ? 0 : -1;
        jx_array_release(pa), jx_array_release(ga);
    }
    free(p), free(g);
    return rc;
}

/* Writes text to path through a temporary beside it, flushed and renamed. 0, or -1 after
 * printing "prog: cannot write PATH: reason". */
static int write_atomic(const char *prog, const char *path, const char *text) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f) {
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = (fclose(f) == 0) && ok;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        remove(tmp);
    }
    return ok ? 0 : -1;
}

/* A growing text buffer for the CSVs. */
typedef struct text {
    char *s;
    size_t n, cap;
    int oom;
} text;

static void addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0 || t->oom) return;
    if (t->n + (size_t)k + 1 > t->cap) {
        size_t cap = 2 * (t->n + (size_t)k + 1);
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s, t->cap = cap;
    }
    memcpy(t->s + t->n, line, (size_t)k + 1);
    t->n += (size_t)k;
}

int seg_table(const char *prog, const jx_metrics *m, const char *const *names, const char *csv) {
    text t = {0};
    addf(&t, "class,iou\n");
    printf("%-16s %8s\n", "class", "IoU %");
    for (int64_t c = 0; c < m->num_classes; c++) {
        double iou = jx_metrics_iou(m, c);
        printf("%-16s %8.2f\n", names[c], 100 * iou);
        addf(&t, "%s,%.6f\n", names[c], iou);
    }
    double miou = jx_metrics_mean_iou(m), acc = jx_metrics_accuracy(m);
    printf("%-16s %8.2f\n%-16s %8.2f\n", "mean IoU", 100 * miou, "pixel accuracy", 100 * acc);
    addf(&t, "mean_iou,%.6f\npixel_accuracy,%.6f\n", miou, acc);
    int rc = 0;
    if (t.oom) fprintf(stderr, "%s: out of memory\n", prog), rc = -1;
    else if (csv && (rc = write_atomic(prog, csv, t.s)) == 0) printf("wrote %s\n", csv);
    free(t.s);
    return rc;
}

/* ------------------------------------------------------------------ the epoch log */

int seg_log_add(seg_log *log, int epoch, double loss, double train_miou, double val_miou) {
    if (log->n == log->cap) {
        int cap = log->cap ? 2 * log->cap : 16;
        double *r = realloc(log->rows, (size_t)cap * 4 * sizeof *r);
        if (!r) return -1;
        log->rows = r, log->cap = cap;
    }
    double *r = log->rows + 4 * log->n++;
    r[0] = epoch, r[1] = loss, r[2] = train_miou, r[3] = val_miou;
    return 0;
}

int seg_log_read(seg_log *log, const char *path, int before) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    int rows = 0;
    if (fgets(line, sizeof line, f))
        while (fgets(line, sizeof line, f)) {
            int e;
            double l, tm, vm;
            if (sscanf(line, "%d,%lf,%lf,%lf", &e, &l, &tm, &vm) != 4 || e >= before) break;
            if (seg_log_add(log, e, l, tm, vm) != 0) {
                fclose(f);
                return -1;
            }
            rows++;
        }
    fclose(f);
    return rows;
}

int seg_log_write(const seg_log *log, const char *out, const char *prog) {
    char path[4096];
    text t = {0};
    addf(&t, "epoch,train_loss,train_miou,val_miou\n");
    for (int i = 0; i < log->n; i++) {
        const double *r = log->rows + 4 * i;
        addf(&t, "%d,%.6f,%.4f,%.4f\n", (int)r[0], r[1], r[2], r[3]);
    }
    snprintf(path, sizeof path, "%s/%s_metrics.csv", out, prog);
    int rc = t.oom ? -1 : write_atomic(prog, path, t.s);
    free(t.s);
    if (rc || !jx_plot_available()) return rc;
    double *col = malloc((size_t)(4 * log->n + 1) * sizeof *col);
    if (!col) return fprintf(stderr, "%s: out of memory\n", prog), -1;
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < log->n; i++) col[c * log->n + i] = log->rows[4 * i + c];
    const double *x = col;
    jx_plot_series loss = {"train loss", x, col + log->n, log->n};
    jx_plot_series miou[2] = {{"train mIoU (%)", x, col + 2 * log->n, log->n}, {"val mIoU (%)", x, col + 3 * log->n, log->n}};
    snprintf(path, sizeof path, "%s/%s_loss.png", out, prog);
    int ok = jx_plot_lines(path, prog, "epoch", "loss (cross-entropy + dice)", 1, &loss, 0, 0) == JX_OK;
    snprintf(path, sizeof path, "%s/%s_miou.png", out, prog);
    ok = ok && jx_plot_lines(path, prog, "epoch", "mean IoU (%)", 2, miou, 0, 0) == JX_OK;
    free(col);
    if (!ok) fprintf(stderr, "%s: %s\n", prog, jx_errmsg());
    return ok ? 0 : -1;
}

void seg_log_free(seg_log *log) {
    free(log->rows);
    *log = (seg_log){0};
}

/* ------------------------------------------------------------------ the panel */

/* Class colours: background keeps the image, ignore is white, classes cycle. */
static const uint8_t palette[8][3] = {{230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                                      {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230}};

int seg_panel(const char *path, int32_t n, int32_t s, const float *images, const int32_t *truth,
              const int32_t *pred) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
    int32_t W = 3 * s, H = n * s;
    uint8_t *px = malloc((size_t)W * (size_t)H * 3);
    if (!px) return jx_error_at(JX_HERE, JX_ERR_NOMEM, "seg_panel", "out of memory"), -1;
    for (int32_t i = 0; i < n; i++)
        for (int32_t y = 0; y < s; y++)
            for (int32_t x = 0; x < s; x++) {
                size_t at = ((size_t)i * s + y) * s + x;
                uint8_t rgb[3];
                for (int ch = 0; ch < 3; ch++) {
                    float v = (images[at * 3 + ch] * stdv[ch] + mean[ch]) * 255.0f;
                    rgb[ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
                }
                for (int col = 0; col < 3; col++) {
                    int32_t label = col == 0 ? 0 : col == 1 ? truth[at] : pred[at];
                    uint8_t *o = px + (((size_t)i * s + y) * W + (size_t)col * s + x) * 3;
                    for (int ch = 0; ch < 3; ch++) {
                        int c = label == 0 ? rgb[ch]
                                : label == 255 ? (rgb[ch] + 255) / 2
                                               : (rgb[ch] + palette[(label - 1) % 8][ch]) / 2;
                        o[ch] = (uint8_t)c;
                    }
                }
            }
    jx_status st = jx_image_write_png(path, px, H, W, 3);
    free(px);
    return st == JX_OK ? 0 : -1;
}
