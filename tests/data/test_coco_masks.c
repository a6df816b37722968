/* test_coco_masks.c: masks against pycocotools for every annotation of coco-tiny (train
 * and val): the RLE string of annToRLE, its area, a hash of annToMask's pixels, and encode
 * of the decoded mask; and every image's semantic mask (hash and pixels per value). The
 * expected data comes from gen_coco_expected.py beside this file. Skipped (77) without
 * ../shared/data/coco-tiny. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/coco.h>

#include "harness.h"

static char tiny[512];

static uint64_t fnv1a64(const uint8_t *b, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

static const jx_coco_ann *find_ann(const jx_coco *c, int64_t id) {
    size_t n;
    const jx_coco_ann *a = jx_coco_anns(c, &n);
    for (size_t i = 0; i < n; i++)
        if (a[i].id == id) return &a[i];
    return NULL;
}

/* Checks one split against data/coco_tiny_<split>.expected; returns annotations checked. */
static int check_split(const char *split) {
    char path[700], line[1 << 16];
    snprintf(path, sizeof path, "%s/annotations/instances_%s.json", tiny, split);
    jx_coco *c;
    CU_ASSERT_EQUAL_FATAL(jx_coco_load(path, &c), JX_OK);
    snprintf(path, sizeof path, "data/coco_tiny_%s.expected", split);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int anns = 0, imgs = 0, bad = 0;
    size_t n_img;
    const jx_coco_image *images = jx_coco_images(c, &n_img);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        long long id;
        unsigned long long area, hash;
        int off;
        if (sscanf(line, "ann %lld %llu %llx %n", &id, &area, &hash, &off) == 3) {
            const jx_coco_ann *a = find_ann(c, id);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            const jx_coco_image *im = &images[a->image];
            jx_rle r, back;
            CU_ASSERT_EQUAL_FATAL(jx_coco_ann_rle(c, a, &r), JX_OK);
            char *s = jx_rle_to_string(&r);
            uint8_t *m = malloc((size_t)im->height * im->width);
            CU_ASSERT_EQUAL(jx_coco_ann_mask(c, a, m), JX_OK);
            CU_ASSERT_EQUAL(jx_rle_encode(m, r.h, r.w, &back), JX_OK);
            int ok = !strcmp(s, line + off) && jx_rle_area(&r) == area &&
                     fnv1a64(m, (size_t)im->height * im->width) == hash && back.m == r.m &&
                     !memcmp(back.counts, r.counts, r.m * sizeof *r.counts);
            if (!ok && bad++ < 5) fprintf(stderr, "\n  annotation %lld: got %s, pycocotools %s\n", id, s, line + off);
            CU_ASSERT(ok);
            free(s), free(m), jx_rle_free(&r), jx_rle_free(&back);
            anns++;
        } else {
            int h, w;
            CU_ASSERT_EQUAL_FATAL(sscanf(line, "img %lld %d %d %llx %n", &id, &h, &w, &hash, &off), 4);
            ptrdiff_t i = jx_coco_find_image(c, id);
            CU_ASSERT_FATAL(i >= 0);
            CU_ASSERT(images[i].height == h && images[i].width == w);
            uint8_t *m = malloc((size_t)h * w);
            CU_ASSERT_EQUAL(jx_coco_semantic_mask(c, (size_t)i, NULL, m), JX_OK);
            size_t hist[256] = {0}, want[256] = {0};
            for (size_t p = 0; p < (size_t)h * w; p++) hist[m[p]]++;
            for (char *q = line + off; *q;) {
                int v, k;
                size_t cnt;
                CU_ASSERT_FATAL(sscanf(q, "%d:%zu%n", &v, &cnt, &k) == 2);
                want[v] = cnt, q += k;
                while (*q == ' ') q++;
            }
            int ok = fnv1a64(m, (size_t)h * w) == hash && !memcmp(hist, want, sizeof hist);
            if (!ok && bad++ < 5) fprintf(stderr, "\n  semantic mask of image %lld differs\n", id);
            CU_ASSERT(ok);
            free(m);
            imgs++;
        }
    }
    fclose(f);
    CU_ASSERT_EQUAL(imgs, (int)n_img);
    jx_coco_free(c);
    return anns;
}

static void test_tiny_train(void) { CU_ASSERT_EQUAL(check_split("train2017"), 705); }
static void test_tiny_val(void) { CU_ASSERT_EQUAL(check_split("val2017"), 815); }

int main(void) {
    if (!jt_coco_tiny(tiny, sizeof tiny)) return 77;
    CU_TestInfo tests[] = {{"coco-tiny train vs pycocotools", test_tiny_train},
                           {"coco-tiny val vs pycocotools", test_tiny_val},
                           CU_TEST_INFO_NULL};
    return jt_run("coco masks", tests);
}
