/* trainer_opts.h: the command-line options every jx trainer shares (--data --epochs
 * --batch --lr --seed --threads --device --limit --out --resume --help), parsed one
 * way with the same messages, plus a trainer's own options described in a table.
 *
 *     trainer_opts o = {.data = "/usr/share/datasets/fashion-mnist", .epochs = 5,
 *                       .batch = 128, .lr = 0.1, .device = JX_DEVICE_CPU, .checkpoints = 1,
 *                       .out = TRAINER_OUT("mnist_mlp")};
 *     double init = 0.01;
 *     trainer_extra extra[] = {{"--init", "X", "initial scale (default 0.01)", TRAINER_POSITIVE, 0, 0, &init}};
 *     int r = trainer_parse("mnist_mlp", "Trains an MLP ...", argc, argv, &o, extra, 1);
 *     if (r) return r == 1 ? 0 : 2;      // 1: --help printed; 2: a usage error printed
 */
#ifndef JX_TRAINER_OPTS_H
#define JX_TRAINER_OPTS_H

#include <jx.h>
#include <jx/tree.h>
#include <stdint.h>
#include <stdio.h>

/* The default --out of a trainer named prog: runs/<prog>, relative to the working
 * directory (the repository's .gitignore leaves runs/ out). */
#define TRAINER_OUT(prog) "runs/" prog

typedef struct trainer_opts {
    const char *data;  /* --data DIR */
    int epochs, batch; /* --epochs N, --batch N */
    int threads;       /* --threads N (0: JX_NUM_THREADS, else every core) */
    long limit;        /* --limit N: the first N training images (0: all) */
    double lr;         /* --lr X */
    uint64_t seed;     /* --seed N */
    jx_device device;  /* --device cpu|interp|cuda */
    const char *out;   /* --out DIR (checkpoints, metrics, plots); the trainer's default
                        * on entry (TRAINER_OUT(prog)); NULL after --out none */
    const char *resume; /* --resume FILE; NULL when not given */
    int checkpoints;   /* set by the trainer before parsing: 1 if it honours --out and
                        * --resume (otherwise they are unknown options) */
    const char *data_help; /* set by the trainer: --data's help line (NULL: the IDX files) */
} trainer_opts;

typedef enum trainer_kind { TRAINER_LONG, TRAINER_POSITIVE, TRAINER_STRING } trainer_kind;

/* A trainer's own option: name ("--init"), the value's placeholder ("X"), its help line,
 * its kind, [lo, hi] for TRAINER_LONG, and where the value goes (long *, double *,
 * const char **). */
typedef struct trainer_extra {
    const char *name, *arg, *help;
    trainer_kind kind;
    long lo, hi;
    void *dst;
} trainer_extra;

/* Parses argv into o (whose fields hold the defaults on entry) and the extras. Returns 0
 * to run, 1 after printing --help to stdout, 2 after printing a usage error to stderr
 * ("prog: --epochs wants a whole number from 0 to 100000, not 'x'"; with --device cuda
 * where no GPU can be used: "prog: --device cuda: jx_array_to: f32[1] to cuda: cuda: no
 * CUDA driver: ..."). */
int trainer_parse(const char *prog, const char *about, int argc, char **argv, trainer_opts *o,
                  const trainer_extra *extras, int nextras);

/* "cpu", "interpreter" or "cuda", for the trainers' banners. */
const char *trainer_device_name(jx_device d);
/* Prints "compiled in S s (N kernels compiled, M modules loaded from the disk cache) for the DEV":
 * with jit's disk cache warm, a run compiles nothing and loads everything. */
void trainer_report_compile(double seconds, jx_device d);
/* For --device cuda: replaces *t by a tree of the same arrays in GPU memory, so that
 * the jitted steps keep it there (their outputs stay on the device); nothing for the
 * host devices. -1 with jx_errmsg() set (t unchanged) when a copy fails. */
int trainer_tree_to(jx_tree **t, jx_device device);

/* Prints the usage text: about, then every option with its default. */
void trainer_usage(FILE *f, const char *prog, const char *about, const trainer_opts *defaults,
                   const trainer_extra *extras, int nextras);

#endif
