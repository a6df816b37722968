/* coco_seg.c: semantic segmentation of COCO with a U-Net written with jx's layers
 * (jx/unet.h: width 16, depth 3, batch norm, transposed-convolution upsampling). The
 * classes are background plus the categories of --categories (default person; `all` for
 * COCO's 80); crowd regions are ignored (label 255) by the loss and the metrics. Loss:
 * softmax cross-entropy plus soft dice; Adam with a cosine decay to lr/100 over the run.
 * Images come from jx's COCO loader (decoded and augmented on worker threads: random
 * scale 0.75-1.5, crop, flip; order and augmentation follow the seed and the epoch only, so
 * a run resumed from a checkpoint continues bit for bit). After each epoch: the val split's
 * mIoU at the training size; under --out (default runs/coco_seg; none: nothing saved) a
 * checkpoint, the metrics CSV, loss and mIoU curves and a panel (image / ground truth / prediction) of the first val images.
 * --eval CHECKPOINT scores a checkpoint on val at the images' own resolution (predictions
 * resized back with the nearest rule): per-class IoU, mean IoU, pixel accuracy.
 * --finetune CHECKPOINT adapts a U-Net trained for other categories to --categories: it
 * loads what fits (jx/surgery.h's load with report), replaces the last layer (the 1x1
 * classifier) by a fresh one for the new class count and, with --freeze-encoder 1,
 * trains only the decoder and the head.
 * Model and loss: coco_seg/seg_model.c; scoring, logs, panel: coco_seg/seg_report.c. */
#define _POSIX_C_SOURCE 200809L
#include <jx/coco.h>
#include <jx/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coco_seg/seg_model.h"
#include "coco_seg/seg_report.h"
#include "common/train_log.h"
#include "common/trainer_opts.h"

#define PROG "coco_seg"
enum { MAX_CLASSES = 81, PANEL_IMAGES = 4 };

typedef struct options {
    trainer_opts t;
    long size;
    const char *categories, *eval, *finetune;
    long freeze_encoder;
} options;

/* One split: its annotations, image folder, and the label of each category index. */
typedef struct split {
    char json[4096], dir[4096];
    jx_coco *coco;
    uint8_t *label_of;
} split;

typedef struct run {
    const options *o;
    split train, val;
    int nclasses;                        /* background + the chosen categories */
    const char *names[MAX_CLASSES];      /* borrowed from train.coco */
    seg_model model;
} run;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ data */

/* Loads <data>/annotations/instances_<name>.json. 0, or -1 after a message. */
static int load_split(split *s, const char *data, const char *name) {
    snprintf(s->json, sizeof s->json, "%s/annotations/instances_%s.json", data, name);
    snprintf(s->dir, sizeof s->dir, "%s/%s", data, name);
    if (jx_coco_load(s->json, &s->coco) != JX_OK) return fprintf(stderr, PROG ": %s\n", jx_errmsg()), -1;
    size_t nc;
    jx_coco_categories(s->coco, &nc);
    if (!(s->label_of = calloc(nc + 1, 1))) return fprintf(stderr, PROG ": out of memory\n"), -1;
    return 0;
}

/* Class c of the run is names[c]; fills both splits' label_of. "all": every category of
 * the training file in its order; else a comma-separated list of names. 0 or -1. */
static int choose_classes(run *r, const char *list) {
    size_t nc;
    const jx_coco_category *cat = jx_coco_categories(r->train.coco, &nc);
    r->names[0] = "background", r->nclasses = 1;
    char *copy = strdup(list), *save = NULL;
    if (!copy) return fprintf(stderr, PROG ": out of memory\n"), -1;
    int all = !strcmp(list, "all"), rc = 0;
    for (size_t i = 0; all && i < nc && r->nclasses < MAX_CLASSES; i++) r->names[r->nclasses++] = cat[i].name;
    for (char *tok = all ? NULL : strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        ptrdiff_t i = jx_coco_find_category_name(r->train.coco, tok);
        if (i < 0) {
            fprintf(stderr, PROG ": --categories: no category '%s' in %s\n", tok, r->train.json), rc = -1;
        } else if (r->train.label_of[i]) {
            fprintf(stderr, PROG ": --categories: '%s' is named twice\n", tok), rc = -1;
        } else if (r->nclasses == MAX_CLASSES) {
            fprintf(stderr, PROG ": --categories: more than %d categories\n", MAX_CLASSES - 1), rc = -1;
        } else {
            r->train.label_of[i] = (uint8_t)r->nclasses;
            r->names[r->nclasses++] = cat[i].name;
        }
    }
    if (!rc && r->nclasses == 1) fprintf(stderr, PROG ": --categories names no category\n"), rc = -1;
    for (int c = 1; c < r->nclasses && !rc; c++) {
        ptrdiff_t ti = jx_coco_find_category_name(r->train.coco, r->names[c]);
        ptrdiff_t vi = jx_coco_find_category_name(r->val.coco, r->names[c]);
        if (all) r->train.label_of[ti] = (uint8_t)c;
        if (vi < 0) fprintf(stderr, PROG ": category '%s' is not in %s\n", r->names[c], r->val.json), rc = -1;
        else r->val.label_of[vi] = (uint8_t)c;
    }
    free(copy);
    return rc;
}

static jx_coco_loader *make_loader(const run *r, const split *s, int train) {
    const options *o = r->o;
    size_t n;
    jx_coco_images(s->coco, &n);
    uint32_t *idx = NULL;
    size_t lim = train && o->t.limit > 0 && (size_t)o->t.limit < n ? (size_t)o->t.limit : n;
    if (lim < n && (idx = malloc(lim * sizeof *idx)))
        for (size_t i = 0; i < lim; i++) idx[i] = (uint32_t)i;
    jx_coco_loader_opts lo = {.coco = s->coco, .image_dir = s->dir, .images = idx, .n_images = lim,
                              .batch = o->t.batch, .height = (int32_t)o->size, .width = (int32_t)o->size,
                              .label_of = s->label_of, .augment = train, .flip = train, .shuffle = train,
                              .seed = o->t.seed, .threads = 2, .prefetch = 2};
    jx_coco_loader *l = NULL;
    if ((lim < n && !idx) || jx_coco_loader_new(&lo, &l) != JX_OK) fprintf(stderr, PROG ": %s\n", jx_errmsg());
    free(idx);
    return l;
}

/* ------------------------------------------------------------------ val and eval */

/* Scores the val split into m at the training size (orig = 0) or at each image's own size
 * (orig = 1); with panel set, draws the first images' predictions there. 0 or -1. */
static int score_val(run *r, jx_coco_loader *l, jx_metrics *m, int orig, const char *panel) {
    int32_t s = (int32_t)r->o->size;
    size_t px = (size_t)s * (size_t)s;
    int32_t *pred = malloc(px * (size_t)r->o->t.batch * sizeof *pred);
    uint8_t *gt = NULL;
    jx_coco_batch b;
    int rc = -1, drawn = 0;
    jx_metrics_reset(m);
    if (!pred || jx_coco_loader_epoch(l, 0) != JX_OK) goto done;
    for (;;) {
        if (jx_coco_loader_next(l, &b) != JX_OK) goto done;
        if (b.n == 0) break;
        if (seg_model_predict(&r->model, &b, pred) != 0) goto done;
        for (int32_t i = 0; i < b.n; i++) {
            if (orig) {
                size_t k = (size_t)jx_coco_find_image(r->val.coco, b.ids[i]), nimg;
                const jx_coco_image *im = jx_coco_images(r->val.coco, &nimg) + k;
                uint8_t *g = realloc(gt, (size_t)im->height * (size_t)im->width);
                if (!g) goto done;
                gt = g;
                if (jx_coco_semantic_mask(r->val.coco, k, r->val.label_of, gt) != JX_OK ||
                    seg_score(m, pred + i * px, s, s, gt, im->height, im->width) != 0)
                    goto done;
            } else if (seg_score(m, pred + i * px, s, s, b.labels + i * px, s, s) != 0) {
                goto done;
            }
        }
        if (panel && !drawn) {
            drawn = 1;
            if (seg_panel(panel, b.n < PANEL_IMAGES ? b.n : PANEL_IMAGES, s, b.images, b.labels_i32, pred) != 0) goto done;
        }
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, PROG ": %s\n", jx_errmsg());
    free(pred), free(gt);
    return rc;
}

static int evaluate(run *r) {
    int epoch = 0;
    if (seg_model_load(&r->model, r->o->eval, &epoch) != 0) return fprintf(stderr, PROG ": %s\n", jx_errmsg()), -1;
    jx_coco_loader *l = make_loader(r, &r->val, 0);
    jx_metrics m;
    if (!l || jx_metrics_init(&m, r->nclasses, 255) != JX_OK) return jx_coco_loader_free(l), -1;
    size_t n;
    jx_coco_images(r->val.coco, &n);
    printf("%s: epoch %d, %zu val images at their own resolution\n", r->o->eval, epoch, n);
    int rc = score_val(r, l, &m, 1, NULL);
    char csv[4200];
    if (r->o->t.out) snprintf(csv, sizeof csv, "%s/" PROG "_eval.csv", r->o->t.out);
    else snprintf(csv, sizeof csv, "%s.eval.csv", r->o->eval);
    if (!rc) rc = seg_table(PROG, &m, r->names, csv);
    jx_metrics_free(&m);
    jx_coco_loader_free(l);
    return rc;
}

/* ------------------------------------------------------------------ training */

static int train(run *r) {
    const options *o = r->o;
    int first_epoch = 1, rc = -1, tty = isatty(fileno(stdout));
    jx_coco_loader *tl = make_loader(r, &r->train, 1), *vl = make_loader(r, &r->val, 0);
    jx_metrics tm, vm;
    int have_m = 0;
    seg_log log = {0};
    int32_t *pred = malloc((size_t)o->size * (size_t)o->size * (size_t)o->t.batch * sizeof *pred);
    char path[4200];
    if (!tl || !vl || !pred) goto done;
    if (jx_metrics_init(&tm, r->nclasses, 255) != JX_OK) goto fail;
    if (jx_metrics_init(&vm, r->nclasses, 255) != JX_OK) {
        jx_metrics_free(&tm);
        goto fail;
    }
    have_m = 1;
    if (o->t.resume) {
        int e;
        if (seg_model_load(&r->model, o->t.resume, &e) != 0) goto fail;
        first_epoch = e + 1;
        printf("resumed from %s: epoch %d, step %lld\n", o->t.resume, e, (long long)r->model.step);
        snprintf(path, sizeof path, "%s/" PROG "_metrics.csv", o->t.out ? o->t.out : ".");
        if (o->t.out && seg_log_read(&log, path, first_epoch) < 0) goto done;
    }
    size_t nb = jx_coco_loader_batches(tl), ntrain = 0, nval;
    jx_coco_images(r->val.coco, &nval);
    printf("%s: %zu training batches of %d, %zu val images, %dx%d, %d classes, unet width %lld depth %d, "
           "%lld parameters, adam, learning rate %g (cosine)\n",
           o->t.data, nb, o->t.batch, nval, (int)o->size, (int)o->size, r->nclasses, (long long)r->model.setup.unet.width,
           r->model.setup.unet.depth, (long long)jx_tree_num_params(r->model.state[0]), o->t.lr);
    double t0 = now();
    size_t nimg;
    jx_coco_images(r->train.coco, &nimg);
    if (o->t.limit > 0 && (size_t)o->t.limit < nimg) nimg = (size_t)o->t.limit;
    if (seg_model_prepare(&r->model, nimg < (size_t)o->t.batch ? (int32_t)nimg : o->t.batch) != 0) goto fail;
    trainer_report_compile(now() - t0, o->t.device);
    for (int epoch = first_epoch; epoch <= o->t.epochs; epoch++) {
        double te = now(), loss_sum = 0;
        jx_metrics_reset(&tm);
        ntrain = 0;
        if (jx_coco_loader_epoch(tl, (uint32_t)epoch) != JX_OK) goto fail;
        for (int64_t bi = 1;; bi++) {
            jx_coco_batch b;
            double loss;
            if (jx_coco_loader_next(tl, &b) != JX_OK) goto fail;
            if (b.n == 0) break;
            if (seg_model_step(&r->model, &b, &loss, pred) != 0) goto fail;
            if (train_check_loss(PROG, loss, r->model.step, epoch, bi, tty) != 0) goto done;
            size_t px = (size_t)o->size * (size_t)o->size;
            for (int32_t i = 0; i < b.n; i++)
                if (seg_score(&tm, pred + i * px, (int32_t)o->size, (int32_t)o->size, b.labels + i * px, (int32_t)o->size,
                              (int32_t)o->size) != 0)
                    goto fail;
            loss_sum += loss * b.n, ntrain += (size_t)b.n;
            train_progress(tty, epoch, (int64_t)ntrain, (int64_t)(nb * (size_t)o->t.batch), loss_sum / (double)ntrain,
                           now() - te);
        }
        double secs = now() - te, loss = loss_sum / (double)ntrain;
        snprintf(path, sizeof path, "%s/" PROG "_panel_epoch%d.png", o->t.out ? o->t.out : ".", epoch);
        if (score_val(r, vl, &vm, 0, o->t.out ? path : NULL) != 0) goto done;
        double tmiou = 100 * jx_metrics_mean_iou(&tm), vmiou = 100 * jx_metrics_mean_iou(&vm);
        printf("%sepoch %d: %.1f s (%.1f images/s), train loss %.4f, train mIoU %.2f%%, val mIoU %.2f%%\n",
               tty ? "\r\033[K" : "", epoch, secs, (double)ntrain / secs, loss, tmiou, vmiou);
        fflush(stdout);
        if (seg_log_add(&log, epoch, loss, tmiou, vmiou) != 0) goto fail;
        if (o->t.out) {
            snprintf(path, sizeof path, "%s/" PROG "_epoch%d.safetensors", o->t.out, epoch);
            if (seg_model_save(&r->model, path, epoch) != 0) goto fail;
            if (seg_log_write(&log, o->t.out, PROG) != 0) goto done;
            printf("saved %s, " PROG "_{metrics.csv,loss.png,miou.png,panel_epoch%d.png}\n", path, epoch);
        }
    }
    if (o->t.epochs >= first_epoch) {
        printf("\nper-class IoU on val at %dx%d after epoch %d:\n", (int)o->size, (int)o->size, o->t.epochs);
        if (seg_table(PROG, &vm, r->names, NULL) != 0) goto done;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, PROG ": %s\n", jx_errmsg());
done:
    if (have_m) jx_metrics_free(&tm), jx_metrics_free(&vm);
    seg_log_free(&log);
    jx_coco_loader_free(tl), jx_coco_loader_free(vl);
    free(pred);
    return rc;
}

/* ------------------------------------------------------------------ main */

static int parse_args(int argc, char **argv, options *o) {
    *o = (options){.t = {.data = "../shared/data/coco-tiny", .epochs = 10, .batch = 8, .lr = 3e-3,
                         .device = JX_DEVICE_CPU, .checkpoints = 1, .out = TRAINER_OUT(PROG),
                         .data_help = "a COCO folder: annotations/, train2017/, val2017/"},
                   .size = 128, .categories = "person"};
    trainer_extra extra[] = {
        {"--size", "N", "input side in pixels, a multiple of 8 (default 128)", TRAINER_LONG, 8, 4096, &o->size},
        {"--categories", "LIST", "comma-separated category names (default person), or all for the 80",
         TRAINER_STRING, 0, 0, &o->categories},
        {"--eval", "FILE", "score a checkpoint on val at the images' resolution, then exit", TRAINER_STRING,
         0, 0, &o->eval},
        {"--finetune", "FILE", "start from a checkpoint trained for other categories, its head replaced",
         TRAINER_STRING, 0, 0, &o->finetune},
        {"--freeze-encoder", "0|1", "with --finetune: train the decoder and head only (default 0)", TRAINER_LONG, 0, 1,
         &o->freeze_encoder},
    };
    int r = trainer_parse(PROG,
                          "Trains a U-Net (jx/unet.h) for semantic segmentation on COCO (train2017, scored on\n"
                          "val2017) with cross-entropy + dice and Adam, jitted by jx.",
                          argc, argv, &o->t, extra, 5);
    if (!r && o->size % 8) fprintf(stderr, PROG ": --size %ld is not a multiple of 8 (the U-Net pools 3 times)\n", o->size), r = 2;
    if (!r && o->finetune && (o->t.resume || o->eval))
        fprintf(stderr, PROG ": --finetune starts a run: it goes with neither --resume nor --eval\n"), r = 2;
    if (!r && o->freeze_encoder && !o->finetune) fprintf(stderr, PROG ": --freeze-encoder needs --finetune\n"), r = 2;
    return r;
}

int main(int argc, char **argv) {
    options o;
    int r = parse_args(argc, argv, &o);
    if (r) return r == 1 ? 0 : 2;
    run rn = {.o = &o};
    int rc = 1;
    if (load_split(&rn.train, o.t.data, "train2017") || load_split(&rn.val, o.t.data, "val2017") ||
        choose_classes(&rn, o.categories))
        goto done;
    seg_setup s = {jx_nn_unet_default(3, rn.nclasses), (int32_t)o.size, o.t.lr, 0, o.t.threads, o.t.device, o.t.seed};
    size_t ntrain;
    jx_coco_images(rn.train.coco, &ntrain);
    if (o.t.limit > 0 && (size_t)o.t.limit < ntrain) ntrain = (size_t)o.t.limit;
    s.total_steps = (int64_t)o.t.epochs * (int64_t)((ntrain + (size_t)o.t.batch - 1) / (size_t)o.t.batch);
    if (seg_model_init(&rn.model, &s) != 0 ||
        (o.finetune && seg_model_finetune(&rn.model, o.finetune, (int)o.freeze_encoder) != 0)) {
        fprintf(stderr, PROG ": %s\n", jx_errmsg());
        goto done;
    }
    rc = (o.eval ? evaluate(&rn) : train(&rn)) ? 1 : 0;
done:
    seg_model_free(&rn.model);
    jx_coco_free(rn.train.coco), jx_coco_free(rn.val.coco);
    free(rn.train.label_of), free(rn.val.label_of);
    return rc;
}
