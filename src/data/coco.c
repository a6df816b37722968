/* coco.c: a loaded instances file: pointers from the parser's pools, the indexes by id,
 * the checks of what refers to what, and the accessors. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static _Thread_local const int64_t *tl_keys;
static int cmp_by_key(const void *a, const void *b) {
    int64_t x = tl_keys[*(const uint32_t *)a], y = tl_keys[*(const uint32_t *)b];
    return x > y ? 1 : x < y ? -1 : 0;
}

/* Indices 0..n-1 sorted by key (key of i at keys[i * stride] is copied out first). */
static uint32_t *sorted_index(const void *base, size_t n, size_t stride, int64_t **keys_out) {
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    int64_t *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!idx || !keys) return free(idx), free(keys), NULL;
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i, keys[i] = *(const int64_t *)((const char *)base + i * stride);
    tl_keys = keys;
    qsort(idx, n, sizeof *idx, cmp_by_key);
    *keys_out = keys;
    return idx;
}

/* The position in the sorted index of id, or -1. */
static ptrdiff_t find(const uint32_t *idx, const void *base, size_t n, size_t stride, int64_t id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t k = *(const int64_t *)((const char *)base + idx[mid] * stride);
        if (k < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && *(const int64_t *)((const char *)base + idx[lo] * stride) == id ? (ptrdiff_t)idx[lo] : -1;
}

static jx_status unique_ids(const char *name, const char *what, const uint32_t *idx, const int64_t *keys, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (keys[idx[i]] == keys[idx[i - 1]]) {
            uint32_t a = idx[i] < idx[i - 1] ? idx[i] : idx[i - 1], b = idx[i] ^ idx[i - 1] ^ a;
            return jx__data_fail(JX_ERR_PARSE, "%s: %s[%u].id: id %lld is also %s[%u]'s", name, what, b,
                                 (long long)keys[b], what, a);
        }
    return JX_OK;
}

static jx_status check_rle(const jx_coco *c, const jx_coco_ann *a, size_t i, const char *name) {
    const jx_coco_image *im = &c->images[a->image];
    if (a->rle.h != (uint32_t)im->height || a->rle.w != (uint32_t)im->width)
        return jx__data_fail(JX_ERR_PARSE, "%s: annotations[%zu].segmentation.size: [%u, %u] differs from image %lld's [%d, %d]",
                             name, i, a->rle.h, a->rle.w, (long long)im->id, im->height, im->width);
    uint64_t sum = 0;
    for (size_t j = 0; j < a->rle.m; j++) sum += a->rle.counts[j];
    if (sum != (uint64_t)a->rle.h * a->rle.w)
        return jx__data_fail(JX_ERR_PARSE, "%s: annotations[%zu].segmentation.counts: the runs cover %llu pixels, not %u x %u = %llu",
                             name, i, (unsigned long long)sum, a->rle.h, a->rle.w, (unsigned long long)a->rle.h * a->rle.w);
    return JX_OK;
}

jx_status jx__coco_finish(jx_coco *c, jx__ann_off *offs, const size_t *img_name, const size_t *cat_name,
                          const size_t *cat_super, const char *name) {
    for (size_t i = 0; i < c->n_images; i++) c->images[i].file_name = c->strings + img_name[i];
    for (size_t i = 0; i < c->n_cats; i++) {
        c->cats[i].name = c->strings + cat_name[i];
        c->cats[i].supercategory = cat_super[i] == (size_t)-1 ? "" : c->strings + cat_super[i];
    }
    for (size_t i = 0; i < c->n_anns; i++) {
        jx_coco_ann *a = &c->anns[i];
        /* pools stay NULL when nothing went into them */
        a->poly_len = c->poly_len ? c->poly_len + offs[i].poly : NULL;
        a->coords = c->coords ? c->coords + offs[i].coord : NULL;
        a->rle.counts = c->counts ? c->counts + offs[i].count : NULL;
    }
    free(offs);
    int64_t *ikeys = NULL, *ckeys = NULL;
    c->image_by_id = sorted_index(c->images, c->n_images, sizeof *c->images, &ikeys);
    c->cat_by_id = c->image_by_id ? sorted_index(c->cats, c->n_cats, sizeof *c->cats, &ckeys) : NULL;
    c->ann_start = calloc(c->n_images + 1, sizeof *c->ann_start);
    c->ann_list = malloc((c->n_anns ? c->n_anns : 1) * sizeof *c->ann_list);
    jx_status st = JX_OK;
    if (!c->image_by_id || !c->cat_by_id || !c->ann_start || !c->ann_list) st = jx__data_nomem(name);
    if (!st) st = unique_ids(name, "images", c->image_by_id, ikeys, c->n_images);
    if (!st) st = unique_ids(name, "categories", c->cat_by_id, ckeys, c->n_cats);
    free(ikeys), free(ckeys);
    for (size_t i = 0; !st && i < c->n_anns; i++) {
        jx_coco_ann *a = &c->anns[i];
        ptrdiff_t im = find(c->image_by_id, c->images, c->n_images, sizeof *c->images, a->image_id);
        ptrdiff_t cat = find(c->cat_by_id, c->cats, c->n_cats, sizeof *c->cats, a->category_id);
        if (im < 0)
            st = jx__data_fail(JX_ERR_PARSE, "%s: annotations[%zu].image_id: image %lld does not exist", name, i,
                               (long long)a->image_id);
        else if (cat < 0)
            st = jx__data_fail(JX_ERR_PARSE, "%s: annotations[%zu].category_id: category %lld does not exist", name, i,
                               (long long)a->category_id);
        else {
            a->image = (uint32_t)im, a->category = (uint32_t)cat;
            c->ann_start[im + 1]++;
            if (a->kind == JX_COCO_SEG_RLE || a->kind == JX_COCO_SEG_RLE_STRING) st = check_rle(c, a, i, name);
        }
    }
    if (st) return st;
    /* duplicate annotation ids */
    int64_t *akeys = NULL;
    uint32_t *aidx = sorted_index(c->anns, c->n_anns, sizeof *c->anns, &akeys);
    if (!aidx) return jx__data_nomem(name);
    st = unique_ids(name, "annotations", aidx, akeys, c->n_anns);
    free(aidx), free(akeys);
    if (st) return st;
    /* annotations per image, in file order (a counting sort) */
    for (size_t i = 0; i < c->n_images; i++) c->ann_start[i + 1] += c->ann_start[i];
    uint32_t *fill = malloc((c->n_images ? c->n_images : 1) * sizeof *fill);
    if (!fill) return jx__data_nomem(name);
    memcpy(fill, c->ann_start, c->n_images * sizeof *fill);
    for (size_t i = 0; i < c->n_anns; i++) c->ann_list[fill[c->anns[i].image]++] = (uint32_t)i;
    free(fill);
    return JX_OK;
}

void jx_coco_free(jx_coco *c) {
    if (!c) return;
    free(c->images), free(c->cats), free(c->anns), free(c->strings), free(c->coords), free(c->poly_len);
    free(c->counts), free(c->image_by_id), free(c->cat_by_id), free(c->ann_start), free(c->ann_list);
    free(c);
}

const jx_coco_image *jx_coco_images(const jx_coco *c, size_t *n) { return *n = c->n_images, c->images; }
const jx_coco_category *jx_coco_categories(const jx_coco *c, size_t *n) { return *n = c->n_cats, c->cats; }
const jx_coco_ann *jx_coco_anns(const jx_coco *c, size_t *n) { return *n = c->n_anns, c->anns; }

const uint32_t *jx_coco_image_anns(const jx_coco *c, size_t i, size_t *n) {
    if (i >= c->n_images) return *n = 0, NULL;
    *n = c->ann_start[i + 1] - c->ann_start[i];
    return c->ann_list + c->ann_start[i];
}

ptrdiff_t jx_coco_find_image(const jx_coco *c, int64_t id) {
    return find(c->image_by_id, c->images, c->n_images, sizeof *c->images, id);
}
ptrdiff_t jx_coco_find_category(const jx_coco *c, int64_t id) {
    return find(c->cat_by_id, c->cats, c->n_cats, sizeof *c->cats, id);
}
ptrdiff_t jx_coco_find_category_name(const jx_coco *c, const char *name) {
    for (size_t i = 0; i < c->n_cats; i++)
        if (!strcmp(c->cats[i].name, name)) return (ptrdiff_t)i;
    return -1;
}
