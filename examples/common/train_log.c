/* train_log.c: see train_log.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jx/plot.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_log.h"

int train_log_add(train_log *log, int epoch, double loss, double accuracy) {
    if (log->n == log->cap) {
        int cap = log->cap ? 2 * log->cap : 16;
        double *cols[3] = {log->epoch, log->loss, log->accuracy};
        for (int c = 0; c < 3; c++) {
            double *p = realloc(cols[c], (size_t)cap * sizeof *p);
            if (!p) return -1;
            cols[c] = p;
            log->epoch = cols[0], log->loss = cols[1], log->accuracy = cols[2]; /* keep what moved */
        }
        log->cap = cap;
    }
    log->epoch[log->n] = epoch, log->loss[log->n] = loss, log->accuracy[log->n] = accuracy;
    log->n++;
    return 0;
}

int train_log_read_csv(train_log *log, const char *path, int before) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    int rows = 0;
    if (fgets(line, sizeof line, f)) /* the header */
        while (fgets(line, sizeof line, f)) {
            int epoch;
            double loss, acc;
            if (sscanf(line, "%d,%lf,%lf", &epoch, &loss, &acc) != 3 || epoch >= before) break;
            if (train_log_add(log, epoch, loss, acc) != 0) {
                fclose(f);
                return -1;
            }
            rows++;
        }
    fclose(f);
    return rows;
}

/* The CSV to path through a temporary beside it, flushed and renamed: never half a file. */
int train_log_write_csv(const train_log *log, const char *path, const char *prog) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL;
    if (ok) {
        /* every line checked: a lost line must not replace a good file */
        ok = fprintf(f, "epoch,train_loss,test_accuracy\n") > 0;
        for (int i = 0; ok && i < log->n; i++)
            ok = fprintf(f, "%d,%.6f,%.4f\n", (int)log->epoch[i], log->loss[i], log->accuracy[i]) > 0;
        ok = ok && fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
        ok = (fclose(f) == 0) && ok;
        ok = ok && rename(tmp, path) == 0;
    }
    if (!ok) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

int train_log_write(const train_log *log, const char *out, const char *prog, const char *title) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_metrics.csv", out, prog);
    if (train_log_write_csv(log, path, prog) != 0) return -1;
    if (!jx_plot_available()) {
        static int told;
        if (!told++) fprintf(stderr, "%s: jx was built without cairo: no PNG plots\n", prog);
        return 0;
    }
    jx_plot_series loss = {"train loss", log->epoch, log->loss, log->n};
    jx_plot_series acc = {"test accuracy (%)", log->epoch, log->accuracy, log->n};
    snprintf(path, sizeof path, "%s/%s_loss.png", out, prog);
    if (jx_plot_lines(path, title, "epoch", "loss", 1, &loss, 0, 0) != JX_OK) goto fail;
    snprintf(path, sizeof path, "%s/%s_accuracy.png", out, prog);
    if (jx_plot_lines(path, title, "epoch", "test accuracy (%)", 1, &acc, 0, 0) != JX_OK) goto fail;
    return 0;
fail:
    fprintf(stderr, "%s: %s\n", prog, jx_errmsg());
    return -1;
}

void train_log_free(train_log *log) {
    free(log->epoch), free(log->loss), free(log->accuracy);
    *log = (train_log){0};
}

int train_check_loss(const char *prog, double loss, int64_t step, int epoch, int64_t batch, int tty) {
    if (isfinite(loss)) return 0;
    fprintf(stderr, "%s%s: the loss is %g at step %lld (epoch %d, batch %lld); run again with JX_DEBUG_NANS=1 "
            "to find the operation that made it, or lower --lr\n", tty ? "\n" : "", prog, loss, (long long)step,
            epoch, (long long)batch);
    return -1;
}

void train_progress(int tty, int epoch, int64_t done, int64_t total, double loss, double secs) {
    double rate = secs > 0 ? (double)done / secs : 0;
    printf("%sepoch %d [%6lld/%lld] loss %.3f, %.0f images/s, ETA %.0f s%s", tty ? "\r" : "", epoch, (long long)done,
           (long long)total, loss, rate, rate > 0 ? (double)(total - done) / rate : 0.0, tty ? "" : "\n");
    fflush(stdout);
}
