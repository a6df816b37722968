/* tut.c: see tut.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jx/plot.h>

#include "tut.h"

#ifndef JX_TUT_SHARED_MNIST
#define JX_TUT_SHARED_MNIST "../shared/data/mnist"
#endif

const char *tut_mnist_dir(void) {
    struct stat st;
    if (stat(JX_TUT_SHARED_MNIST "/t10k-labels-idx1-ubyte.gz", &st) == 0) return JX_TUT_SHARED_MNIST;
    return "/usr/share/datasets/fashion-mnist";
}

int tut_parse(const char *prog, const char *about, int argc, char **argv, trainer_opts *o,
              const trainer_extra *extras, int nextras, int *quick) {
    static char out_default[256];
    const char *unused = NULL;
    trainer_extra all[32];
    if (nextras > 31) nextras = 31;
    for (int i = 0; i < nextras; i++) all[i] = extras[i];
    /* --quick takes no value: it is taken out of argv below, the table entry is for --help */
    all[nextras] = (trainer_extra){"--quick", "", "a reduced run that checks the program learns (the smoke test)",
                                   TRAINER_STRING, 0, 0, &unused};
    char **args = malloc(sizeof *args * (size_t)(argc + 1));
    if (!args) return 2;
    int n = 0;
    *quick = 0;
    for (int i = 0; i < argc; i++)
        if (i > 0 && !strcmp(argv[i], "--quick")) *quick = 1;
        else args[n++] = argv[i];
    args[n] = NULL;
    o->checkpoints = 1; /* --out DIR (made by trainer_parse) for the PNGs */
    if (!o->out) {
        snprintf(out_default, sizeof out_default, "runs/%s", prog);
        o->out = out_default;
    }
    int r = trainer_parse(prog, about, n, args, o, all, nextras + 1);
    free(args);
    if (r) return r;
    if (o->resume) {
        fprintf(stderr, "%s: --resume: tutorials train from scratch (their programs write no checkpoints)\n", prog);
        return 2;
    }
    return 0;
}

char *tut_path(char *buf, unsigned long n, const trainer_opts *o, const char *file) {
    if (!o->out) return NULL;
    snprintf(buf, n, "%s/%s", o->out, file);
    return buf;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

tut_timer tut_timer_start(void) { return (tut_timer){now()}; }

double tut_timer_stop(const tut_timer *t, const char *what) {
    double s = now() - t->start;
    printf("timed: %.3f s (%s)\n", s, what);
    fflush(stdout);
    return s;
}

void tut_metric(const char *name, double value) {
    printf("metric: %s %.6g\n", name, value);
    fflush(stdout);
}

int tut_quick_check(int quick, const char *name, double value, double bound, int higher_is_better) {
    if (!quick) return 0;
    int ok = higher_is_better ? value > bound : value < bound;
    printf("quick check %s: %s %.6g %s %.6g\n", ok ? "passed" : "FAILED", name, value, higher_is_better ? ">" : "<",
           bound);
    return ok ? 0 : 1;
}

int tut_fail(const char *prog, const char *what) {
    fprintf(stderr, "%s: %s: %s\n", prog, what, jx_errmsg());
    return 1;
}

static uint64_t splitmix(uint64_t seed, int64_t i) {
    uint64_t z = seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tut_uniform(uint64_t seed, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i++) out[i] = (float)(splitmix(seed, i) >> 40) * 0x1p-24f;
}

void tut_normal(uint64_t seed, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = ((double)(splitmix(seed, i) >> 11) + 0.5) * 0x1p-53;
        double u2 = (double)(splitmix(seed, i + 1) >> 11) * 0x1p-53, r = sqrt(-2 * log(u1));
        out[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n) out[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

jx_array *tut_weights(uint64_t seed, int64_t r, int64_t c, double scale) {
    float *v = malloc(sizeof(float) * (size_t)(r * c));
    if (!v) return NULL;
    tut_normal(seed, r * c, v);
    for (int64_t i = 0; i < r * c; i++) v[i] = (float)(v[i] * scale);
    jx_array *a = jx_array_new(JX_F32, JX_INTS(r, c), v);
    free(v);
    return a;
}

void tut_step_body(jx_tree **out, jx_tree *const *in, void *user) {
    const tut_step *st = user;
    jx_tree *args[8], *vals[1], *grads;
    args[0] = in[0];
    for (int i = 0; i < st->nargs && i < 7; i++) args[1 + i] = in[2 + i];
    if (jx_tree_value_and_grad(st->loss, st->loss_user, 1 + st->nargs, args, 0, 1, vals, &grads) != JX_OK) return;
    if (st->mean) {
        jx_tree *both[2] = {grads, vals[0]};
        st->mean(2, both);
        grads = both[0], vals[0] = both[1];
    }
    jx_optim_update(st->opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = jx_tree_dict();
    jx_tree_set(out[2], "loss", vals[0]);
    jx_tree_free(grads);
}

void tut_mse_loss(jx_tree **out, jx_tree *const *in, void *user) {
    const tut_regression *m = user;
    jx_val err = jx_sub(m->predict(in[0], jx_tree_get_val(in[1], "x")), jx_tree_get_val(in[1], "y"));
    out[0] = jx_tree_val(jx_mean(jx_square(err), JX_NOINTS));
}

void tut_predict_body(jx_tree **out, jx_tree *const *in, void *user) {
    const tut_regression *m = user;
    out[0] = jx_tree_val(m->predict(in[0], jx_tree_get_val(in[1], "x")));
}

int tut_train(const char *prog, const jx_tree_fn *step, jx_exec *x, jx_tree **params, jx_tree **state,
              const tut_loop *l) {
    for (int e = 0; e < l->epochs; e++) {
        double sum = 0;
        for (int64_t s = 0; s < l->steps; s++) {
            jx_tree *b = l->batch(s, e * l->steps + s, l->user), *in[3] = {*params, *state, b}, *out[3];
            int ok = b && jx_tree_fn_run(step, x, 3, in, 3, out) == JX_OK;
            jx_tree_free(b);
            if (!ok) return tut_fail(prog, "a training step");
            jx_tree_free(*params), jx_tree_free(*state); /* if donated, their storage now holds out[0..1] */
            *params = out[0], *state = out[1];
            double loss = jx_array_get(jx_tree_get_array(out[2], "loss"), 0);
            jx_tree_free(out[2]);
            sum += loss;
            if (l->curve) l->curve[e * l->steps + s] = loss;
        }
        if (l->line) l->line(e, sum / (double)l->steps, l->user);
        else printf("epoch %d: mean %s %.4f\n", e + 1, l->what, sum / (double)l->steps);
        fflush(stdout);
    }
    return 0;
}

jx_exec *tut_jit(const jx_tree_fn *f, const trainer_opts *o, int donate) {
    int64_t leaves[256];
    int nd = f && donate > 0 ? jx_tree_fn_input_offset(f, donate) : 0; /* the leaves of the first `donate` trees */
    if (nd > 256) nd = 256;                                              /* donating fewer is as correct, only slower */
    for (int i = 0; i < nd; i++) leaves[i] = i;
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o->threads;
    if (nd) jo.donate = (jx_ints){leaves, nd};
    return f ? jx_jit(jx_tree_fn_fn(f), o->device, &jo) : NULL;
}

void tut_plot_curve(const trainer_opts *o, const char *file, const char *title, const char *xlabel,
                    const char *ylabel, const char *label, const double *y, int64_t n) {
    char path[4096];
    jx_plot_series s = {label, NULL, y, n};
    if (n > 0 && o->out && jx_plot_available() &&
        jx_plot_lines(tut_path(path, sizeof path, o, file), title, xlabel, ylabel, 1, &s, 0, 0) == JX_OK)
        printf("wrote %s\n", path);
}
