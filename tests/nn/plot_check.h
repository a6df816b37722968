/* plot_check.h: what the PNG plot suites (test_plot_images.c, test_plot_scatter.c) share:
 * reading a pixel back and a main that runs the suite in a fresh temporary directory and
 * releases cairo's and fontconfig's caches for the leak checkers. Include it under
 * JX_HAVE_CAIRO, after harness.h. */
#ifndef JX_TESTS_PLOT_CHECK_H
#define JX_TESTS_PLOT_CHECK_H

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The suite's temporary directory (set by plot_check_main). */
static char dir[64];

/* Pixel (x, y) of a PNG surface as 0xRRGGBB. */
static inline unsigned px(cairo_surface_t *s, int x, int y) {
    uint32_t v;
    memcpy(&v, cairo_image_surface_get_data(s) + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + (size_t)x * 4, 4);
    return v & 0xFFFFFF;
}

/* Runs the suite `name` in a new /tmp/jx_<name>_XXXXXX, removes it, frees the font caches. */
static inline int plot_check_main(const char *name, CU_TestInfo *tests) {
    snprintf(dir, sizeof dir, "/tmp/jx_%s_XXXXXX", name);
    if (!mkdtemp(dir)) return 1;
    int rc = jt_run(name, tests);
    rmdir(dir);
    cairo_debug_reset_static_data();
    FcFini();
    return rc;
}

#endif
