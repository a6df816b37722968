/* test_coco_reader.c: the instances JSON reader on small files written here: what it reads
 * (images, categories, polygons, both RLE forms, crowd, box, area, lookups) and each error,
 * by its exact message with the JSON path. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/coco.h>

#include "harness.h"

#define HEAD "{\"info\": {\"x\": [1, {\"y\": null}]}, \"images\": [{\"id\": 7, \"width\": 4, \"height\": 3, " \
             "\"file_name\": \"a.jpg\", \"license\": 2}, {\"id\": 9, \"width\": 2, \"height\": 2, \"file_name\": \"b.jpg\"}], " \
             "\"categories\": [{\"id\": 1, \"name\": \"person\", \"supercategory\": \"person\"}, {\"id\": 3, \"name\": \"car\"}], "

static jx_status load(const char *json, jx_coco **c) { return jx_coco_load_buffer("t.json", json, strlen(json), c); }

static void test_reads(void) {
    const char *js = HEAD "\"annotations\": ["
                          "{\"id\": 5, \"image_id\": 7, \"category_id\": 3, \"iscrowd\": 0, \"area\": 2.5, "
                          "\"bbox\": [0.5, 1, 2, 1.25], \"segmentation\": [[0, 0, 2, 0, 2, 2], [3, 0, 4, 0, 4, 1, 3, 1]]},"
                          "{\"segmentation\": {\"size\": [3, 4], \"counts\": [1, 2, 9]}, \"id\": 6, \"image_id\": 7, "
                          "\"category_id\": 1, \"iscrowd\": 1},"
                          "{\"id\": 8, \"image_id\": 9, \"category_id\": 1, \"segmentation\": {\"counts\": \"112\", \"size\": [2, 2]}}]}";
    jx_coco *c;
    jx_status st = load(js, &c);
    if (st) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_FATAL(st == JX_OK && c);
    size_t ni, nc, na, n;
    const jx_coco_image *im = jx_coco_images(c, &ni);
    const jx_coco_category *cat = jx_coco_categories(c, &nc);
    const jx_coco_ann *a = jx_coco_anns(c, &na);
    CU_ASSERT(ni == 2 && nc == 2 && na == 3);
    CU_ASSERT(im[0].id == 7 && im[0].width == 4 && im[0].height == 3 && !strcmp(im[0].file_name, "a.jpg"));
    CU_ASSERT(!strcmp(cat[1].name, "car") && !strcmp(cat[1].supercategory, "") && !strcmp(cat[0].supercategory, "person"));
    CU_ASSERT(a[0].kind == JX_COCO_SEG_POLYGONS && a[0].n_polys == 2 && a[0].poly_len[0] == 6 && a[0].poly_len[1] == 8);
    CU_ASSERT(a[0].coords[6] == 3 && a[0].coords[13] == 1 && a[0].area == 2.5 && a[0].bbox[3] == 1.25);
    CU_ASSERT(a[0].image == 0 && a[0].category == 1 && a[0].category_id == 3);
    CU_ASSERT(a[1].kind == JX_COCO_SEG_RLE && a[1].iscrowd && a[1].rle.m == 3 && a[1].rle.counts[2] == 9 && a[1].rle.h == 3);
    CU_ASSERT(a[2].kind == JX_COCO_SEG_RLE_STRING && a[2].rle.m == 3 && a[2].rle.counts[0] == 1 && a[2].rle.counts[2] == 2);
    CU_ASSERT(jx_coco_find_image(c, 9) == 1 && jx_coco_find_image(c, 8) == -1);
    CU_ASSERT(jx_coco_find_category(c, 3) == 1 && jx_coco_find_category_name(c, "person") == 0);
    const uint32_t *l = jx_coco_image_anns(c, 0, &n);
    CU_ASSERT(n == 2 && l[0] == 0 && l[1] == 1);
    /* semantic mask of image 7: crowd (255) under the car polygons (3) */
    uint8_t m[12];
    CU_ASSERT_EQUAL(jx_coco_semantic_mask(c, 0, NULL, m), JX_OK);
    uint8_t want[12] = {3, 3, 0, 3, 255, 255, 0, 0, 0, 0, 0, 0};
    jx_rle r;
    uint8_t poly[12], crowd[12];
    CU_ASSERT_EQUAL(jx_coco_ann_mask(c, &a[0], poly), JX_OK);
    CU_ASSERT_EQUAL(jx_coco_ann_mask(c, &a[1], crowd), JX_OK);
    for (int i = 0; i < 12; i++) want[i] = poly[i] ? 3 : crowd[i] ? 255 : 0;
    CU_ASSERT(!memcmp(m, want, 12));
    CU_ASSERT(crowd[4] == 1 && crowd[0] == 0); /* column-major runs: 1 zero, then (1,0),(2,0) */
    uint8_t lab[2] = {0, 7};
    CU_ASSERT_EQUAL(jx_coco_semantic_mask(c, 0, lab, m), JX_OK);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(m[i], poly[i] ? 7 : 0); /* crowd of label 0 is background */
    CU_ASSERT_EQUAL(jx_coco_ann_rle(c, &a[2], &r), JX_OK);
    CU_ASSERT_EQUAL(jx_rle_area(&r), 1);
    jx_rle_free(&r);
    jx_coco_free(c);
    /* nothing but empty lists: every pool stays empty */
    CU_ASSERT_EQUAL_FATAL(load("{\"images\": [], \"annotations\": [], \"other\": [[{}]]}", &c), JX_OK);
    jx_coco_images(c, &ni);
    CU_ASSERT(ni == 0 && jx_coco_find_image(c, 1) == -1);
    jx_coco_free(c);
    CU_ASSERT_EQUAL_FATAL(load(HEAD "\"annotations\": [{\"id\": 1, \"image_id\": 9, \"category_id\": 1}]}", &c), JX_OK);
    a = jx_coco_anns(c, &na);
    CU_ASSERT(na == 1 && a[0].kind == JX_COCO_SEG_NONE && a[0].poly_len == NULL && a[0].rle.counts == NULL);
    CU_ASSERT_EQUAL(jx_coco_ann_rle(c, &a[0], &r), JX_ERR_ARG);
    JT_ASSERT_ERR("coco_ann_rle: annotation 1 has no segmentation");
    jx_coco_free(c);
}

/* Loads json and asserts it fails with a message containing want. */
static void fails(int line, const char *json, const char *want) {
    jx_coco *c = (jx_coco *)1;
    jx_status st = load(json, &c);
    if (st == JX_OK || !strstr(jx_errmsg(), want))
        fprintf(stderr, "\n  line %d: status %d, error '%s', wanted '%s'\n", line, st, jx_errmsg(), want);
    CU_ASSERT(st != JX_OK && c == NULL && strstr(jx_errmsg(), want));
}
#define FAILS(json, want) fails(__LINE__, json, want)
#define ANN(fields) HEAD "\"annotations\": [{\"id\": 1, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0,0,1,0,1,1]]}, " fields "]}"

static void test_errors(void) {
    FAILS("", "t.json: the file is empty");
    FAILS("{\"images\": [}", "t.json: line 1, column 13: malformed JSON (unallowed token at this point in JSON text) in images[0]");
    FAILS("{\"images\": [\n  {\"id\": 1,\n   \"width\" 3}]}", "t.json: line 3, column 12: malformed JSON");
    FAILS("{\"images\": [{\"id\": 1", "t.json: line 1, column 21: malformed JSON (premature EOF) in images[0].id");
    FAILS("[1, 2]", "t.json: (top): expected an object, found an array");
    FAILS("{\"images\": {}}", "t.json: images: expected an array, found an object");
    FAILS("{\"images\": [3]}", "t.json: images[0]: expected an object, found a number");
    FAILS("{\"images\": [{\"id\": 1, \"width\": 3, \"file_name\": \"x\"}]}", "t.json: images[0]: missing \"height\"");
    FAILS("{\"images\": [{\"id\": \"1\"}]}", "t.json: images[0].id: expected a number, found a string");
    FAILS("{\"images\": [{\"id\": 1.5}]}", "t.json: images[0].id: expected an integer, found 1.5");
    FAILS("{\"images\": [{\"id\": 1e30}]}", "t.json: images[0].id: expected an integer, found 1e30");
    FAILS("{\"images\": [{\"id\": 1, \"width\": 0}]}", "t.json: images[0].width: 0 is outside 1..1048576");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0, 0, 1, 0, 1]]}"),
          "t.json: annotations[1].segmentation[0]: a polygon has an odd number of coordinates (5)");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0, 0, 1, 0], [1, 2, \"a\"]]}"),
          "t.json: annotations[1].segmentation[1][2]: expected a number, found a string");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0, 0, 1, 1], []]}"),
          "t.json: annotations[1].segmentation[1]: an empty polygon");
    FAILS(ANN("{\"id\": 2, \"image_id\": 8, \"category_id\": 1}"), "t.json: annotations[1].image_id: image 8 does not exist");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 2}"), "t.json: annotations[1].category_id: category 2 does not exist");
    FAILS(ANN("{\"id\": 1, \"image_id\": 7, \"category_id\": 1}"), "t.json: annotations[1].id: id 1 is also annotations[0]'s");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7}"), "t.json: annotations[1]: missing \"category_id\"");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"bbox\": [1, 2, 3, 4, 5]}"),
          "t.json: annotations[1].bbox: a box has 4 numbers (x, y, width, height), found more");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"iscrowd\": 2}"), "t.json: annotations[1].iscrowd: 2 is outside 0..1");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": 3}"),
          "t.json: annotations[1].segmentation: expected a list of polygons or an RLE object, found a number");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": {\"size\": [3, 4]}}"),
          "t.json: annotations[1].segmentation: missing \"counts\"");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": {\"size\": [3, 4], \"counts\": [1, 2]}}"),
          "t.json: annotations[1].segmentation.counts: the runs cover 3 pixels, not 3 x 4 = 12");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": {\"size\": [4, 3], \"counts\": [12]}}"),
          "t.json: annotations[1].segmentation.size: [4, 3] differs from image 7's [3, 4]");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": {\"size\": [3, 4], \"counts\": \"0x\"}}"),
          "t.json: annotations[1].segmentation.counts: character 1 is 'x', outside '0'..'o'");
    FAILS(ANN("{\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"segmentation\": [[0, 0, 1e7, 0, 1, 1]]}"),
          "t.json: annotations[1].segmentation[0][2]: coordinate 1e7 is not a number within +-1e6");
    FAILS(HEAD "\"categories\": [{\"id\": 3, \"name\": \"x\"}]}", "t.json: categories[2].id: id 3 is also categories[1]'s");
    jx_coco *c;
    CU_ASSERT_EQUAL(jx_coco_load("/nonexistent/x.json", &c), JX_ERR_IO);
    JT_ASSERT_ERR("/nonexistent/x.json: No such file or directory");
}

int main(void) {
    CU_TestInfo tests[] = {{"reads every field", test_reads}, {"errors name the file and JSON path", test_errors}, CU_TEST_INFO_NULL};
    return jt_run("coco reader", tests);
}
