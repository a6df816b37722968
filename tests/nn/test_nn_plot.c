/* test_nn_plot.c: the PNG plots of jx/plot.h, read back with cairo: the file is a PNG of
 * the asked size, the background and the curves' colours sit where the layout puts them,
 * the confusion matrix's cells are shaded by their row share, and bad arguments or an
 * unwritable path are errors that leave an existing file as it was. Skipped (77) where
 * jx was built without cairo. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdlib.h>
#include <unistd.h>

#include <jx/plot.h>

#include "harness.h"

#ifdef JX_HAVE_CAIRO
#include <cairo.h>
#include <fontconfig/fontconfig.h>

static char dir[64];

static const char *path_in(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Reads a PNG; its pixel (x, y) as 0xRRGGBB through px(). */
typedef struct png {
    cairo_surface_t *s;
    int w, h, stride;
    const unsigned char *data;
} png;

static int png_read(png *p, const char *path) {
    p->s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(p->s) != CAIRO_STATUS_SUCCESS) return 0;
    p->w = cairo_image_surface_get_width(p->s);
    p->h = cairo_image_surface_get_height(p->s);
    p->stride = cairo_image_surface_get_stride(p->s);
    p->data = cairo_image_surface_get_data(p->s);
    return 1;
}

static unsigned px(const png *p, int x, int y) {
    uint32_t v;
    memcpy(&v, p->data + (size_t)y * (size_t)p->stride + (size_t)x * 4, 4);
    return v & 0xFFFFFF;
}

static unsigned color(int i) {
    return (unsigned)jx_plot_colors[i][0] << 16 | (unsigned)jx_plot_colors[i][1] << 8 | jx_plot_colors[i][2];
}

/* The first 8 bytes are PNG's signature and the IHDR holds width and height. */
static void check_header(const char *path, int w, int h) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fread(b, 1, 24, f), 24);
    fclose(f);
    CU_ASSERT(!memcmp(b, "\x89PNG\r\n\x1a\n", 8));
    CU_ASSERT(!memcmp(b + 12, "IHDR", 4));
    CU_ASSERT_EQUAL((b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19]), w);
    CU_ASSERT_EQUAL((b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23]), h);
}

/* Two flat curves, y = 1 and y = 3 over x = 0..9: the y axis spans [0.8, 3.2] padded to
 * ticks of 0.5 -> [0.5, 3.5]; so y = 1 is 5/6 and y = 3 is 1/6 down the plot area. */
static void test_lines(void) {
    double a[10], b[10];
    for (int i = 0; i < 10; i++) a[i] = 1, b[i] = 3;
    b[5] = NAN; /* a gap */
    jx_plot_series s[2] = {{"train", NULL, a, 10}, {"test", NULL, b, 10}};
    const char *p = path_in("loss.png");
    CU_ASSERT_EQUAL_FATAL(jx_plot_lines(p, "loss", "epoch", "loss", 2, s, 640, 400), JX_OK);
    check_header(p, 640, 400);
    png img;
    CU_ASSERT_FATAL(png_read(&img, p));
    CU_ASSERT(img.w == 640 && img.h == 400);
    CU_ASSERT_EQUAL(px(&img, 2, 2), 0xFFFFFF); /* background */
    double T = JX_PLOT_TOP, B = 400 - JX_PLOT_BOTTOM;
    int y1 = (int)(B - (1 - 0.5) / 3.0 * (B - T)), y3 = (int)(B - (3 - 0.5) / 3.0 * (B - T));
    int x = (JX_PLOT_LEFT + 640 - JX_PLOT_RIGHT) / 2 - 60; /* clear of the legend and the gap */
    CU_ASSERT_EQUAL(px(&img, x, y1), color(0));
    CU_ASSERT_EQUAL(px(&img, x, y3), color(1));
    /* the gap at x = 5 (and 4 to 6): no orange at its middle */
    double L = JX_PLOT_LEFT, R = 640 - JX_PLOT_RIGHT;
    CU_ASSERT_NOT_EQUAL(px(&img, (int)(L + 5.0 / 9 * (R - L)), y3), color(1));
    /* halfway between the curves there is background or grid, no curve */
    unsigned mid = px(&img, x + 3, (y1 + y3) / 2);
    CU_ASSERT(mid != color(0) && mid != color(1));
    cairo_surface_destroy(img.s);
}

/* 3 classes: row 0 all right (dark), row 1 split 1:1 (half), row 2 empty (white). */
static void test_confusion(void) {
    int64_t c[9] = {10, 0, 0, 0, 5, 5, 0, 0, 0};
    const char *names[3] = {"cat", "dog", "bird"};
    const char *p = path_in("cm.png");
    CU_ASSERT_EQUAL_FATAL(jx_plot_confusion(p, "confusion", 3, c, names, 30), JX_OK);
    int w = JX_PLOT_CM_LEFT + 3 * 30 + 20, h = JX_PLOT_CM_TOP + 3 * 30 + 20;
    check_header(p, w, h);
    png img;
    CU_ASSERT_FATAL(png_read(&img, p));
    /* a cell's corner (clear of its count) */
#define CELL(i, j) px(&img, JX_PLOT_CM_LEFT + (j) * 30 + 2, JX_PLOT_CM_TOP + (i) * 30 + 2)
    CU_ASSERT_EQUAL(CELL(0, 0), 0x08306B);
    CU_ASSERT_EQUAL(CELL(0, 1), 0xFFFFFF);
    CU_ASSERT_EQUAL(CELL(2, 2), 0xFFFFFF);
    unsigned half = CELL(1, 1);
    int r = (int)(half >> 16), b = (int)(half & 0xFF);
    CU_ASSERT(abs(r - (255 + 8) / 2) <= 1 && abs(b - (255 + 107) / 2) <= 1);
    CU_ASSERT_EQUAL(CELL(1, 2), half);
#undef CELL
    cairo_surface_destroy(img.s);
}

static void test_errors(void) {
    double y[3] = {1, 2, 3};
    jx_plot_series s = {"y", NULL, y, 3};
    const char *p = path_in("keep.png");
    CU_ASSERT_EQUAL_FATAL(jx_plot_lines(p, NULL, NULL, NULL, 1, &s, 0, 0), JX_OK);
    check_header(p, 800, 500);
    /* a failing plot leaves the existing file alone */
    double nan[2] = {NAN, NAN};
    jx_plot_series bad = {"nan", NULL, nan, 2};
    CU_ASSERT_EQUAL(jx_plot_lines(p, NULL, NULL, NULL, 1, &bad, 0, 0), JX_ERR_ARG);
    JT_ASSERT_ERR("plot_lines: ");
    JT_ASSERT_ERR("keep.png: no finite point to plot");
    check_header(p, 800, 500);
    CU_ASSERT_EQUAL(jx_plot_lines(p, NULL, NULL, NULL, 1, &s, 10, 10), JX_ERR_ARG);
    JT_ASSERT_ERR("size 10x10 is out of range");
    CU_ASSERT_EQUAL(jx_plot_lines("/nonexistent-dir/x.png", NULL, NULL, NULL, 1, &s, 0, 0), JX_ERR_IO);
    JT_ASSERT_ERR("plot_lines: /nonexistent-dir/x.png: cannot create a temporary file");
    int64_t c[1] = {1};
    CU_ASSERT_EQUAL(jx_plot_confusion(p, NULL, 0, c, NULL, 0), JX_ERR_ARG);
    check_header(p, 800, 500);
    /* no temporary file is left behind */
    CU_ASSERT_EQUAL(unlink(p), 0);
    CU_ASSERT_EQUAL(unlink(path_in("loss.png")), 0);
    CU_ASSERT_EQUAL(unlink(path_in("cm.png")), 0);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/jx-plot-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    CU_TestInfo tests[] = {
        {"line plot: header, size, colours where the layout puts them", test_lines},
        {"confusion matrix shading", test_confusion},
        {"errors leave files alone, no temporary left", test_errors},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("nn plots", tests);
    /* cairo and fontconfig keep font caches to the end: free them so leak checkers
     * (valgrind, LSan) see only what jx itself might lose */
    cairo_debug_reset_static_data();
    FcFini();
    return rc;
}

#else

int main(void) {
    if (jx_plot_available()) return 1; /* the library has cairo but this test was built without */
    fprintf(stderr, "skipped: jx was built without cairo (install libcairo2-dev)\n");
    return 77;
}

#endif
