/* unet_units.c: the COCO U-Net's bottleneck units, class by class (unet_units.h). The
 * network is jx/unet.h's default (width 16, depth 3) loaded from a coco_seg checkpoint
 * with jx_checkpoint_load_matching; the bottleneck block "enc3" is tapped (jx/taps.h,
 * jx_nn_unet_apply_tapped) in one jitted function. */
#define _POSIX_C_SOURCE 200809L
#include "unet_units.h"

#include <jx/coco.h>
#include <jx/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/unit_stats.h"

enum { MAX_CLASSES = 81, BATCH = 8 };

typedef struct study {
    const unet_units_opts *o;
    jx_nn_unet_config cfg;
    jx_taps *taps;
    char bottleneck[16];
    int nc;
    const char *names[MAX_CLASSES];
} study;

/* in: params, stats, {x}. out: {<bottleneck>: activation (N, S/2^d, S/2^d, units)}. */
static void body(jx_tree **out, jx_tree *const *in, void *user) {
    study *s = user;
    jx_nn_unet_apply_tapped(&s->cfg, in[0], in[1], jx_tree_get_val(in[2], "x"), NULL, s->taps);
    out[0] = jx_taps_take(s->taps);
}

/* Loads what fits of the checkpoint's params and batch_stats into *t[0..2). 0 or -1. */
static int load(const char *path, jx_tree **t) {
    static const char *const names[2] = {"params", "batch_stats"};
    for (int i = 0; i < 2; i++) {
        jx_tree *r = NULL;
        jx_load_report rep;
        if (jx_checkpoint_load_matching(path, names[i], t[i], 0, NULL, &r, &rep) != JX_OK) return -1;
        int bad = rep.nmissing || rep.nmisshaped;
        if (bad) jx_load_report_print(stderr, &rep);
        jx_load_report_free(&rep);
        jx_tree_free(t[i]);
        t[i] = r;
        if (bad) return jx_error_at(JX_HERE, JX_ERR_ARG, "neurons", "%s: not a U-Net of these categories", path), -1;
    }
    return 0;
}

/* label_of for the val split from the comma-separated categories. 0 or -1. */
static int classes(study *s, const jx_coco *coco, uint8_t *label_of) {
    char *copy = strdup(s->o->categories), *save = NULL;
    size_t ncat;
    const jx_coco_category *cat = jx_coco_categories(coco, &ncat);
    s->names[0] = "background", s->nc = 1;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
        ptrdiff_t i = jx_coco_find_category_name(coco, tok);
        if (i < 0 || s->nc == MAX_CLASSES) {
            fprintf(stderr, "neurons: --categories: no category '%s' in val2017\n", tok);
            free(copy);
            return -1;
        }
        label_of[i] = (uint8_t)s->nc;
        s->names[s->nc++] = cat[i].name;
    }
    free(copy);
    return s->nc > 1 ? 0 : -1;
}

/* Adds the batch's cells into sum (units x nc) and cnt (nc): each cell of the g x g grid
 * takes the majority class of its labelled pixels (none: skipped). */
static void accumulate(const study *s, const jx_coco_batch *b, const float *act, int64_t g, int64_t U, double *sum,
                       int64_t *cnt) {
    int64_t S = s->o->size, f = S / g;
    for (int32_t i = 0; i < b->n; i++)
        for (int64_t y = 0; y < g; y++)
            for (int64_t x = 0; x < g; x++) {
                int64_t votes[MAX_CLASSES] = {0};
                for (int64_t dy = 0; dy < f; dy++)
                    for (int64_t dx = 0; dx < f; dx++) {
                        uint8_t l = b->labels[(size_t)((i * S + y * f + dy) * S + x * f + dx)];
                        if (l < s->nc) votes[l]++;
                    }
                int c = 0;
                for (int k = 1; k < s->nc; k++)
                    if (votes[k] > votes[c]) c = k;
                if (!votes[c]) continue;
                const float *a = act + ((i * g + y) * g + x) * U;
                for (int64_t u = 0; u < U; u++) sum[u * s->nc + c] += a[u];
                cnt[c]++;
            }
}

static void report(const study *s, const double *mean, int64_t U, const int64_t *cnt, int64_t g) {
    int nc = s->nc, ndead = 0;
    double si = 0;
    for (int64_t u = 0; u < U; u++) ndead += unit_dead(mean + u * nc, nc), si += unit_selectivity(mean + u * nc, nc, NULL);
    printf("bottleneck %s: %lld units, %lldx%lld cells per image; cells per class:", s->bottleneck, (long long)U,
           (long long)g, (long long)g);
    for (int c = 0; c < nc; c++) printf(" %s %lld", s->names[c], (long long)cnt[c]);
    printf("\n%d units never active, mean class-selectivity index of the active ones %.3f\n", ndead,
           ndead < U ? si / (double)(U - ndead) : 0);
    printf("top units per class by class mean - mean of the other classes (unit: class mean, selectivity):\n");
    for (int c = 0; c < nc; c++) {
        int64_t top[64];
        int k = (int)(s->o->topk < 64 ? s->o->topk : 64);
        for (int i = 0; i < k; i++) {
            double best = -1e300;
            top[i] = -1;
            for (int64_t u = 0; u < U; u++) {
                int taken = 0;
                for (int j = 0; j < i; j++) taken |= top[j] == u;
                double rest = 0;
                for (int q = 0; q < nc; q++) rest += q == c ? 0 : mean[u * nc + q] / (nc - 1);
                if (!taken && mean[u * nc + c] - rest > best) best = mean[u * nc + c] - rest, top[i] = u;
            }
        }
        printf("%-12s", s->names[c]);
        for (int i = 0; i < k; i++)
            printf("  u%-3lld (%.3f, %.2f)", (long long)top[i], mean[top[i] * nc + c],
                   unit_selectivity(mean + top[i] * nc, nc, NULL));
        printf("\n");
    }
}

int unet_units(const unet_units_opts *o) {
    study s = {.o = o, .taps = jx_taps_new()};
    jx_coco *coco = NULL;
    jx_coco_loader *l = NULL;
    jx_tree *t[2] = {NULL, NULL};
    jx_tree_fn *fn = NULL;
    jx_exec *exec = NULL;
    uint8_t *label_of = NULL;
    double *sum = NULL;
    int64_t cnt[MAX_CLASSES] = {0}, U = 0, g = 0;
    int rc = -1;
    char json[4096], dir[4096];
    snprintf(json, sizeof json, "%s/annotations/instances_val2017.json", o->data);
    snprintf(dir, sizeof dir, "%s/val2017", o->data);
    size_t ncat, nimg;
    if (!s.taps || jx_coco_load(json, &coco) != JX_OK) goto fail;
    jx_coco_categories(coco, &ncat);
    if (!(label_of = calloc(ncat + 1, 1)) || classes(&s, coco, label_of) != 0) goto done;
    s.cfg = jx_nn_unet_default(3, s.nc);
    snprintf(s.bottleneck, sizeof s.bottleneck, "enc%d", s.cfg.depth);
    jx_array *key = jx_random_key_new(0);
    jx_status st = key ? jx_nn_unet_init(&s.cfg, key, &t[0], &t[1]) : JX_ERR_NOMEM;
    jx_array_release(key);
    if (st != JX_OK || load(o->ckpt, t) != 0 || jx_taps_capture(s.taps, s.bottleneck) != JX_OK) goto fail;
    jx_coco_images(coco, &nimg);
    jx_coco_loader_opts lo = {.coco = coco, .image_dir = dir, .n_images = nimg, .batch = BATCH,
                              .height = (int32_t)o->size, .width = (int32_t)o->size, .label_of = label_of,
                              .threads = 2, .prefetch = 2};
    if (jx_coco_loader_new(&lo, &l) != JX_OK || jx_coco_loader_epoch(l, 0) != JX_OK) goto fail;
    for (int32_t n_prev = -1;;) {
        jx_coco_batch b;
        if (jx_coco_loader_next(l, &b) != JX_OK) goto fail;
        if (b.n == 0) break;
        if (b.n != n_prev) { /* jitted per batch size (the last batch may be smaller) */
            jx_exec_release(exec), jx_tree_fn_free(fn), exec = NULL;
            jx_tree *x = jx_tree_dict();
            jx_tree_set(x, "x", jx_tree_aval(JX_AVAL(JX_F32, b.n, o->size, o->size, 3)));
            jx_tree *in[3] = {t[0], t[1], x};
            fn = jx_tree_trace("unet_bottleneck", body, &s, 3, in, 1);
            jx_tree_free(x);
            jx_jit_opts jo = {o->threads, {NULL, 0}, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT};
            if (!fn || !(exec = jx_jit(jx_tree_fn_fn(fn), JX_DEVICE_CPU, &jo))) goto fail;
            n_prev = b.n;
        }
        jx_tree *x = jx_tree_dict(), *out = NULL;
        jx_tree_set_array(x, "x", jx_array_new(JX_F32, JX_INTS(b.n, o->size, o->size, 3), b.images));
        jx_tree *in[3] = {t[0], t[1], x};
        st = jx_tree_fn_run(fn, exec, 3, in, 1, &out);
        jx_tree_free(x);
        if (st != JX_OK) goto fail;
        const jx_array *act = jx_tree_get_array(out, s.bottleneck);
        g = jx_array_shape(act)[1], U = jx_array_shape(act)[3];
        if (!sum && !(sum = calloc((size_t)(U * s.nc), sizeof *sum))) {
            jx_tree_free(out);
            goto done;
        }
        accumulate(&s, &b, jx_array_data(act), g, U, sum, cnt);
        jx_tree_free(out);
    }
    if (!sum) goto done;
    /* the means of the classes that some cell has (a class with none would read as a
     * mean of 0 and make every unit look selective) */
    int kept = 0;
    for (int c = 0; c < s.nc; c++) {
        if (!cnt[c]) {
            printf("%s: no bottleneck cell is mostly %s at %ldx%ld; left out\n", o->ckpt, s.names[c], o->size, o->size);
            continue;
        }
        for (int64_t u = 0; u < U; u++) sum[u * s.nc + kept] = sum[u * s.nc + c] / (double)cnt[c];
        s.names[kept] = s.names[c], cnt[kept++] = cnt[c];
    }
    for (int64_t u = 1; u < U; u++) memmove(sum + u * kept, sum + u * s.nc, (size_t)kept * sizeof *sum);
    s.nc = kept;
    if (kept < 2) {
        fprintf(stderr, "neurons: fewer than two classes have bottleneck cells; nothing to compare\n");
        goto done;
    }
    printf("%s: %zu val images at %ldx%ld\n", o->ckpt, nimg, o->size, o->size);
    report(&s, sum, U, cnt, g);
    if (o->out) {
        char path[4200], title[160];
        snprintf(path, sizeof path, "%s/unet_selectivity.png", o->out);
        snprintf(title, sizeof title, "U-Net bottleneck %s: class means per unit (scaled to the unit's max)",
                 s.bottleneck);
        if (unit_heatmap(path, title, sum, U, s.nc, s.names) != 0) goto fail;
        printf("wrote %s\n", path);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "neurons: %s\n", jx_errmsg());
done:
    jx_exec_release(exec), jx_tree_fn_free(fn);
    jx_coco_loader_free(l);
    jx_tree_free(t[0]), jx_tree_free(t[1]);
    jx_taps_free(s.taps);
    free(label_of), free(sum);
    jx_coco_free(coco);
    return rc;
}
