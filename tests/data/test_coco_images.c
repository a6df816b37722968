/* test_coco_images.c: JPEG decoding (real coco-tiny images, truncated and missing files),
 * PNG round trips, resizing by hand-computed values, Threefry's known answers, the
 * augmentation transform, and the loader: the same bytes for 0 and 2 worker threads, and
 * its errors naming the file. The coco-tiny parts are skipped without it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jx/coco.h>

#include "../../src/data/data.h"
#include "harness.h"

static char tiny[512], tmpdir[256];
static int have_tiny;

static const char *tpath(const char *name) {
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void test_threefry(void) {
    /* Random123's and JAX's known answers for 20 rounds */
    uint32_t k0[2] = {0, 0}, x0[2] = {0, 0};
    jx__threefry2x32(k0, x0);
    CU_ASSERT(x0[0] == 0x6b200159u && x0[1] == 0x99ba4efeu);
    uint32_t k1[2] = {0x13198a2eu, 0x03707344u}, x1[2] = {0x243f6a88u, 0x85a308d3u};
    jx__threefry2x32(k1, x1);
    CU_ASSERT(x1[0] == 0xc4923a9cu && x1[1] == 0x483df7a0u);
    CU_ASSERT_EQUAL(jx_rng_bits(1, 2, 3), jx_rng_bits(1, 2, 3));
    CU_ASSERT_NOT_EQUAL(jx_rng_bits(1, 2, 3), jx_rng_bits(1, 2, 4));
    CU_ASSERT_NOT_EQUAL(jx_rng_bits(1, 2, 3), jx_rng_bits(1, 3, 3));
}

static void test_resize(void) {
    const uint8_t row[2] = {0, 100};
    uint8_t up[4], col[4], near[2];
    jx_resize_bilinear(row, 1, 2, 1, up, 1, 4); /* half-pixel centres: 0, 25, 75, 100 */
    CU_ASSERT(up[0] == 0 && up[1] == 25 && up[2] == 75 && up[3] == 100);
    jx_resize_bilinear(row, 2, 1, 1, col, 4, 1);
    CU_ASSERT(col[0] == 0 && col[1] == 25 && col[2] == 75 && col[3] == 100);
    const uint8_t four[4] = {1, 2, 3, 4};
    jx_resize_nearest(four, 1, 4, 1, near, 1, 2);
    CU_ASSERT(near[0] == 2 && near[1] == 4);
    /* the transform without augmentation is the same bilinear and nearest resize */
    enum { SH = 13, SW = 17, OH = 8, OW = 6 };
    uint8_t img[SH * SW * 3], mask[SH * SW], want[OH * OW * 3], want_m[OH * OW], got_m[OH * OW];
    for (int i = 0; i < SH * SW * 3; i++) img[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < SH * SW; i++) mask[i] = (uint8_t)(i % 7);
    float got[OH * OW * 3];
    const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    jx_augment t = jx_augment_draw(SH, SW, OH, OW, 0, 1, 1, 0, 0, 0);
    jx_augment_apply(&t, img, mask, SH, SW, OH, OW, mean, std, got, got_m);
    jx_resize_bilinear(img, SH, SW, 3, want, OH, OW);
    jx_resize_nearest(mask, SH, SW, 1, want_m, OH, OW);
    double err = 0;
    for (int i = 0; i < OH * OW * 3; i++) err = fmax(err, fabs(got[i] * 255 - want[i]));
    CU_ASSERT(err <= 0.5 + 1e-3);
    CU_ASSERT(!memcmp(got_m, want_m, sizeof got_m));
    /* flipped: the mirror image; scaled down to half: padding of 255 around a centred image */
    jx_augment f = t;
    f.flip = 1;
    float fl[OH * OW * 3];
    uint8_t fl_m[OH * OW];
    jx_augment_apply(&f, img, mask, SH, SW, OH, OW, mean, std, fl, fl_m);
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) CU_ASSERT_EQUAL(fl_m[y * OW + x], got_m[y * OW + OW - 1 - x]);
    jx_augment half = jx_augment_draw(SH, SW, OH, OW, 1, 0.5, 0.5, 0, 7, 7);
    CU_ASSERT(half.off_y == -2 && half.off_x == -1.5 && half.scale_y == 0.5 * OH / SH);
    jx_augment_apply(&half, img, mask, SH, SW, OH, OW, mean, std, fl, fl_m);
    CU_ASSERT(fl_m[0] == 255 && fl[0] == 0 && fl_m[4 * OW + 3] != 255);
}

static void test_png(void) {
    uint8_t px[5 * 7 * 3];
    for (int i = 0; i < 5 * 7 * 3; i++) px[i] = (uint8_t)(i * 11);
    for (int c = 1; c <= 3; c += 2) {
        CU_ASSERT_EQUAL_FATAL(jx_image_write_png(tpath("a.png"), px, 5, 7, c), JX_OK);
        jx_image im;
        CU_ASSERT_EQUAL_FATAL(jx_image_read_png(tpath("a.png"), &im), JX_OK);
        CU_ASSERT(im.height == 5 && im.width == 7 && im.channels == c && !memcmp(im.data, px, (size_t)35 * c));
        jx_image_free(&im);
    }
    CU_ASSERT_EQUAL(access(tpath("a.png.tmp"), F_OK), -1);
    CU_ASSERT_EQUAL(jx_image_write_png("/nonexistent/dir/a.png", px, 5, 7, 1), JX_ERR_IO);
    JT_ASSERT_ERR("/nonexistent/dir/a.png: No such file or directory");
    jx_image im;
    CU_ASSERT_EQUAL(jx_image_read_png("/nonexistent/b.png", &im), JX_ERR_IO);
    JT_ASSERT_ERR("/nonexistent/b.png: No such file or directory");
    FILE *f = fopen(tpath("bad.png"), "wb");
    fputs("not a png at all", f);
    fclose(f);
    CU_ASSERT_EQUAL(jx_image_read_png(tpath("bad.png"), &im), JX_ERR_IO);
    JT_ASSERT_ERR("bad.png: not a readable PNG: Not a PNG file");
}

/* Copies the first n bytes of src (all when n is 0) to tmpdir/name. */
static void copy_prefix(const char *src, const char *name, size_t n) {
    FILE *in = fopen(src, "rb"), *out = fopen(tpath(name), "wb");
    CU_ASSERT_FATAL(in && out);
    char buf[4096];
    size_t k, total = 0;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0 && (!n || total < n)) {
        if (n && total + k > n) k = n - total;
        fwrite(buf, 1, k, out), total += k;
    }
    fclose(in), fclose(out);
}

static const char *tiny_jpeg(void) {
    static char p[700];
    snprintf(p, sizeof p, "%s/val2017/000000532481.jpg", tiny);
    return p;
}

static void test_jpeg(void) {
    jx_image im;
    CU_ASSERT_EQUAL(jx_image_read_jpeg(tpath("none.jpg"), &im), JX_ERR_IO);
    JT_ASSERT_ERR("none.jpg: No such file or directory");
    CU_ASSERT_EQUAL(jx_image_read_jpeg(tpath("bad.png"), &im), JX_ERR_IO);
    JT_ASSERT_ERR("bad.png: not a JPEG or a corrupt header");
    if (!have_tiny) return;
    CU_ASSERT_EQUAL_FATAL(jx_image_read_jpeg(tiny_jpeg(), &im), JX_OK);
    CU_ASSERT(im.height == 426 && im.width == 640 && im.channels == 3);
    double mean = 0;
    for (size_t i = 0; i < (size_t)426 * 640 * 3; i++) mean += im.data[i];
    mean /= 426.0 * 640 * 3;
    CU_ASSERT(mean > 20 && mean < 235);
    jx_image_free(&im);
    copy_prefix(tiny_jpeg(), "cut.jpg", 20000);
    CU_ASSERT_EQUAL(jx_image_read_jpeg(tpath("cut.jpg"), &im), JX_ERR_IO);
    JT_ASSERT_ERR("cut.jpg: truncated or corrupt JPEG: Premature end of JPEG file");
    CU_ASSERT_PTR_NULL(im.data);
}

static jx_coco *tiny_val(void) {
    char p[700];
    snprintf(p, sizeof p, "%s/annotations/instances_val2017.json", tiny);
    jx_coco *c = NULL;
    CU_ASSERT_EQUAL(jx_coco_load(p, &c), JX_OK);
    return c;
}

/* Runs one epoch of 2 batches of 3 images and returns a copy of the bytes. */
static void run_loader(jx_coco *c, const char *dir, int threads, uint64_t seed, float *img, uint8_t *lab) {
    jx_coco_loader_opts o = {.coco = c, .image_dir = dir, .batch = 3, .height = 32, .width = 40, .augment = 1,
                             .flip = 1, .shuffle = 1, .drop_last = 1, .seed = seed, .threads = threads, .prefetch = 2};
    uint32_t pick[6] = {0, 5, 9, 11, 20, 33};
    o.images = pick, o.n_images = 6;
    jx_coco_loader *l;
    CU_ASSERT_EQUAL_FATAL(jx_coco_loader_new(&o, &l), JX_OK);
    CU_ASSERT_EQUAL(jx_coco_loader_batches(l), 2);
    CU_ASSERT_EQUAL(jx_coco_loader_epoch(l, 3), JX_OK);
    for (int b = 0; b < 2; b++) {
        jx_coco_batch batch;
        CU_ASSERT_EQUAL_FATAL(jx_coco_loader_next(l, &batch), JX_OK);
        CU_ASSERT_EQUAL(batch.n, 3);
        memcpy(img + (size_t)b * 3 * 32 * 40 * 3, batch.images, sizeof(float) * 3 * 32 * 40 * 3);
        memcpy(lab + (size_t)b * 3 * 32 * 40, batch.labels, 3 * 32 * 40);
        for (int i = 0; i < 3 * 32 * 40; i++) CU_ASSERT_EQUAL(batch.labels_i32[i], batch.labels[i]);
    }
    jx_coco_batch end;
    CU_ASSERT_EQUAL(jx_coco_loader_next(l, &end), JX_OK);
    CU_ASSERT_EQUAL(end.n, 0);
    jx_coco_loader_free(l);
}

static void test_loader(void) {
    if (!have_tiny) return;
    jx_coco *c = tiny_val();
    char dir[700];
    snprintf(dir, sizeof dir, "%s/val2017", tiny);
    size_t ni = 6 * 32 * 40 * 3, nl = 6 * 32 * 40;
    float *i0 = malloc(ni * 4), *i2 = malloc(ni * 4), *i9 = malloc(ni * 4);
    uint8_t *l0 = malloc(nl), *l2 = malloc(nl), *l9 = malloc(nl);
    run_loader(c, dir, 0, 42, i0, l0);
    run_loader(c, dir, 2, 42, i2, l2);
    run_loader(c, dir, 2, 43, i9, l9);
    CU_ASSERT(!memcmp(i0, i2, ni * 4) && !memcmp(l0, l2, nl)); /* bit for bit across thread counts */
    CU_ASSERT(memcmp(i0, i9, ni * 4) != 0);                     /* another seed, other crops */
    size_t labelled = 0;
    for (size_t i = 0; i < nl; i++) labelled += l0[i] != 0 && l0[i] != 255;
    CU_ASSERT(labelled > 0);
    free(i0), free(i2), free(i9), free(l0), free(l2), free(l9);

    /* a missing image fails its batch naming the file; the loader goes on */
    jx_coco_loader_opts o = {.coco = c, .image_dir = tmpdir, .batch = 2, .height = 8, .width = 8, .threads = 1};
    jx_coco_loader *l;
    CU_ASSERT_EQUAL_FATAL(jx_coco_loader_new(&o, &l), JX_OK);
    jx_coco_batch b;
    CU_ASSERT_EQUAL(jx_coco_loader_next(l, &b), JX_ERR_ARG);
    JT_ASSERT_ERR("coco_loader_next: call jx_coco_loader_epoch first");
    /* the file is in place before the epoch starts: its workers may prefetch at once */
    copy_prefix(tiny_jpeg(), "000000532481.jpg", 30000); /* image 0 of val, cut short */
    jx_coco_loader_epoch(l, 0);
    CU_ASSERT_EQUAL(jx_coco_loader_next(l, &b), JX_ERR_IO);
    JT_ASSERT_ERR("/000000532481.jpg: truncated or corrupt JPEG: Premature end of JPEG file");
    CU_ASSERT_EQUAL(jx_coco_loader_next(l, &b), JX_ERR_IO);
    JT_ASSERT_ERR("No such file or directory");
    jx_coco_loader_free(l);
    o.batch = 0;
    CU_ASSERT_EQUAL(jx_coco_loader_new(&o, &l), JX_ERR_ARG);
    JT_ASSERT_ERR("coco_loader_new: opts.batch, height and width must be >= 1");
    jx_coco_free(c);
}

int main(void) {
    const char *src = getenv("JX_SOURCE_DIR");
    snprintf(tiny, sizeof tiny, "%s/../shared/data/coco-tiny", src ? src : "..");
    FILE *f = fopen(tiny_jpeg(), "rb");
    if ((have_tiny = f != NULL)) fclose(f);
    else fprintf(stderr, "coco-tiny not found at %s: its parts are skipped\n", tiny);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jx_coco_images_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    CU_TestInfo tests[] = {{"threefry", test_threefry}, {"resize and transforms", test_resize}, {"png", test_png},
                           {"jpeg", test_jpeg}, {"loader", test_loader}, CU_TEST_INFO_NULL};
    int rc = jt_run("coco images", tests);
    const char *names[] = {"a.png", "bad.png", "cut.jpg", "000000532481.jpg"};
    for (size_t i = 0; i < 4; i++) remove(tpath(names[i]));
    rmdir(tmpdir);
    return rc;
}
