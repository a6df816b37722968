/* plot_scatter.c: PNG scatter plots of points coloured by class (jx/plot.h), on the
 * axes frame the line plots draw, written atomically like the other plots. */
#define _POSIX_C_SOURCE 200809L
#include <jx/plot.h>

#include <math.h>
#include <stdio.h>

/* matplotlib's tab10 */
const unsigned char jx_plot_class_colors[JX_PLOT_NCLASS_COLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

static const jx_loc noloc = {NULL, 0};
#define JX__TAU 6.28318530717958647692

#ifndef JX_HAVE_CAIRO

jx_status jx_plot_scatter(const char *path, const char *title, const char *xlabel, const char *ylabel, int64_t n,
                          const double *x, const double *y, const int *cls, int nclasses,
                          const char *const *class_names, int width, int height) {
    return jx_error_at(noloc, JX_ERR_UNSUPPORTED, "plot_scatter", "%s: jx was built without cairo", path ? path : "(null)");
}

#else

#include "plot_internal.h"

/* [*lo, *hi] padded by 5% of its span (0.5 when it is 0) and rounded out to ticks of the
 * returned step, about `want` of them. */
static double axis(double *lo, double *hi, int want) {
    double pad = *hi > *lo ? (*hi - *lo) * 0.05 : 0.5;
    *lo -= pad, *hi += pad;
    double step = jx__plot_nice_step(*hi - *lo, want);
    *lo = floor(*lo / step) * step, *hi = ceil(*hi / step) * step;
    return step;
}

/* The legend: a white box at the top right of the plot area, a disc and a name per class. */
static void legend(cairo_t *cr, double R, double T, int nclasses, const char *const *names) {
    char buf[32];
    double wmax = 0;
    for (int c = 0; c < nclasses; c++) {
        const char *s = names ? names[c] : (snprintf(buf, sizeof buf, "%d", c), buf);
        cairo_text_extents_t e;
        cairo_text_extents(cr, s ? s : "", &e);
        wmax = fmax(wmax, e.x_advance);
    }
    double bw = wmax + 34, bx = R - 8 - bw, by = T + 6;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, bx, by, bw, 16.0 * nclasses + 6);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int c = 0; c < nclasses; c++) {
        double y = by + 11 + 16 * c;
        jx__plot_set_rgb(cr, jx_plot_class_colors[c % JX_PLOT_NCLASS_COLORS]);
        cairo_arc(cr, bx + 12, y, JX_PLOT_DOT + 1, 0, JX__TAU);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        const char *s = names ? names[c] : (snprintf(buf, sizeof buf, "%d", c), buf);
        jx__plot_text(cr, bx + 24, y, 0, 0.5, s ? s : "");
    }
}

jx_status jx_plot_scatter(const char *path, const char *title, const char *xlabel, const char *ylabel, int64_t n,
                          const double *x, const double *y, const int *cls, int nclasses,
                          const char *const *class_names, int width, int height) {
    const char *what = "plot_scatter";
    if (!path || n < 1 || !x || !y)
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: needs a path and at least one point (x and y), not %lld",
                           path ? path : "(null)", (long long)n);
    if (nclasses < 1 || nclasses > 100)
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: %d classes: wants 1 to 100", path, nclasses);
    jx_status st = jx__plot_size(what, path, &width, &height);
    if (st != JX_OK) return st;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (cls && (cls[i] < 0 || cls[i] >= nclasses))
            return jx_error_at(noloc, JX_ERR_ARG, what, "%s: point %lld is in class %d, outside 0..%d", path,
                               (long long)i, cls[i], nclasses - 1);
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        x0 = fmin(x0, x[i]), x1 = fmax(x1, x[i]), y0 = fmin(y0, y[i]), y1 = fmax(y1, y[i]);
    }
    if (x0 > x1) return jx_error_at(noloc, JX_ERR_ARG, what, "%s: no finite point to plot", path);
    double xs = axis(&x0, &x1, 8), ys = axis(&y0, &y1, 6);
    double L = JX_PLOT_LEFT, R = width - JX_PLOT_RIGHT, T = JX_PLOT_TOP, B = height - JX_PLOT_BOTTOM;
    cairo_surface_t *surf;
    cairo_t *cr = jx__plot_frame(width, height, x0, x1, xs, y0, y1, ys, title, xlabel, ylabel, &surf);
    cairo_save(cr);
    cairo_rectangle(cr, L + 1, T + 1, R - L - 2, B - T - 2);
    cairo_clip(cr);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        jx__plot_set_rgb(cr, jx_plot_class_colors[(cls ? cls[i] : 0) % JX_PLOT_NCLASS_COLORS]);
        cairo_arc(cr, L + (x[i] - x0) / (x1 - x0) * (R - L), B - (y[i] - y0) / (y1 - y0) * (B - T), JX_PLOT_DOT, 0,
                  JX__TAU);
        cairo_fill(cr);
    }
    cairo_restore(cr);
    legend(cr, R, T, nclasses, class_names);
    return jx__plot_finish(surf, cr, what, path);
}

#endif /* JX_HAVE_CAIRO */
