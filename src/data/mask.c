/* mask.c: an annotation's mask as pycocotools' annToRLE/annToMask make it, and the
 * semantic mask of an image (one label per pixel) with the overlap rule of jx/coco.h. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

jx_status jx_coco_ann_rle(const jx_coco *c, const jx_coco_ann *a, jx_rle *out) {
    memset(out, 0, sizeof *out);
    const jx_coco_image *im = &c->images[a->image];
    uint32_t h = (uint32_t)im->height, w = (uint32_t)im->width;
    if (a->kind == JX_COCO_SEG_RLE || a->kind == JX_COCO_SEG_RLE_STRING) return jx_rle_merge(&a->rle, 1, 0, out);
    if (a->kind != JX_COCO_SEG_POLYGONS)
        return jx__data_fail(JX_ERR_ARG, "coco_ann_rle: annotation %lld has no segmentation", (long long)a->id);
    if (a->n_polys == 0) { /* an empty list: an empty mask (pycocotools raises an error) */
        uint32_t all = h * w;
        jx_rle empty = {h, w, 1, &all};
        return jx_rle_merge(&empty, 1, 0, out);
    }
    jx_rle *parts = calloc(a->n_polys, sizeof *parts);
    if (!parts) return jx__data_nomem("coco_ann_rle");
    jx_status st = JX_OK;
    const double *xy = a->coords;
    for (uint32_t i = 0; i < a->n_polys && !st; xy += a->poly_len[i++])
        st = jx_rle_from_polygon(xy, a->poly_len[i] / 2, h, w, &parts[i]);
    if (!st) st = jx_rle_merge(parts, a->n_polys, 0, out);
    for (uint32_t i = 0; i < a->n_polys; i++) jx_rle_free(&parts[i]);
    free(parts);
    return st;
}

jx_status jx_coco_ann_mask(const jx_coco *c, const jx_coco_ann *a, uint8_t *mask) {
    jx_rle r;
    jx_status st = jx_coco_ann_rle(c, a, &r);
    if (!st) st = jx_rle_decode(&r, mask);
    jx_rle_free(&r);
    return st;
}

/* Sets the pixels of the runs of ones to value (out is h x w row-major). */
static void paint(const jx_rle *r, uint8_t *out, uint8_t value) {
    size_t pos = 0, hw = (size_t)r->h * r->w;
    for (size_t j = 0; j < r->m; pos += r->counts[j++]) {
        if (!(j & 1)) continue;
        for (size_t p = pos, e = pos + r->counts[j]; p < e && p < hw; p++)
            out[(p % r->h) * r->w + p / r->h] = value;
    }
}

typedef struct order {
    double area;
    int64_t id;
    uint32_t ann;
} order;

static int by_area_desc(const void *x, const void *y) {
    const order *a = x, *b = y;
    if (a->area != b->area) return a->area < b->area ? 1 : -1;
    return a->id > b->id ? 1 : a->id < b->id ? -1 : 0;
}

jx_status jx_coco_semantic_mask(const jx_coco *c, size_t i, const uint8_t *label_of, uint8_t *out) {
    if (i >= c->n_images)
        return jx__data_fail(JX_ERR_ARG, "coco_semantic_mask: image index %zu, the file has %zu images", i, c->n_images);
    const jx_coco_image *im = &c->images[i];
    memset(out, 0, (size_t)im->height * im->width);
    size_t n;
    const uint32_t *list = jx_coco_image_anns(c, i, &n);
    order *ord = malloc((n ? n : 1) * sizeof *ord);
    if (!ord) return jx__data_nomem("coco_semantic_mask");
    size_t k = 0;
    jx_status st = JX_OK;
    /* crowds first as ignore, then instances from the largest to the smallest */
    for (size_t j = 0; j < n && !st; j++) {
        const jx_coco_ann *a = &c->anns[list[j]];
        if (a->kind == JX_COCO_SEG_NONE) continue;
        int label = label_of ? label_of[a->category] : (int)a->category_id;
        if (!label_of && (a->category_id < 1 || a->category_id > 254))
            st = jx__data_fail(JX_ERR_ARG, "coco_semantic_mask: category id %lld of annotation %lld does not fit a "
                                           "pixel (1..254): pass label_of", (long long)a->category_id, (long long)a->id);
        else if (!a->iscrowd) ord[k++] = (order){a->area, a->id, list[j]};
        else if (label) {
            jx_rle r;
            st = jx_coco_ann_rle(c, a, &r);
            if (!st) paint(&r, out, 255);
            jx_rle_free(&r);
        }
    }
    qsort(ord, k, sizeof *ord, by_area_desc);
    for (size_t j = 0; j < k && !st; j++) {
        const jx_coco_ann *a = &c->anns[ord[j].ann];
        jx_rle r;
        st = jx_coco_ann_rle(c, a, &r);
        if (!st) paint(&r, out, label_of ? label_of[a->category] : (uint8_t)a->category_id);
        jx_rle_free(&r);
    }
    free(ord);
    return st;
}
