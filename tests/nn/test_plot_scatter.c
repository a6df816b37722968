/* test_plot_scatter.c: scatter plots coloured by class (jx_plot_scatter) read back with
 * cairo: the size, the points' colours where the documented axes (padded by 5%, rounded
 * to ticks) put them, later points drawn over earlier ones, non-finite points left out,
 * the legend's discs; bad arguments are errors naming the point or the count and leave
 * no file. Skipped (77) where jx was built without cairo. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <jx/plot.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#ifdef JX_HAVE_CAIRO
#include "plot_check.h"

static unsigned color(int c) {
    const unsigned char *k = jx_plot_class_colors[c];
    return (unsigned)k[0] << 16 | (unsigned)k[1] << 8 | k[2];
}

/* Points over x, y in [0, 10]: padded by 0.5 to [-0.5, 10.5], then rounded out to ticks
 * of 1 across (11 / 8 -> 1) and 2 up (11 / 6 -> 2): x in [-1, 11], y in [-2, 12]. */
static void test_scatter(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/scatter.png", dir);
    double x[6] = {0, 10, 0, 5, 5, NAN}, y[6] = {0, 0, 10, 5, 5, 3};
    int cls[6] = {0, 9, 5, 1, 3, 2}; /* the two at (5, 5): class 3 is drawn last, on top */
    const int W = 600, H = 400;
    CU_ASSERT_FATAL(jx_plot_scatter(path, "blobs", "a", "b", 6, x, y, cls, 10, NULL, W, H) == JX_OK);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CU_ASSERT_FATAL(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS);
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), W);
    CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), H);
    double L = JX_PLOT_LEFT, R = W - JX_PLOT_RIGHT, T = JX_PLOT_TOP, B = H - JX_PLOT_BOTTOM;
#define PX(v) ((int)floor(L + ((v) + 1) / 12.0 * (R - L)))
#define PY(v) ((int)floor(B - ((v) + 2) / 14.0 * (B - T)))
    CU_ASSERT_EQUAL(px(s, PX(0), PY(0)), color(0));
    CU_ASSERT_EQUAL(px(s, PX(5), PY(5)), color(3));
    CU_ASSERT_EQUAL(px(s, PX(10), PY(0)), color(9));
    CU_ASSERT_EQUAL(px(s, PX(0), PY(10)), color(5));
    CU_ASSERT_EQUAL(px(s, PX(2.5), PY(7.5)), 0xFFFFFF);   /* empty plot area, off the grid */
    CU_ASSERT_EQUAL(px(s, PX(0) + 1, PY(3)), 0xFFFFFF);   /* (NaN, 3) is not drawn at x = 0 */
    CU_ASSERT_EQUAL(px(s, 2, 2), 0xFFFFFF);               /* background */
    /* the legend: class c's disc at (R - 8 - box width + 12, T + 17 + 16 c); find the
     * first row's disc by scanning left from the plot area's right edge */
    int found = 0;
    for (int xx = (int)R - 1; xx > (int)R - 200 && !found; xx--) found = px(s, xx, (int)T + 17) == color(0);
    CU_ASSERT(found);
    found = 0;
    for (int xx = (int)R - 1; xx > (int)R - 200 && !found; xx--) found = px(s, xx, (int)T + 17 + 16 * 9) == color(9);
    CU_ASSERT(found);
#undef PX
#undef PY
    cairo_surface_destroy(s);
    unlink(path);
}

static void test_errors(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/bad.png", dir);
    double x[2] = {0, 1}, y[2] = {0, 1}, nan2[2] = {NAN, INFINITY};
    int cls[2] = {0, 4};
    CU_ASSERT(jx_plot_scatter(path, NULL, NULL, NULL, 2, x, y, cls, 3, NULL, 0, 0) == JX_ERR_ARG);
    JT_ASSERT_ERR("plot_scatter: ");
    JT_ASSERT_ERR("point 1 is in class 4, outside 0..2");
    CU_ASSERT(jx_plot_scatter(path, NULL, NULL, NULL, 0, x, y, NULL, 1, NULL, 0, 0) == JX_ERR_ARG);
    JT_ASSERT_ERR("at least one point");
    CU_ASSERT(jx_plot_scatter(path, NULL, NULL, NULL, 2, x, y, NULL, 0, NULL, 0, 0) == JX_ERR_ARG);
    JT_ASSERT_ERR("0 classes: wants 1 to 100");
    CU_ASSERT(jx_plot_scatter(path, NULL, NULL, NULL, 2, nan2, y, NULL, 1, NULL, 0, 0) == JX_ERR_ARG);
    JT_ASSERT_ERR("no finite point to plot");
    CU_ASSERT(jx_plot_scatter(path, NULL, NULL, NULL, 2, x, y, NULL, 1, NULL, 10, 10) == JX_ERR_ARG);
    JT_ASSERT_ERR("size 10x10 is out of range");
    CU_ASSERT(access(path, F_OK) != 0);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"scatter: axes, colours, drawing order, legend", test_scatter},
        {"scatter: bad arguments", test_errors},
        CU_TEST_INFO_NULL,
    };
    return plot_check_main("plot_scatter", tests);
}

#else

int main(void) {
    if (jx_plot_available()) return 1; /* the library has cairo but this test was built without */
    fprintf(stderr, "skipped: jx was built without cairo (install libcairo2-dev)\n");
    return 77;
}

#endif
