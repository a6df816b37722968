/* train_log.h: what the trainers report while they run: the progress line, the check
 * that stops on a non-finite loss, and the per-epoch record (epoch, train loss, test
 * accuracy) written under --out as a CSV and as PNG curves (jx/plot.h):
 *
 *     train_log log = {0};
 *     train_log_read_csv(&log, "out/mnist_cnn_metrics.csv", first_epoch); // on --resume
 *     train_log_add(&log, epoch, loss, accuracy);
 *     train_log_write(&log, "out", "mnist_cnn", "MNIST CNN");
 *     // out/mnist_cnn_metrics.csv, out/mnist_cnn_loss.png, out/mnist_cnn_accuracy.png
 *     train_log_free(&log);
 */
#ifndef JX_EXAMPLES_TRAIN_LOG_H
#define JX_EXAMPLES_TRAIN_LOG_H

#include <stdint.h>

typedef struct train_log {
    int n, cap;
    double *epoch, *loss, *accuracy; /* accuracy in percent */
} train_log;

/* Appends one epoch's row; 0, or -1 when out of memory. */
int train_log_add(train_log *log, int epoch, double loss, double accuracy);

/* Reads the rows of an earlier run's CSV whose epoch is below `before` (a resumed run
 * keeps its history). A missing file is no error (nothing read); a malformed line stops
 * the reading there. Returns the rows read, or -1 when out of memory. */
int train_log_read_csv(train_log *log, const char *path, int before);

/* Writes <out>/<prog>_metrics.csv (header "epoch,train_loss,test_accuracy") atomically,
 * then <out>/<prog>_loss.png and <out>/<prog>_accuracy.png titled `title` (skipped with
 * a note where jx was built without cairo). Returns 0, or -1 after printing
 * "prog: ..." with the file and the reason. */
int train_log_write(const train_log *log, const char *out, const char *prog, const char *title);
/* The CSV part of train_log_write alone, to path. 0, or -1 after printing why. */
int train_log_write_csv(const train_log *log, const char *path, const char *prog);

void train_log_free(train_log *log);

/* Checks a step's loss: 0 when finite, else prints "prog: the loss is nan at step S
 * (epoch E, batch B); run again with JX_DEBUG_NANS=1 ..." (after a newline on a
 * terminal, to end the progress line) and returns -1. */
int train_check_loss(const char *prog, double loss, int64_t step, int epoch, int64_t batch, int tty);

/* The progress line after done of total images in secs: running loss, images per
 * second and the time left; on a terminal it rewrites itself ("\r"), else it is a line. */
void train_progress(int tty, int epoch, int64_t done, int64_t total, double loss, double secs);

#endif
