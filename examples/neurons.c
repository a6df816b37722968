/* neurons.c: which units of a trained MNIST CNN drive each class, and which pixels.
 * The network is mnist_cnn's, held as a jx_seq (common/cnn_seq.h) and loaded from an
 * mnist_cnn checkpoint; one layer (--layer, default relu3: the 128 units of dense1
 * after its relu) is tapped (jx/taps.h):
 *   - per-class statistics of each unit over the test set (the mean activation per
 *     class, conv channels averaged over space) and its class-selectivity index
 *     (max class mean - mean of the others) / (max + mean of the others);
 *   - each unit's attribution to each class: gradient x activation of the class logit
 *     (jx_grad_times_input over the network's tail after the layer), averaged over the
 *     class's images; the top units per class;
 *   - the ablation check: the top-k attributed units of a class set to 0 (a mask on the
 *     tap, an input of one jitted function) against k random units, the class's accuracy
 *     drop for each;
 *   - pixel attribution of one test image per class: gradient x input and integrated
 *     gradients (jx_integrated_gradients: the path integral as one vmapped gradient,
 *     jitted once), with the completeness error and the time per image.
 * With --out DIR: saliency.png (image, gradient x input, IG per class), top_units.png (the
 * test images that most activate each class's top unit) and selectivity.png (the units'
 * class means, each unit scaled to its maximum, as a class x unit heat map).
 *
 * With --unet CKPT instead of --ckpt, the units of a coco_seg U-Net's bottleneck on the
 * COCO val split: their mean activation per class (a bottleneck cell's class is its
 * patch's majority label), selectivity, top units per class and the heat map
 * (neurons/unet_units.c).
 *
 *   usage: neurons --ckpt FILE [--data DIR] [--layer NAME] [--test-limit N] [--topk K]
 *                  [--ig-steps M] [--out DIR] [--threads N] [--seed N]
 *          neurons --unet FILE [--data COCO_DIR] [--categories LIST] [--size N] [--topk K] [--out DIR] */
#define _POSIX_C_SOURCE 200809L
#include <jx/nn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/cnn_seq.h"
#include "common/mnist_data.h"
#include "common/trainer_opts.h"
#include "common/unit_stats.h"
#include "neurons/unet_units.h"

enum { NC = MNIST_CLASSES, B = 50, RANDOM_DRAWS = 5, TOP_IMAGES = 8 };

typedef struct options {
    trainer_opts t;
    const char *ckpt, *layer, *unet, *categories;
    long test_limit, topk, ig_steps, size;
} options;

/* ------------------------------------------------------------------ traced functions */

typedef struct net {
    jx_seq *seq, *tail; /* the whole network; the layers after the tapped one */
    const char *layer;
    jx_taps *taps;
    jx_val mask; /* the traced unit mask of the current trace */
} net;

static jx_val apply_mask(jx_val v, void *user) {
    const net *n = user;
    jx_aval a = jx_aval_of(v);
    return jx_mul(v, jx_broadcast_to(n->mask, (jx_ints){a.shape, a.rank}));
}

/* in: params, stats, {x (B,28,28,1), mask (U)}. out: {logits}, {layer: activation}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    net *n = user;
    n->mask = jx_tree_get_val(in[2], "mask");
    jx_seq_ctx c = {.stats = in[1], .taps = n->taps};
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", jx_seq_apply(n->seq, in[0], jx_tree_get_val(in[2], "x"), &c));
    out[1] = jx_taps_take(n->taps);
}

/* in: params, stats, {x, onehot}. out: sum(logits * onehot), the class scores' sum. */
static void score_body(jx_tree **out, jx_tree *const *in, void *user) {
    const net *n = user;
    jx_seq_ctx c = {.stats = in[1]};
    jx_val logits = jx_seq_apply(n->seq, in[0], jx_tree_get_val(in[2], "x"), &c);
    out[0] = jx_tree_val(jx_sum(jx_mul(logits, jx_tree_get_val(in[2], "onehot")), JX_NOINTS));
}

/* in: params, stats, {x: the layer's activation, onehot}: the tail's class scores' sum. */
static void tail_body(jx_tree **out, jx_tree *const *in, void *user) {
    const net *n = user;
    jx_seq_ctx c = {.stats = in[1]};
    jx_val logits = jx_seq_apply(n->tail, in[0], jx_tree_get_val(in[2], "x"), &c);
    out[0] = jx_tree_val(jx_sum(jx_mul(logits, jx_tree_get_val(in[2], "onehot")), JX_NOINTS));
}

/* A jitted positional function over (params, stats, batch) flattened. */
typedef struct jitted {
    jx_fn *fn;
    jx_exec *x;
    int nparams; /* flat inputs before the batch */
} jitted;

static void jitted_free(jitted *j) {
    jx_exec_release(j->x);
    jx_fn_release(j->fn);
}

static int jit(jitted *j, jx_fn *fn, int nparams, int threads) {
    jx_jit_opts o = {threads, {NULL, 0}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
    j->fn = fn, j->nparams = nparams;
    j->x = fn ? jx_jit(fn, JX_DEVICE_CPU, &o) : NULL;
    return j->x ? 0 : -1;
}

/* Runs j on params and stats (flattened) and the batch arrays b[0..nb); out[0..nout). */
static int run(const jitted *j, const jx_tree *params, const jx_tree *stats, int nb, jx_array *const *b, int nout,
               jx_array **out) {
    jx_array *in[64];
    int np = jx_tree_flatten_arrays(params, in, 64);
    int ns = jx_tree_flatten_arrays(stats, in + np, 64 - np);
    if (np + ns + nb > 64) return -1;
    for (int i = 0; i < nb; i++) in[np + ns + i] = b[i];
    return jx_exec_run(j->x, np + ns + nb, in, nout, out) == JX_OK ? 0 : -1;
}

/* ------------------------------------------------------------------ the analysis */

typedef struct study {
    const options *o;
    net n;
    jx_tree *params, *stats;
    int64_t ntest, units, spatial; /* units: the layer's last axis; spatial: positions per unit */
    int64_t act_shape[JX_MAX_RANK];
    int act_rank;
    jx_tree_fn *eval_tf;
    jitted eval, unit_attr, ig, gxi;
    int32_t *labels;
    float *act;        /* ntest x units: each unit's (spatially averaged) activation */
    double *mean;      /* units x NC class means */
    double *attr;      /* units x NC: mean gradient x activation of the class logit */
    int64_t count[NC]; /* test images per class */
} study;

/* A batch of images idx[0..B) of the test set, and a mask of ones except `zero`. */
static jx_array *images(const jx_idx_split *test, const int64_t *idx) {
    return mnist_images(test->images, idx, 0, B, JX_INTS(B, CNN_SIDE, CNN_SIDE, 1));
}

static jx_array *mask_array(int64_t units, int k, const int64_t *zero) {
    float *m = malloc((size_t)units * sizeof *m);
    if (!m) return NULL;
    for (int64_t u = 0; u < units; u++) m[u] = 1;
    for (int i = 0; i < k; i++) m[zero[i]] = 0;
    jx_array *a = jx_array_new(JX_F32, JX_INTS(units), m);
    free(m);
    return a;
}

/* Runs the eval function on images idx[0..B) with a mask: logits (B,NC) and the tapped
 * activation. 0 or -1. */
static int eval_batch(study *s, const jx_idx_split *test, const int64_t *idx, jx_array *mask, jx_array **logits,
                      jx_array **act) {
    jx_array *b[2] = {images(test, idx), mask}, *out[2] = {NULL, NULL};
    int rc = b[0] ? run(&s->eval, s->params, s->stats, 2, b, 2, out) : -1;
    jx_array_release(b[0]);
    *logits = out[0];
    if (act) *act = out[1];
    else jx_array_release(out[1]);
    return rc;
}

static int argmax(const jx_array *logits, int64_t i) {
    int best = 0;
    for (int c = 1; c < NC; c++)
        if (jx_array_get(logits, i * NC + c) > jx_array_get(logits, i * NC + best)) best = c;
    return best;
}

/* Pass over the test set: activations, class means, unit attributions. 0 or -1. */
static int unit_statistics(study *s, const jx_idx_split *test) {
    int64_t U = s->units;
    s->act = calloc((size_t)(s->ntest * U), sizeof *s->act);
    s->mean = calloc((size_t)(U * NC), sizeof *s->mean);
    s->attr = calloc((size_t)(U * NC), sizeof *s->attr);
    jx_array *ones = mask_array(U, 0, NULL);
    int64_t idx[B];
    int correct = 0, rc = -1;
    if (!s->act || !s->mean || !s->attr || !ones) goto done;
    for (int64_t first = 0; first < s->ntest; first += B) {
        for (int i = 0; i < B; i++) idx[i] = first + i;
        jx_array *logits = NULL, *act = NULL, *oh = mnist_labels(test->labels, NULL, first, B, 1), *gxi = NULL;
        int ok = oh && eval_batch(s, test, idx, ones, &logits, &act) == 0;
        jx_array *b[2] = {act, oh};
        ok = ok && run(&s->unit_attr, s->params, s->stats, 2, b, 1, &gxi) == 0;
        for (int64_t i = 0; ok && i < B; i++) {
            int c = s->labels[first + i];
            correct += argmax(logits, i) == c;
            const float *a = jx_array_data(act), *g = jx_array_data(gxi);
            for (int64_t p = 0; p < s->spatial; p++)
                for (int64_t u = 0; u < U; u++) {
                    int64_t e = (i * s->spatial + p) * U + u;
                    s->act[(first + i) * U + u] += a[e] / (float)s->spatial;
                    s->attr[u * NC + c] += g[e];
                }
        }
        jx_array_release(logits), jx_array_release(act), jx_array_release(oh), jx_array_release(gxi);
        if (!ok) goto done;
    }
    for (int64_t i = 0; i < s->ntest; i++)
        for (int64_t u = 0; u < U; u++) s->mean[u * NC + s->labels[i]] += s->act[i * U + u];
    for (int64_t u = 0; u < U; u++)
        for (int c = 0; c < NC; c++) {
            s->mean[u * NC + c] /= (double)(s->count[c] ? s->count[c] : 1);
            s->attr[u * NC + c] /= (double)(s->count[c] ? s->count[c] : 1);
        }
    printf("test accuracy %.2f%% over %lld images\n", 100.0 * correct / (double)s->ntest, (long long)s->ntest);
    rc = 0;
done:
    jx_array_release(ones);
    return rc;
}

static double selectivity(const study *s, int64_t u, int *pref) { return unit_selectivity(s->mean + u * NC, NC, pref); }
static int dead(const study *s, int64_t u) { return unit_dead(s->mean + u * NC, NC); }

/* The k units of largest attribution to class c, in decreasing order. */
static void top_units(const study *s, int c, int k, int64_t *out) {
    for (int i = 0; i < k; i++) {
        int64_t best = -1;
        for (int64_t u = 0; u < s->units; u++) {
            int taken = 0;
            for (int j = 0; j < i; j++) taken |= out[j] == u;
            if (!taken && (best < 0 || s->attr[u * NC + c] > s->attr[best * NC + c])) best = u;
        }
        out[i] = best;
    }
}

static void report_units(const study *s) {
    double si_sum = 0;
    int64_t ndead = 0;
    for (int64_t u = 0; u < s->units; u++) si_sum += selectivity(s, u, NULL), ndead += dead(s, u);
    printf("\nlayer %s: %lld units (%lld never active on these images), mean class-selectivity index of the active "
           "ones %.3f\n",
           s->n.layer, (long long)s->units, (long long)ndead, ndead < s->units ? si_sum / (double)(s->units - ndead) : 0);
    printf("top units per class by attribution (gradient x activation of the class logit, mean over the class):\n");
    printf("class  unit (attribution, selectivity, preferred class) ...\n");
    int k = (int)s->o->topk;
    int64_t top[64];
    for (int c = 0; c < NC; c++) {
        top_units(s, c, k, top);
        printf("%5d ", c);
        for (int i = 0; i < k; i++) {
            int pref;
            double si = selectivity(s, top[i], &pref);
            printf("  %3lld (%.3f, %.2f, %d)", (long long)top[i], s->attr[top[i] * NC + c], si, pref);
        }
        printf("\n");
    }
}

/* Class c's accuracy (correct of count) with the units zero[0..k) masked. -1 on error. */
static int class_correct(study *s, const jx_idx_split *test, const int64_t *cls, int64_t ncls, int c, int k,
                         const int64_t *zero) {
    jx_array *mask = mask_array(s->units, k, zero);
    int64_t idx[B];
    int correct = 0;
    for (int64_t first = 0; mask && first < ncls; first += B) {
        for (int i = 0; i < B; i++) idx[i] = cls[first + i < ncls ? first + i : 0]; /* padded with a repeat */
        jx_array *logits = NULL;
        if (eval_batch(s, test, idx, mask, &logits, NULL) != 0) {
            jx_array_release(mask);
            return -1;
        }
        for (int i = 0; i < B && first + i < ncls; i++) correct += argmax(logits, i) == c;
        jx_array_release(logits);
    }
    jx_array_release(mask);
    return mask ? correct : -1;
}

static int ablation(study *s, const jx_idx_split *test) {
    int k = (int)s->o->topk;
    int64_t *cls = malloc((size_t)s->ntest * sizeof *cls), top[64], pick[64];
    uint64_t r = s->o->t.seed * 2862933555777941757ULL + 3037000493ULL;
    if (!cls) return -1;
    printf("\nablation of %d units of %s (set to 0), accuracy on each class's test images:\n", k, s->n.layer);
    printf("class  images  accuracy  top-%d ablated  drop   random %d (mean of %d)  drop\n", k, k, RANDOM_DRAWS);
    double sum_top = 0, sum_rand = 0;
    for (int c = 0; c < NC; c++) {
        int64_t n = 0;
        for (int64_t i = 0; i < s->ntest; i++)
            if (s->labels[i] == c) cls[n++] = i;
        top_units(s, c, k, top);
        int base = class_correct(s, test, cls, n, c, 0, NULL), abl = class_correct(s, test, cls, n, c, k, top);
        double rnd = 0;
        for (int d = 0; d < RANDOM_DRAWS && base >= 0; d++) {
            for (int i = 0; i < k; i++) { /* k distinct units */
                int fresh;
                do {
                    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
                    pick[i] = (int64_t)((r >> 33) % (uint64_t)s->units);
                    fresh = 1;
                    for (int j = 0; j < i; j++) fresh &= pick[j] != pick[i];
                } while (!fresh);
            }
            int got = class_correct(s, test, cls, n, c, k, pick);
            if (got < 0) base = -1;
            rnd += got;
        }
        if (base < 0 || abl < 0) {
            free(cls);
            return -1;
        }
        rnd /= RANDOM_DRAWS;
        double a0 = 100.0 * base / (double)n, a1 = 100.0 * abl / (double)n, a2 = 100.0 * rnd / (double)n;
        printf("%5d  %6lld  %7.1f%%  %13.1f%%  %5.1f  %22.1f%%  %5.1f\n", c, (long long)n, a0, a1, a0 - a1, a2,
               a0 - a2);
        sum_top += a0 - a1, sum_rand += a0 - a2;
    }
    printf("mean drop: top-%d %.1f points, random %d %.1f points\n", k, sum_top / NC, k, sum_rand / NC);
    free(cls);
    return 0;
}

/* Gradient x input and integrated gradients of one test image per class. */
static int pixels(study *s, const jx_idx_split *test) {
    int64_t idx[NC], pad[B];
    for (int c = 0; c < NC; c++) {
        idx[c] = -1;
        for (int64_t i = 0; i < s->ntest && idx[c] < 0; i++)
            if (s->labels[i] == c) idx[c] = i;
        if (idx[c] < 0) idx[c] = 0;
    }
    for (int i = 0; i < B; i++) pad[i] = idx[i < NC ? i : 0];
    jx_array *x = mnist_images(test->images, idx, 0, NC, JX_INTS(NC, CNN_SIDE, CNN_SIDE, 1));
    jx_array *oh = mnist_labels(test->labels, idx, 0, NC, 1), *zero = jx_array_zeros(JX_F32, JX_INTS(NC, CNN_SIDE, CNN_SIDE, 1));
    jx_array *ig = NULL, *gxi = NULL, *l1 = NULL, *l0 = NULL, *ones = mask_array(s->units, 0, NULL);
    int rc = -1;
    jx_array *b[3] = {x, oh, zero};
    if (!x || !oh || !zero || !ones || run(&s->gxi, s->params, s->stats, 2, b, 1, &gxi) != 0) goto done;
    double t0 = clock_now();
    const int reps = 3;
    for (int r = 0; r < reps; r++) {
        jx_array_release(ig), ig = NULL;
        if (run(&s->ig, s->params, s->stats, 3, b, 1, &ig) != 0) goto done;
    }
    double per_image = (clock_now() - t0) / reps / NC;
    /* completeness: sum(IG) = logit_c(x) - logit_c(0), per image */
    if (eval_batch(s, test, pad, ones, &l1, NULL) != 0) goto done;
    jx_array *zb[2] = {NULL, ones}, *zout[2] = {NULL, NULL};
    zb[0] = jx_array_zeros(JX_F32, JX_INTS(B, CNN_SIDE, CNN_SIDE, 1));
    int zr = zb[0] ? run(&s->eval, s->params, s->stats, 2, zb, 2, zout) : -1;
    jx_array_release(zb[0]), jx_array_release(zout[1]);
    l0 = zout[0];
    if (zr) goto done;
    double worst = 0;
    const float *g = jx_array_data(ig);
    for (int c = 0; c < NC; c++) {
        double sum = 0, want = jx_array_get(l1, c * NC + c) - jx_array_get(l0, c * NC + c);
        for (int p = 0; p < CNN_SIDE * CNN_SIDE; p++) sum += g[c * CNN_SIDE * CNN_SIDE + p];
        worst = fmax(worst, fabs(sum - want) / fmax(fabs(want), 1e-6));
    }
    printf("\nintegrated gradients (%ld steps, baseline black): %.1f ms per image, completeness error at most %.2e "
           "(relative, over %d images)\n",
           s->o->ig_steps, 1e3 * per_image, worst, NC);
    if (s->o->t.out) { /* rows: the image, gradient x input, IG */
        float *pix = malloc((size_t)3 * NC * CNN_SIDE * CNN_SIDE * sizeof *pix);
        if (!pix) goto done;
        size_t img = (size_t)NC * CNN_SIDE * CNN_SIDE * sizeof *pix;
        memcpy(pix, jx_array_data(x), img), memcpy(pix + NC * CNN_SIDE * CNN_SIDE, jx_array_data(gxi), img);
        memcpy(pix + 2 * NC * CNN_SIDE * CNN_SIDE, g, img);
        static const int sig[3] = {0, 1, 1};
        static const char *const rows[3] = {"image", "grad*in", "IG"};
        char path[4096], title[128];
        snprintf(path, sizeof path, "%s/saliency.png", s->o->t.out);
        snprintf(title, sizeof title, "saliency of each class's logit (IG: %ld steps)", s->o->ig_steps);
        jx_status st = jx_plot_images(path, title, 3, NC, CNN_SIDE, CNN_SIDE, pix, sig, NULL, rows, 3);
        free(pix);
        if (st != JX_OK) goto done;
        printf("wrote %s\n", path);
    }
    rc = 0;
done:
    jx_array_release(x), jx_array_release(oh), jx_array_release(zero), jx_array_release(ig);
    jx_array_release(gxi), jx_array_release(l1), jx_array_release(l0), jx_array_release(ones);
    return rc;
}

/* top_units.png and selectivity.png. */
static int pictures(const study *s, const jx_idx_split *test) {
    if (!s->o->t.out) return 0;
    int64_t U = s->units, best[TOP_IMAGES], top1[NC];
    float *pix = malloc((size_t)NC * TOP_IMAGES * CNN_SIDE * CNN_SIDE * sizeof *pix);
    char *names = malloc((size_t)NC * 32), *rows[NC], path[4096];
    int rc = -1;
    if (!pix || !names) goto done;
    for (int c = 0; c < NC; c++) {
        top_units(s, c, 1, &top1[c]);
        for (int k = 0; k < TOP_IMAGES; k++) { /* the test images activating the unit most */
            best[k] = -1;
            for (int64_t i = 0; i < s->ntest; i++) {
                int taken = 0;
                for (int j = 0; j < k; j++) taken |= best[j] == i;
                if (!taken && (best[k] < 0 || s->act[i * U + top1[c]] > s->act[best[k] * U + top1[c]])) best[k] = i;
            }
        }
        jx_array *im = mnist_images(test->images, best, 0, TOP_IMAGES, JX_INTS(TOP_IMAGES, CNN_SIDE * CNN_SIDE));
        if (!im) goto done;
        memcpy(pix + (size_t)c * TOP_IMAGES * CNN_SIDE * CNN_SIDE, jx_array_data(im),
               (size_t)TOP_IMAGES * CNN_SIDE * CNN_SIDE * sizeof *pix);
        jx_array_release(im);
        rows[c] = names + 32 * c;
        snprintf(rows[c], 32, "%d: u%lld", c, (long long)top1[c]);
    }
    snprintf(path, sizeof path, "%s/top_units.png", s->o->t.out);
    if (jx_plot_images(path, "top-activating test images of each class's top unit", NC, TOP_IMAGES, CNN_SIDE, CNN_SIDE,
                       pix, NULL, NULL, (const char *const *)rows, 2) != JX_OK)
        goto done;
    printf("wrote %s\n", path);
    static const char *const cls[NC] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    snprintf(path, sizeof path, "%s/selectivity.png", s->o->t.out);
    char title[128];
    snprintf(title, sizeof title, "%s: class means per unit (scaled to the unit's max), units by preferred class",
             s->n.layer);
    if (unit_heatmap(path, title, s->mean, U, NC, cls) != 0) goto done;
    printf("wrote %s\n", path);
    rc = 0;
done:
    free(pix), free(names);
    return rc;
}

/* ------------------------------------------------------------------ setup */

static jx_tree *batch_avals(int64_t n, int64_t units, int with_onehot, const jx_aval *x) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set(b, "x", jx_tree_aval(x ? *x : JX_AVAL(JX_F32, n, CNN_SIDE, CNN_SIDE, 1)));
    if (units) jx_tree_set(b, "mask", jx_tree_aval(JX_AVAL(JX_F32, units)));
    if (with_onehot) jx_tree_set(b, "onehot", jx_tree_aval(JX_AVAL(JX_F32, n, NC)));
    return b;
}

/* Traces and jits the four functions. 0 or -1. */
static int compile(study *s) {
    int th = s->o->t.threads, np = jx_tree_num_leaves(s->params) + jx_tree_num_leaves(s->stats);
    /* the layer's activation shape, from a probe without a mask */
    jx_tree *b = batch_avals(B, 1, 0, NULL), *in[3] = {s->params, s->stats, b};
    jx_taps_capture(s->n.taps, s->n.layer);
    s->eval_tf = jx_tree_trace("probe", eval_body, &s->n, 3, in, 2);
    jx_tree_free(b);
    if (!s->eval_tf) return -1;
    jx_aval act = jx_tree_leaf_aval(jx_tree_get(jx_tree_fn_output(s->eval_tf, 1), s->n.layer));
    jx_tree_fn_free(s->eval_tf);
    s->act_rank = act.rank;
    memcpy(s->act_shape, act.shape, sizeof act.shape);
    s->units = act.shape[act.rank - 1];
    s->spatial = jx_aval_size(&act) / B / s->units;
    /* the eval function with the unit mask patched onto the tap */
    jx_taps_patch(s->n.taps, s->n.layer, apply_mask, &s->n);
    b = batch_avals(B, s->units, 0, NULL), in[2] = b;
    s->eval_tf = jx_tree_trace("eval", eval_body, &s->n, 3, in, 2);
    jx_tree_free(b);
    if (!s->eval_tf || jit(&s->eval, jx_fn_retain((jx_fn *)jx_tree_fn_fn(s->eval_tf)), np, th)) return -1;
    /* unit attribution: gradient x activation over the tail */
    b = batch_avals(B, 0, 1, &act), in[2] = b;
    jx_tree_fn *tail = jx_tree_trace("tail", tail_body, &s->n, 3, in, 1);
    jx_tree_free(b);
    if (!tail) return -1;
    int rc = jit(&s->unit_attr, jx_grad_times_input(jx_tree_fn_fn(tail), np), np, th);
    jx_tree_fn_free(tail);
    if (rc) return -1;
    /* pixels: IG and gradient x input of the class score */
    b = batch_avals(NC, 0, 1, NULL), in[2] = b;
    jx_tree_fn *score = jx_tree_trace("score", score_body, &s->n, 3, in, 1);
    jx_tree_free(b);
    if (!score) return -1;
    rc = jit(&s->ig, jx_integrated_gradients(jx_tree_fn_fn(score), np, (int)s->o->ig_steps), np, th) ||
         jit(&s->gxi, jx_grad_times_input(jx_tree_fn_fn(score), np), np, th);
    jx_tree_fn_free(score);
    return rc;
}

static int study_run(const void *opts, const jx_idx_split *train, const jx_idx_split *test) {
    (void)train;
    const options *o = opts;
    study s = {.o = o, .n = {cnn_seq(), NULL, o->layer, jx_taps_new(), JX_NONE}};
    int rc = -1, li = jx_seq_find(s.n.seq, o->layer);
    jx_array *key = jx_random_key_new((int64_t)o->t.seed);
    s.ntest = jx_array_shape(test->labels)[0];
    if (o->test_limit > 0 && o->test_limit < s.ntest) s.ntest = o->test_limit;
    s.ntest -= s.ntest % B;
    if (li < 0 || li == jx_seq_count(s.n.seq) - 1 || s.ntest < B) {
        fprintf(stderr, "neurons: --layer must name a layer before the last one (relu1 ... relu3), and --test-limit "
                        "be at least %d\n", B);
        goto done;
    }
    if (o->t.out && mkdir(o->t.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "neurons: cannot create %s: %s\n", o->t.out, strerror(errno));
        goto done;
    }
    s.n.tail = jx_seq_slice(s.n.seq, li + 1, jx_seq_count(s.n.seq));
    s.labels = malloc((size_t)s.ntest * sizeof *s.labels);
    if (!key || !s.n.tail || !s.labels || !s.n.taps || cnn_init(s.n.seq, key, &s.params, &s.stats) != 0 ||
        cnn_load(o->ckpt, &s.params, &s.stats) != 0)
        goto done;
    for (int64_t i = 0; i < s.ntest; i++) {
        s.labels[i] = (int32_t)jx_array_get(test->labels, i);
        s.count[s.labels[i]]++;
    }
    double t0 = clock_now();
    if (compile(&s) != 0) goto done;
    printf("compiled in %.1f s; layer %s: activation (%lld units", clock_now() - t0, o->layer, (long long)s.units);
    if (s.spatial > 1) printf(" x %lld positions", (long long)s.spatial);
    printf(")\n");
    if (unit_statistics(&s, test) != 0) goto done;
    report_units(&s);
    if (ablation(&s, test) != 0 || pixels(&s, test) != 0 || pictures(&s, test) != 0) goto done;
    rc = 0;
done:
    if (rc && jx_errcode()) fprintf(stderr, "neurons: %s\n", jx_errmsg());
    jitted_free(&s.eval), jitted_free(&s.unit_attr), jitted_free(&s.ig), jitted_free(&s.gxi);
    jx_tree_fn_free(s.eval_tf);
    jx_tree_free(s.params), jx_tree_free(s.stats);
    jx_seq_free(s.n.seq), jx_seq_free(s.n.tail);
    jx_taps_free(s.n.taps);
    jx_array_release(key);
    free(s.labels), free(s.act), free(s.mean), free(s.attr);
    return rc;
}

int main(int argc, char **argv) {
    options o = {.t = {.data = "/usr/share/datasets/fashion-mnist", .epochs = 1, .batch = B, .lr = 1,
                       .device = JX_DEVICE_CPU, .checkpoints = 1},
                 .ckpt = NULL, .layer = "relu3", .test_limit = 2000, .topk = 3, .ig_steps = 32, .categories = "person",
                 .size = 64};
    const char *mnist_default = o.t.data;
    trainer_extra extra[] = {
        {"--ckpt", "FILE", "the mnist_cnn checkpoint to study (required)", TRAINER_STRING, 0, 0, &o.ckpt},
        {"--layer", "NAME", "the layer to tap: relu1, relu2, relu3 (default), pool1, pool2, ...", TRAINER_STRING, 0, 0,
         &o.layer},
        {"--test-limit", "N", "the first N test images (default 2000; rounded down to 50s)", TRAINER_LONG, 50, 1L << 40,
         &o.test_limit},
        {"--topk", "K", "units ablated per class (default 3)", TRAINER_LONG, 1, 64, &o.topk},
        {"--ig-steps", "M", "integrated-gradients interpolation points (default 32)", TRAINER_LONG, 1, 4096,
         &o.ig_steps},
        {"--unet", "FILE", "instead: the bottleneck units of a coco_seg checkpoint (--data: COCO)", TRAINER_STRING, 0,
         0, &o.unet},
        {"--categories", "LIST", "with --unet: the checkpoint's categories (default person)", TRAINER_STRING, 0, 0,
         &o.categories},
        {"--size", "N", "with --unet: the input side, a multiple of 8 (default 64)", TRAINER_LONG, 8, 4096, &o.size},
    };
    int r = trainer_parse("neurons",
                          "Which units of a trained mnist_cnn drive each class (statistics, selectivity,\n"
                          "attribution, ablation) and which pixels (gradient x input, integrated gradients).",
                          argc, argv, &o.t, extra, 8);
    if (r) return r == 1 ? 0 : 2;
    if (o.t.resume) {
        fprintf(stderr, "neurons: --resume does not apply (it studies --ckpt FILE)\n");
        return 2;
    }
    if (o.unet) {
        if (o.size % 8) return fprintf(stderr, "neurons: --size %ld is not a multiple of 8\n", o.size), 2;
        if (o.t.out && mkdir(o.t.out, 0777) != 0 && errno != EEXIST)
            return fprintf(stderr, "neurons: cannot create %s: %s\n", o.t.out, strerror(errno)), 1;
        unet_units_opts u = {o.unet, o.t.data == mnist_default ? "../shared/data/coco-tiny" : o.t.data, o.categories,
                             o.size, o.topk, o.t.out, o.t.threads};
        return unet_units(&u) ? 1 : 0;
    }
    if (!o.ckpt) {
        fprintf(stderr, "neurons: --ckpt FILE is required (an mnist_cnn checkpoint: mnist_cnn --out DIR)\n");
        return 2;
    }
    return mnist_main("neurons", o.t.data, study_run, &o);
}
