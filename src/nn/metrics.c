/* metrics.c: host-side accumulators for accuracy, top-k accuracy, the confusion matrix
 * and the per-class scores derived from it (jx/metrics.h). Counts are exact integers;
 * an update checks the whole batch before counting any of it. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jx/metrics.h>

static const jx_loc noloc = {NULL, 0};

static jx_status fail(jx_status code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static jx_status fail(jx_status code, const char *what, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jx_trace_error_at(noloc, code, what, "%s", msg);
    return code;
}

jx_status jx_metrics_init(jx_metrics *m, int64_t num_classes, int64_t ignore_label) {
    if (!m || num_classes < 1 || num_classes > (1 << 16))
        return fail(JX_ERR_ARG, "metrics_init", "num_classes %lld must be in [1, %d]",
                    (long long)num_classes, 1 << 16);
    memset(m, 0, sizeof *m);
    m->confusion = calloc((size_t)(num_classes * num_classes), sizeof *m->confusion);
    if (!m->confusion) return fail(JX_ERR_NOMEM, "metrics_init", "out of memory for %lld classes",
                                   (long long)num_classes);
    m->num_classes = num_classes;
    m->ignore_label = ignore_label;
    return JX_OK;
}

void jx_metrics_free(jx_metrics *m) {
    if (!m) return;
    free(m->confusion);
    m->confusion = NULL;
    m->num_classes = 0;
}

void jx_metrics_reset(jx_metrics *m) {
    int64_t k = m->num_classes;
    m->count = m->correct = m->topk_count = m->topk_correct = m->topk_k = 0;
    if (m->confusion) memset(m->confusion, 0, (size_t)(k * k) * sizeof *m->confusion);
}

static int is_int_array(const jx_array *a) { return a && jx_dtype_is_int(jx_array_dtype(a)); }

/* Checks the labels (and, when given, predictions) of n entries are classes or ignored. */
static jx_status check_values(const jx_metrics *m, const char *what, const jx_array *labels,
                              const jx_array *pred, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double y = jx_array_get(labels, i);
        if ((int64_t)y == m->ignore_label) continue;
        if (y < 0 || y >= (double)m->num_classes)
            return fail(JX_ERR_ARG, what, "label %lld at index %lld is not a class nor the ignore label",
                        (long long)y, (long long)i);
        double p = pred ? jx_array_get(pred, i) : 0;
        if (p < 0 || p >= (double)m->num_classes)
            return fail(JX_ERR_ARG, what, "prediction %lld at index %lld is not a class", (long long)p,
                        (long long)i);
    }
    return JX_OK;
}

static void count(jx_metrics *m, int64_t y, int64_t p) {
    if (y == m->ignore_label) return;
    m->count++;
    m->correct += y == p;
    m->confusion[y * m->num_classes + p]++;
}

jx_status jx_metrics_update(jx_metrics *m, const jx_array *pred, const jx_array *labels) {
    const char *what = "metrics_update";
    if (!m || !m->confusion) return fail(JX_ERR_ARG, what, "metrics not initialised");
    if (!is_int_array(pred) || !is_int_array(labels))
        return fail(JX_ERR_DTYPE, what, "predictions and labels must be integer arrays");
    jx_aval a = jx_array_aval(pred), b = jx_array_aval(labels);
    if (a.rank != b.rank || memcmp(a.shape, b.shape, sizeof(int64_t) * (size_t)a.rank)) {
        char sa[96], sb[96];
        return fail(JX_ERR_SHAPE, what, "predictions %s and labels %s differ in shape",
                    jx_aval_str(&a, sa, sizeof sa), jx_aval_str(&b, sb, sizeof sb));
    }
    int64_t n = jx_array_size(labels);
    jx_status s = check_values(m, what, labels, pred, n);
    if (s != JX_OK) return s;
    for (int64_t i = 0; i < n; i++)
        count(m, (int64_t)jx_array_get(labels, i), (int64_t)jx_array_get(pred, i));
    return JX_OK;
}

jx_status jx_metrics_update_logits(jx_metrics *m, const jx_array *logits, const jx_array *labels,
                                   int64_t k) {
    const char *what = "metrics_update_logits";
    if (!m || !m->confusion) return fail(JX_ERR_ARG, what, "metrics not initialised");
    if (!logits || !jx_dtype_is_float(jx_array_dtype(logits)) || !is_int_array(labels))
        return fail(JX_ERR_DTYPE, what, "logits must be a float array and labels an integer one");
    jx_aval a = jx_array_aval(logits), b = jx_array_aval(labels);
    int same = a.rank == b.rank + 1 && a.shape[a.rank - 1] == m->num_classes;
    for (int i = 0; same && i < b.rank; i++) same = a.shape[i] == b.shape[i];
    if (!same) {
        char sa[96], sb[96];
        return fail(JX_ERR_SHAPE, what, "logits %s should be labels %s with a last axis of %lld classes",
                    jx_aval_str(&a, sa, sizeof sa), jx_aval_str(&b, sb, sizeof sb),
                    (long long)m->num_classes);
    }
    if (k < 0) return fail(JX_ERR_ARG, what, "k %lld must not be negative", (long long)k);
    int64_t n = jx_array_size(labels), c = m->num_classes;
    jx_status s = check_values(m, what, labels, NULL, n);
    if (s != JX_OK) return s;
    for (int64_t i = 0; i < n; i++) {
        int64_t y = (int64_t)jx_array_get(labels, i), best = 0, above = 0;
        double vb = jx_array_get(logits, i * c);
        for (int64_t j = 1; j < c; j++) {
            double v = jx_array_get(logits, i * c + j);
            if (v > vb || (isnan(v) && !isnan(vb))) vb = v, best = j;
        }
        count(m, y, best);
        if (k == 0 || y == m->ignore_label) continue;
        /* the label is in the top k when fewer than k logits rank before it */
        double vy = jx_array_get(logits, i * c + y);
        for (int64_t j = 0; j < c; j++) {
            double v = jx_array_get(logits, i * c + j);
            above += v > vy || (v == vy && j < y);
        }
        m->topk_count++;
        m->topk_correct += above < k;
    }
    if (k > 0) m->topk_k = k;
    return JX_OK;
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : NAN; }

double jx_metrics_accuracy(const jx_metrics *m) { return ratio(m->correct, m->count); }
double jx_metrics_topk_accuracy(const jx_metrics *m) { return ratio(m->topk_correct, m->topk_count); }

/* True positives, false positives and false negatives of class c. */
static int class_counts(const jx_metrics *m, int64_t c, int64_t *tp, int64_t *fp, int64_t *fn) {
    if (!m->confusion || c < 0 || c >= m->num_classes) return 0;
    int64_t k = m->num_classes;
    *tp = m->confusion[c * k + c];
    *fp = *fn = 0;
    for (int64_t j = 0; j < k; j++) {
        if (j == c) continue;
        *fp += m->confusion[j * k + c];
        *fn += m->confusion[c * k + j];
    }
    return 1;
}

double jx_metrics_precision(const jx_metrics *m, int64_t c) {
    int64_t tp, fp, fn;
    return class_counts(m, c, &tp, &fp, &fn) ? ratio(tp, tp + fp) : NAN;
}
double jx_metrics_recall(const jx_metrics *m, int64_t c) {
    int64_t tp, fp, fn;
    return class_counts(m, c, &tp, &fp, &fn) ? ratio(tp, tp + fn) : NAN;
}
double jx_metrics_f1(const jx_metrics *m, int64_t c) {
    int64_t tp, fp, fn;
    return class_counts(m, c, &tp, &fp, &fn) ? ratio(2 * tp, 2 * tp + fp + fn) : NAN;
}
double jx_metrics_iou(const jx_metrics *m, int64_t c) {
    int64_t tp, fp, fn;
    return class_counts(m, c, &tp, &fp, &fn) ? ratio(tp, tp + fp + fn) : NAN;
}

/* The mean of score(c) over the classes where it is defined. */
static double mean_defined(const jx_metrics *m, double (*score)(const jx_metrics *, int64_t)) {
    double sum = 0;
    int64_t n = 0;
    for (int64_t c = 0; c < m->num_classes; c++) {
        double v = score(m, c);
        if (!isnan(v)) sum += v, n++;
    }
    return n ? sum / (double)n : NAN;
}

double jx_metrics_mean_iou(const jx_metrics *m) { return mean_defined(m, jx_metrics_iou); }
double jx_metrics_macro_f1(const jx_metrics *m) { return mean_defined(m, jx_metrics_f1); }

jx_status jx_metrics_print(FILE *out, const jx_metrics *m) {
    if (!out || !m || !m->confusion) return fail(JX_ERR_ARG, "metrics_print", "nothing to print");
    fprintf(out, "class  precision  recall      f1     iou  support\n");
    for (int64_t c = 0; c < m->num_classes; c++) {
        int64_t support = 0;
        for (int64_t j = 0; j < m->num_classes; j++) support += m->confusion[c * m->num_classes + j];
        fprintf(out, "%5lld  %9.4f  %6.4f  %6.4f  %6.4f  %7lld\n", (long long)c, jx_metrics_precision(m, c),
                jx_metrics_recall(m, c), jx_metrics_f1(m, c), jx_metrics_iou(m, c), (long long)support);
    }
    fprintf(out, "accuracy %.4f over %lld, mean IoU %.4f, macro F1 %.4f\n", jx_metrics_accuracy(m),
            (long long)m->count, jx_metrics_mean_iou(m), jx_metrics_macro_f1(m));
    if (m->topk_count)
        fprintf(out, "top-%lld accuracy %.4f\n", (long long)m->topk_k, jx_metrics_topk_accuracy(m));
    return ferror(out) ? JX_ERR_IO : JX_OK;
}
