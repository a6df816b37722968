/* tut.h: what every tutorial under examples/tutorials shares: the trainers' command line
 * (examples/common/trainer_opts.h) plus --quick, a timer for the part that
 * examples/tutorials/bench.sh compares with NumPy and JAX, the metric lines that bench.sh
 * reads, and the smoke test's check that the program learned something.
 *
 *     trainer_opts o = {.epochs = 5, .batch = 64, .lr = 1e-3, .seed = 0};
 *     int quick, r = tut_parse("tut_12_kmeans", "k-means clustering ...", argc, argv, &o, NULL, 0, &quick);
 *     if (r) return r == 1 ? 0 : 2;
 *     tut_timer t = tut_timer_start();
 *     ... the work ...
 *     tut_timer_stop(&t, "training");             // prints "timed: 1.234 s (training)"
 *     tut_metric("inertia", 123.4, "");           // prints "metric: inertia 123.4"
 *     return tut_quick_check(quick, "accuracy", acc, 0.5, 1);   // --quick: acc > 0.5
 *
 * The Python references (numpy_ref.py, jax_ref.py) print the same two lines through
 * common/tut.py, so that bench.sh can put the three side by side. */
#ifndef JX_TUT_H
#define JX_TUT_H

#include <jx.h>
#include <stdint.h>

#include <jx/optim.h>
#include <jx/tree.h>

#include "../../common/trainer_opts.h"

/* Parses the shared options and --quick (a reduced run for the smoke test: *quick set to
 * 1). --out defaults to runs/<prog> (created; --out none: no pictures). --resume is refused: tutorials train from
 * scratch. Returns as trainer_parse: 0 to run, 1 after --help, 2 after a usage error. */
int tut_parse(const char *prog, const char *about, int argc, char **argv, trainer_opts *o,
              const trainer_extra *extras, int nextras, int *quick);

/* The MNIST directory for tutorials that read it: the repository's ../shared/data/mnist
 * when it is there, else Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist). */
const char *tut_mnist_dir(void);

/* A path under o->out: tut_path(buf, sizeof buf, o, "samples.png"). Returns buf, or NULL
 * after --out none (the plot functions then refuse the NULL path: no pictures). */
char *tut_path(char *buf, unsigned long n, const trainer_opts *o, const char *file);

typedef struct tut_timer { double start; } tut_timer;
/* Starts timing the compared part (the monotonic clock). */
tut_timer tut_timer_start(void);
/* Prints "timed: S s (what)" and returns S, the seconds since tut_timer_start. */
double tut_timer_stop(const tut_timer *t, const char *what);

/* Prints "metric: NAME VALUE" (the line bench.sh reads); the human-readable line
 * ("test accuracy 91.23%") is the tutorial's own. */
void tut_metric(const char *name, double value);

/* The smoke test's assertion. Without --quick returns 0. With it, prints
 * "quick check passed: NAME V > BOUND" (or "< BOUND" when !higher_is_better) and returns
 * 0, or "quick check FAILED: ..." and returns 1: the tutorial's exit status. */
int tut_quick_check(int quick, const char *name, double value, double bound, int higher_is_better);

/* Synthetic data that the C programs and the Python references draw alike (common/tut.py
 * has the same functions): element i of stream `seed` is splitmix64(seed + (i+1) *
 * 0x9E3779B97F4A7C15). tut_uniform: its top 24 bits as a float in [0, 1) (exact in both
 * languages). tut_normal: Box-Muller on pairs of 53-bit uniforms, computed in double. */
void tut_uniform(uint64_t seed, int64_t n, float *out);
void tut_normal(uint64_t seed, int64_t n, float *out);

/* An (r, c) f32 array of normal(seed) * scale, drawn as common/tut.py's weights(). */
jx_array *tut_weights(uint64_t seed, int64_t r, int64_t c, double scale);

/* The body of a training step over trees (params, optimizer state, args...) -> (params,
 * optimizer state, {loss}): loss is called with (params, args...) and puts the loss in its
 * out[0]; mean (may be NULL) replaces the gradients and the loss by their means over the
 * devices before the update (dp_mean_trees in a data-parallel step). Trace it with a
 * tut_step as the body's user data, or call it from a body that first builds the trees
 * its loss takes (17_vae draws the batch's noise, 30_adversarial its PGD images). */
typedef struct tut_step {
    jx_tree_body loss;
    const jx_optim *opt;
    int nargs;                   /* the trees after params and optimizer state */
    void (*mean)(int n, jx_tree **trees);
    void *loss_user;             /* loss's user data (may be NULL) */
} tut_step;
void tut_step_body(jx_tree **out, jx_tree *const *in, void *user);

/* Regression on batch trees {x, y}: the model's prediction of y from x. */
typedef struct tut_regression {
    jx_val (*predict)(const jx_tree *params, jx_val x);
} tut_regression;
/* A tut_step loss (loss_user: a tut_regression): out[0] = mean((predict(in[0], x) - y)^2)
 * for the batch in[1]. */
void tut_mse_loss(jx_tree **out, jx_tree *const *in, void *user);
/* A jx_tree_trace body (user: a tut_regression): out[0] = predict(in[0], in[1]'s x). */
void tut_predict_body(jx_tree **out, jx_tree *const *in, void *user);

/* A training loop's batches: batch(s, step, user) returns a new tree for step s of an
 * epoch (step: counted from the start of training), or NULL with jx_errmsg() set. */
typedef jx_tree *(*tut_batch_fn)(int64_t s, int64_t step, void *user);

/* What tut_train runs: epochs passes of steps steps, batch(s, ..., user) fed to each;
 * after each epoch, line(e, mean loss, user) or, when line is NULL, the printed
 * "epoch E: mean WHAT L"; curve (may be NULL) gets every step's loss (epochs x steps). */
typedef struct tut_loop {
    const char *what;
    int epochs;
    int64_t steps;
    tut_batch_fn batch;
    void *user;
    double *curve;
    void (*line)(int e, double mean, void *user);
} tut_loop;

/* Runs the compiled step x of a traced (params, optimizer state, batch) -> (params, state,
 * {loss, ...}) function (a tut_step_body, or a body that calls it) as l says, replacing
 * *params and *state with its outputs each time (donated by tut_jit(step, o, 2): their
 * storage then holds the outputs). Returns 0, or prints "prog: a training step: ..." and
 * returns 1 (*params and *state are then the last good ones, or donated: free them). */
int tut_train(const char *prog, const jx_tree_fn *step, jx_exec *x, jx_tree **params, jx_tree **state,
              const tut_loop *l);

/* jx_jit of a traced tree function for o's device and --threads, its first `donate` input
 * trees donated (2 for a training step's params and optimizer state: updated in place; 0:
 * none); NULL (with jx_errmsg()) when f is NULL or compiling fails. */
jx_exec *tut_jit(const jx_tree_fn *f, const trainer_opts *o, int donate);

/* Plots one curve (n values against 0..n-1) to o->out/file and prints "wrote PATH";
 * nothing without cairo. */
void tut_plot_curve(const trainer_opts *o, const char *file, const char *title, const char *xlabel,
                    const char *ylabel, const char *label, const double *y, int64_t n);

/* Prints jx's error (jx_errmsg()) as "prog: what: message" and returns 1. */
int tut_fail(const char *prog, const char *what);

#endif
