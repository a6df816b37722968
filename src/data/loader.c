/* loader.c: batches of COCO images and label masks, decoded and augmented by worker threads
 * into a ring of prefetched batches. Which image lands where, and how it is transformed,
 * depends only on (seed, epoch, position in the epoch), never on which thread did it, so
 * the bytes are the same for any thread count. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "ring.h"

typedef struct slot {
    float *images;
    uint8_t *labels;
    int32_t *labels_i32;
    int64_t *ids;
    int32_t n; /* samples in this batch */
} slot;

struct jx_coco_loader {
    jx_coco_loader_opts o;
    uint32_t *images; /* the images of the loader, before shuffling */
    uint32_t *order;  /* this epoch's order */
    size_t n, n_batches;
    uint32_t epoch;
    slot *slots;
    int n_slots, started;
    jx__ring *ring; /* batches as items, their samples as parts */
    uint8_t label_of[1]; /* flexible: one per category */
};

static void slot_free(slot *s) { free(s->images), free(s->labels), free(s->labels_i32), free(s->ids); }

/* The ring's start of batch b in slot i: its sample count. */
static int batch_parts(void *ctx, size_t b, int i) {
    jx_coco_loader *l = ctx;
    size_t left = l->n - b * (size_t)l->o.batch;
    return l->slots[i].n = (int32_t)(left < (size_t)l->o.batch ? left : (size_t)l->o.batch);
}

/* The ring's part: decodes and transforms sample k of batch b into slot si. */
static jx_status do_sample(void *ctx, size_t b, int k, int si) {
    jx_coco_loader *l = ctx;
    const jx_coco_loader_opts *o = &l->o;
    slot *s = &l->slots[si];
    size_t pos = b * (size_t)o->batch + (size_t)k;
    uint32_t idx = l->order[pos];
    size_t n_img;
    const jx_coco_image *im = &jx_coco_images(o->coco, &n_img)[idx];
    size_t hw = (size_t)o->height * o->width;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->image_dir, im->file_name);
    jx_image img;
    uint8_t *mask = NULL;
    jx_status st = jx_image_read_jpeg(path, &img);
    if (!st && (img.height != im->height || img.width != im->width))
        st = jx__data_fail(JX_ERR_IO, "%s: the image is %dx%d but the annotations say %dx%d", path, img.width, img.height,
                           im->width, im->height);
    if (!st && !(mask = malloc((size_t)im->height * im->width))) st = jx__data_nomem(path);
    if (!st) st = jx_coco_semantic_mask(o->coco, idx, o->label_of, mask);
    if (!st) {
        jx_augment t = jx_augment_draw(im->height, im->width, o->height, o->width, o->augment, o->scale_min, o->scale_max,
                                       o->flip, o->seed, (uint64_t)l->epoch << 32 | pos);
        uint8_t *lab = s->labels + (size_t)k * hw;
        jx_augment_apply(&t, img.data, mask, im->height, im->width, o->height, o->width, o->mean, o->std,
                         s->images + (size_t)k * hw * 3, lab);
        for (size_t i = 0; i < hw; i++) s->labels_i32[(size_t)k * hw + i] = lab[i];
    }
    s->ids[k] = im->id;
    free(mask);
    jx_image_free(&img);
    return st;
}

static jx_status bad(const char *what) { return jx__data_fail(JX_ERR_ARG, "coco_loader_new: %s", what); }

jx_status jx_coco_loader_new(const jx_coco_loader_opts *opts, jx_coco_loader **out) {
    *out = NULL;
    const jx_coco_loader_opts *o = opts;
    if (!o->coco || !o->image_dir) return bad("opts.coco and opts.image_dir are needed");
    if (o->batch < 1 || o->height < 1 || o->width < 1) return bad("opts.batch, height and width must be >= 1");
    if (o->threads < 0 || o->threads > 256 || o->prefetch < 0 || o->prefetch > 64)
        return bad("opts.threads must be 0..256 and opts.prefetch 0..64");
    if (o->scale_min < 0 || o->scale_max < o->scale_min) return bad("opts.scale_min <= opts.scale_max, both >= 0");
    size_t n_img, n_cat;
    jx_coco_images(o->coco, &n_img);
    jx_coco_categories(o->coco, &n_cat);
    for (size_t i = 0; o->images && i < o->n_images; i++)
        if (o->images[i] >= n_img) return bad("opts.images holds an index past the last image");
    jx_coco_loader *l = calloc(1, sizeof *l + n_cat);
    if (!l) return jx__data_nomem("coco_loader_new");
    l->o = *o;
    if (l->o.scale_min == 0 && l->o.scale_max == 0) l->o.scale_min = 0.75, l->o.scale_max = 1.5;
    if (l->o.prefetch == 0) l->o.prefetch = 2;
    if (!l->o.mean[0] && !l->o.mean[1] && !l->o.mean[2] && !l->o.std[0] && !l->o.std[1] && !l->o.std[2]) {
        const float m[3] = {0.485f, 0.456f, 0.406f}, s[3] = {0.229f, 0.224f, 0.225f};
        memcpy(l->o.mean, m, sizeof m), memcpy(l->o.std, s, sizeof s);
    }
    l->o.label_of = o->label_of ? l->label_of : NULL;
    if (o->label_of) memcpy(l->label_of, o->label_of, n_cat);
    l->n = o->images ? o->n_images : n_img;
    l->n_batches = o->drop_last ? l->n / (size_t)o->batch : (l->n + (size_t)o->batch - 1) / (size_t)o->batch;
    l->images = malloc((l->n ? l->n : 1) * sizeof *l->images);
    l->order = malloc((l->n ? l->n : 1) * sizeof *l->order);
    l->n_slots = l->o.prefetch + 1; /* one more for the batch the caller holds */
    l->slots = calloc((size_t)l->n_slots, sizeof *l->slots);
    int ok = l->images && l->order && l->slots;
    size_t hw = (size_t)o->height * o->width, b = (size_t)o->batch;
    for (int i = 0; ok && i < l->n_slots; i++) {
        slot *s = &l->slots[i];
        s->images = malloc(b * hw * 3 * sizeof *s->images), s->labels = malloc(b * hw);
        s->labels_i32 = malloc(b * hw * sizeof *s->labels_i32), s->ids = malloc(b * sizeof *s->ids);
        ok = s->images && s->labels && s->labels_i32 && s->ids;
    }
    if (!ok) return jx_coco_loader_free(l), jx__data_nomem("coco_loader_new");
    for (size_t i = 0; i < l->n; i++) l->images[i] = o->images ? o->images[i] : (uint32_t)i;
    if (!(l->ring = jx__ring_new("coco_loader", l->n_slots, o->threads, (jx__ring_ops){batch_parts, do_sample}, l)))
        return jx_coco_loader_free(l), jx_errcode();
    *out = l;
    return JX_OK;
}

size_t jx_coco_loader_batches(const jx_coco_loader *l) { return l->n_batches; }

jx_status jx_coco_loader_epoch(jx_coco_loader *l, uint32_t epoch) {
    jx__ring_pause(l->ring); /* no worker reads the order while it changes */
    l->epoch = epoch;
    memcpy(l->order, l->images, l->n * sizeof *l->order);
    /* Fisher-Yates with draws from the stream (epoch, 2^32 - 1), apart from the samples' */
    for (size_t i = l->n; l->o.shuffle && i > 1; i--) {
        uint64_t r = jx_rng_bits(l->o.seed, (uint64_t)epoch << 32 | 0xFFFFFFFFu, (uint32_t)i);
        size_t j = (size_t)(r % i);
        uint32_t t = l->order[i - 1];
        l->order[i - 1] = l->order[j], l->order[j] = t;
    }
    l->started = 1;
    jx__ring_start(l->ring, 0, l->n_batches);
    return JX_OK;
}

jx_status jx_coco_loader_next(jx_coco_loader *l, jx_coco_batch *out) {
    memset(out, 0, sizeof *out);
    if (!l->started) return jx__data_fail(JX_ERR_ARG, "coco_loader_next: call jx_coco_loader_epoch first");
    size_t b;
    int i, r = jx__ring_next(l->ring, &b, &i);
    if (r <= 0) return r ? jx_errcode() : JX_OK;
    slot *s = &l->slots[i];
    *out = (jx_coco_batch){s->n, s->images, s->labels, s->labels_i32, s->ids};
    return JX_OK;
}

void jx_coco_loader_free(jx_coco_loader *l) {
    if (!l) return;
    jx__ring_free(l->ring);
    for (int i = 0; l->slots && i < l->n_slots; i++) slot_free(&l->slots[i]);
    free(l->slots), free(l->images), free(l->order), free(l);
}
