/* trainer_opts.c: see trainer_opts.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trainer_opts.h"

void trainer_usage(FILE *f, const char *prog, const char *about, const trainer_opts *d, const trainer_extra *extras,
                   int nextras) {
    fprintf(f, "usage: %s [options]\n%s\n", prog, about);
    if (d->data_help)
        fprintf(f, "  --data DIR       %s (default %s)\n", d->data_help, d->data);
    else
        fprintf(f, "  --data DIR       the IDX files (default %s;\n"
                   "                   MNIST itself works the same)\n", d->data);
    fprintf(f, "  --epochs N       passes over the training set (default %d)\n", d->epochs);
    fprintf(f, "  --batch N        images per step (default %d)\n", d->batch);
    if (d->lr > 0) fprintf(f, "  --lr X           learning rate (default %g)\n", d->lr);
    else fprintf(f, "  --lr X           learning rate (default: see above)\n");
    fprintf(f, "  --limit N        train on the first N images only (default all)\n");
    fprintf(f, "  --threads N      worker threads (default JX_NUM_THREADS, else every core)\n");
    fprintf(f, "  --seed N         initialisation seed (default %llu)\n", (unsigned long long)d->seed);
    fprintf(f, "  --device D       cpu (LLVM kernels + OpenBLAS, default), interp (the\n"
               "                   reference interpreter, slow) or cuda (an NVIDIA GPU;\n"
               "                   parameters stay in GPU memory)\n");
    if (d->checkpoints)
        fprintf(f, "  --out DIR        write a checkpoint, the metrics CSV and the plots there\n"
                   "                   after every epoch (default %s%s)\n"
                   "  --resume FILE    continue from a checkpoint written with --out\n",
                d->out ? d->out : "none", d->out ? "; none: save nothing" : "");
    for (int i = 0; i < nextras; i++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "%s %s", extras[i].name, extras[i].arg);
        fprintf(f, "  %-16s %s\n", lhs, extras[i].help);
    }
    fprintf(f, "  --help           this text\n");
}

/* A whole number in [lo, hi]; -1 with a message when it is not one. */
static int parse_long(const char *prog, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s wants a whole number from %ld to %ld, not '%s'\n", prog, opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* A finite number above 0; -1 with a message when it is not one. */
static int parse_positive(const char *prog, const char *opt, const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || isinf(v)) {
        fprintf(stderr, "%s: %s wants a positive number, not '%s'\n", prog, opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_extra(const char *prog, const trainer_extra *e, const char *v) {
    switch (e->kind) {
    case TRAINER_LONG: return parse_long(prog, e->name, v, e->lo, e->hi, e->dst);
    case TRAINER_POSITIVE: return parse_positive(prog, e->name, v, e->dst);
    case TRAINER_STRING: *(const char **)e->dst = v; return 0;
    }
    return -1;
}

/* mkdir -p dir: 0, or -1 with the failing path and reason printed. */
static int make_dirs(const char *prog, const char *dir) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        fprintf(stderr, "%s: --out %s: path too long\n", prog, dir);
        return -1;
    }
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c) continue;
        char keep = *c;
        *c = 0;
        struct stat st;
        if (mkdir(p, 0777) != 0 && (errno != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "%s: --out %s: cannot create %s: %s\n", prog, dir, p,
                    errno == EEXIST ? "not a directory" : strerror(errno));
            return -1;
        }
        if (!(*c = keep)) return 0;
    }
}

int trainer_parse(const char *prog, const char *about, int argc, char **argv, trainer_opts *o,
                  const trainer_extra *extras, int nextras) {
    trainer_opts defaults = *o;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            trainer_usage(stdout, prog, about, &defaults, extras, nextras);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "%s: %s '%s' (try --help)\n", prog,
                    strncmp(a, "--", 2) ? "unexpected argument" : "missing value after", a);
            return 2;
        }
        const char *v = argv[++i];
        long n = 0;
        int bad = 0, known = 1;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--epochs")) bad = parse_long(prog, a, v, 0, 100000, &n), o->epochs = (int)n;
        else if (!strcmp(a, "--batch")) bad = parse_long(prog, a, v, 1, 1 << 20, &n), o->batch = (int)n;
        else if (!strcmp(a, "--limit")) bad = parse_long(prog, a, v, 1, 1L << 40, &o->limit);
        else if (!strcmp(a, "--threads")) bad = parse_long(prog, a, v, 1, 256, &n), o->threads = (int)n;
        else if (!strcmp(a, "--seed")) bad = parse_long(prog, a, v, 0, LONG_MAX, &n), o->seed = (uint64_t)n;
        else if (!strcmp(a, "--lr")) bad = parse_positive(prog, a, v, &o->lr);
        else if (!strcmp(a, "--out") && o->checkpoints) o->out = strcmp(v, "none") ? v : NULL;
        else if (!strcmp(a, "--resume") && o->checkpoints) o->resume = v;
        else if (!strcmp(a, "--device")) {
            if (!strcmp(v, "cpu")) o->device = JX_DEVICE_CPU;
            else if (!strcmp(v, "interp")) o->device = JX_DEVICE_INTERP;
            else if (!strcmp(v, "cuda")) o->device = JX_DEVICE_CUDA;
            else fprintf(stderr, "%s: --device is cpu, interp or cuda, not '%s'\n", prog, v), bad = -1;
        } else {
            known = 0;
            for (int k = 0; k < nextras && !known; k++)
                if (!strcmp(a, extras[k].name)) known = 1, bad = parse_extra(prog, &extras[k], v);
        }
        if (!known) {
            fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, a);
            return 2;
        }
        if (bad) return 2;
    }
    if (o->out && make_dirs(prog, o->out) != 0) return 2; /* checkpoints go there every epoch */
    if (o->device == JX_DEVICE_CUDA) { /* no GPU: say so now, before loading any data */
        jx_array *probe = jx_array_zeros(JX_F32, JX_INTS(1)), *d = jx_array_to(probe, JX_DEVICE_CUDA);
        if (!d) fprintf(stderr, "%s: --device cuda: %s\n", prog, jx_errmsg());
        jx_array_release(probe);
        jx_array_release(d);
        if (!d) return 2;
    }
    return 0;
}

const char *trainer_device_name(jx_device d) {
    return d == JX_DEVICE_CPU ? "cpu" : d == JX_DEVICE_CUDA ? "cuda" : "interpreter";
}

static jx_array *leaf_to(const char *path, const jx_array *a, void *user) {
    return jx_array_to((jx_array *)a, *(const jx_device *)user);
}

int trainer_tree_to(jx_tree **t, jx_device device) {
    if (device != JX_DEVICE_CUDA) return 0;
    jx_tree *moved = jx_tree_map_arrays(*t, leaf_to, &device);
    if (!moved) return -1;
    jx_tree_free(*t);
    *t = moved;
    return 0;
}

void trainer_report_compile(double seconds, jx_device d) {
    jx_jit_stats js = jx_jit_stats_get();
    printf("compiled in %.2f s (%lld kernels compiled, %lld modules loaded from the disk cache) for the %s\n", seconds,
           (long long)js.kernels, (long long)js.disk_hits, trainer_device_name(d));
    fflush(stdout);
}
