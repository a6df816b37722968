/* test_plot_images.c: image grids and heat maps (jx_plot_images, jx_plot_heatmap) read
 * back with cairo: the size the documented layout gives and the colours of known
 * pixels (gray scaled per tile, signed white-red-blue, heat map white to dark blue); bad
 * arguments are errors. Skipped (77) where jx was built without cairo. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <jx/plot.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#ifdef JX_HAVE_CAIRO
#include "plot_check.h"

static void test_images(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    /* 2 rows x 2 tiles of 2x2: row 0 gray, row 1 signed */
    float pix[16] = {0, 1, 2, 3, /* gray: 0 black, 3 white */ 5, 5, 5, 5,   /* flat: black */
                     -2, 0, 1, 2, /* signed: -2 blue, 0 white, 2 red */ 0, 0, 0, 0};
    int sig[2] = {0, 1};
    const char *labels[4] = {"a", NULL, "c", "d"}, *rows[2] = {"img", "ig"};
    CU_ASSERT_FATAL(jx_plot_images(path, "t", 2, 2, 2, 2, pix, sig, labels, rows, 4) == JX_OK);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CU_ASSERT_FATAL(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS);
    int tile = 8, L = JX_PLOT_IMG_LEFT, T = JX_PLOT_IMG_TOP, G = JX_PLOT_IMG_GAP;
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), L + 2 * (tile + G) + 10);
    CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), T + 2 * (tile + G) + 10);
    CU_ASSERT_EQUAL(px(s, L + 1, T + 1), 0x000000);        /* tile (0,0) pixel 0: min */
    CU_ASSERT_EQUAL(px(s, L + 5, T + 5), 0xFFFFFF);        /* pixel 3: max */
    CU_ASSERT_EQUAL(px(s, L + 5, T + 1), 0x555555);        /* pixel 1: 1/3 */
    CU_ASSERT_EQUAL(px(s, L + tile + G + 1, T + 1), 0x000000); /* a flat tile */
    int y1 = T + tile + G;
    CU_ASSERT_EQUAL(px(s, L + 1, y1 + 1), 0x0000FF);       /* -2: blue */
    CU_ASSERT_EQUAL(px(s, L + 5, y1 + 1), 0xFFFFFF);       /* 0: white */
    CU_ASSERT_EQUAL(px(s, L + 1, y1 + 5), 0xFF8080);       /* 1 of 2: half red */
    CU_ASSERT_EQUAL(px(s, L + 5, y1 + 5), 0xFF0000);       /* 2: red */
    cairo_surface_destroy(s);
    unlink(path);
    CU_ASSERT(jx_plot_images(path, NULL, 0, 2, 2, 2, pix, NULL, NULL, NULL, 0) == JX_ERR_ARG);
    JT_ASSERT_ERR("plot_images: ");
    JT_ASSERT_ERR("bad arguments (0 x 2 tiles of 2 x 2, scale 0)");
    CU_ASSERT(access(path, F_OK) != 0);
}

static void test_heatmap(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/heat.png", dir);
    double v[6] = {0, 0.5, 1, 0.25, 0, 1};
    const char *rl[2] = {"u0", "u1"}, *cl[3] = {"0", "1", "2"};
    CU_ASSERT_FATAL(jx_plot_heatmap(path, "sel", 2, 3, v, rl, cl, 10) == JX_OK);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CU_ASSERT_FATAL(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS);
    int L = JX_PLOT_IMG_LEFT, T = JX_PLOT_IMG_TOP;
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), L + 30 + 10);
    CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), T + 20 + 30 + 10);
    CU_ASSERT_EQUAL(px(s, L + 5, T + 5), 0xFFFFFF);      /* 0: white */
    CU_ASSERT_EQUAL(px(s, L + 25, T + 5), 0x08306B);     /* 1: dark blue */
    CU_ASSERT_EQUAL(px(s, L + 25, T + 15), 0x08306B);
    cairo_surface_destroy(s);
    unlink(path);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"image grid: layout and colours", test_images},
        {"heat map", test_heatmap},
        CU_TEST_INFO_NULL,
    };
    return plot_check_main("plot_images", tests);
}

#else

int main(void) {
    if (jx_plot_available()) return 1; /* the library has cairo but this test was built without */
    fprintf(stderr, "skipped: jx was built without cairo (install libcairo2-dev)\n");
    return 77;
}

#endif
