/* plot.c: PNG line plots and confusion matrices drawn with cairo (jx/plot.h). The PNG is
 * written to a temporary file beside the target, fsynced and renamed over it, so a
 * reader never sees half a plot. Built as stubs returning JX_ERR_UNSUPPORTED where CMake
 * found no cairo (JX_HAVE_CAIRO undefined). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fsync, fileno */
#include <jx/plot.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tab10's first colours: blue, orange, green, red, purple, brown */
const unsigned char jx_plot_colors[JX_PLOT_NCOLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189}, {140, 86, 75}};

static const jx_loc noloc = {NULL, 0};
#define JX__PI 3.14159265358979323846

#ifndef JX_HAVE_CAIRO

int jx_plot_available(void) { return 0; }

jx_status jx_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        int nseries, const jx_plot_series *series, int width, int height) {
    return jx_error_at(noloc, JX_ERR_UNSUPPORTED, "plot_lines", "%s: jx was built without cairo", path ? path : "(null)");
}

jx_status jx_plot_confusion(const char *path, const char *title, int64_t k, const int64_t *counts,
                            const char *const *class_names, int cell) {
    return jx_error_at(noloc, JX_ERR_UNSUPPORTED, "plot_confusion", "%s: jx was built without cairo", path ? path : "(null)");
}

#else

#include <cairo.h>

#include "plot_internal.h"
#include <errno.h>
#include <unistd.h>

int jx_plot_available(void) { return 1; }

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int n) {
    return fwrite(data, 1, n, closure) == n ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

jx_status jx__plot_save_png(cairo_surface_t *s, const char *what, const char *path) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return jx_error_at(noloc, JX_ERR_NOMEM, what, "%s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        jx_status st = jx_error_at(noloc, JX_ERR_IO, what, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    int ok = f && cairo_surface_write_to_png_stream(s, write_stream, f) == CAIRO_STATUS_SUCCESS;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0, err = errno;
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? JX_OK : jx_error_at(noloc, JX_ERR_IO, what, "%s: cannot write the PNG: %s", path, strerror(err));
}

void jx__plot_set_rgb(cairo_t *cr, const unsigned char c[3]) {
    cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
}

void jx__plot_text(cairo_t *cr, double x, double y, double ax, double ay, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
}

/* A white width x height canvas with the plot area's grid, ticks every xs and ys over
 * [x0, x1] x [y0, y1], its border, the axis labels and the title (plot_internal.h). */
cairo_t *jx__plot_frame(int width, int height, double x0, double x1, double xs, double y0, double y1, double ys,
                        const char *title, const char *xlabel, const char *ylabel, cairo_surface_t **surf) {
    double L = JX_PLOT_LEFT, R = width - JX_PLOT_RIGHT, T = JX_PLOT_TOP, B = height - JX_PLOT_BOTTOM;
#define PX(x) (L + ((x) - x0) / (x1 - x0) * (R - L))
#define PY(y) (B - ((y) - y0) / (y1 - y0) * (B - T))
    *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(*surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    char buf[64];
    /* grid and tick labels */
    cairo_set_line_width(cr, 1);
    for (double v = y0; v <= y1 + ys * 1e-9; v += ys) {
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, L, floor(PY(v)) + 0.5);
        cairo_line_to(cr, R, floor(PY(v)) + 0.5);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%.4g", fabs(v) < ys * 1e-9 ? 0.0 : v);
        jx__plot_text(cr, L - 6, PY(v), 1, 0.5, buf);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-9; v += xs) {
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, floor(PX(v)) + 0.5, T);
        cairo_line_to(cr, floor(PX(v)) + 0.5, B);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%.4g", fabs(v) < xs * 1e-9 ? 0.0 : v);
        jx__plot_text(cr, PX(v), B + 6, 0.5, 0, buf);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L + 0.5, T + 0.5, R - L - 1, B - T - 1);
    cairo_stroke(cr);
    if (xlabel) jx__plot_text(cr, (L + R) / 2, height - 8, 0.5, 1, xlabel);
    if (ylabel) {
        cairo_save(cr);
        cairo_translate(cr, 14, (T + B) / 2);
        cairo_rotate(cr, -JX__PI / 2);
        jx__plot_text(cr, 0, 0, 0.5, 0.5, ylabel);
        cairo_restore(cr);
    }
    if (title) {
        cairo_set_font_size(cr, 15);
        jx__plot_text(cr, width / 2.0, T / 2.0, 0.5, 0.5, title);
        cairo_set_font_size(cr, 12);
    }
#undef PX
#undef PY
    return cr;
}

double jx__plot_nice_step(double span, int want) {
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

jx_status jx__plot_size(const char *what, const char *path, int *width, int *height) {
    if (*width == 0) *width = 800;
    if (*height == 0) *height = 500;
    if (*width < JX_PLOT_LEFT + JX_PLOT_RIGHT + 50 || *height < JX_PLOT_TOP + JX_PLOT_BOTTOM + 50 || *width > 8000 ||
        *height > 8000)
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: size %dx%d is out of range", path, *width, *height);
    return JX_OK;
}

jx_status jx__plot_finish(cairo_surface_t *s, cairo_t *cr, const char *what, const char *path) {
    cairo_surface_flush(s);
    jx_status st = cairo_status(cr) == CAIRO_STATUS_SUCCESS
                       ? jx__plot_save_png(s, what, path)
                       : jx_error_at(noloc, JX_ERR_NOMEM, what, "%s: cairo: %s", path, cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return st;
}

static double series_x(const jx_plot_series *s, int64_t i) { return s->x ? s->x[i] : (double)i; }

/* Axes ranges over the finite points of every series; 0 when there is none. */
static int data_range(int n, const jx_plot_series *s, double *x0, double *x1, double *y0, double *y1) {
    *x0 = *y0 = INFINITY;
    *x1 = *y1 = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < s[k].n; i++) {
            double x = series_x(&s[k], i), y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
        }
    if (*x0 > *x1) return 0;
    if (*x1 - *x0 == 0) *x0 -= 0.5, *x1 += 0.5;
    double pad = (*y1 - *y0) * 0.05;
    if (pad == 0) pad = fabs(*y0) * 0.05 + 0.5;
    *y0 -= pad, *y1 += pad;
    return 1;
}

jx_status jx_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        int nseries, const jx_plot_series *series, int width, int height) {
    const char *what = "plot_lines";
    if (!path || nseries < 1 || !series) return jx_error_at(noloc, JX_ERR_ARG, what, "needs a path and at least one series");
    jx_status st = jx__plot_size(what, path, &width, &height);
    if (st != JX_OK) return st;
    for (int k = 0; k < nseries; k++)
        if (series[k].n < 0 || (series[k].n > 0 && !series[k].y))
            return jx_error_at(noloc, JX_ERR_ARG, what, "%s: series %d has no y values", path, k);
    double x0, x1, y0, y1;
    if (!data_range(nseries, series, &x0, &x1, &y0, &y1))
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: no finite point to plot", path);
    double ys = jx__plot_nice_step(y1 - y0, 6);
    y0 = floor(y0 / ys) * ys, y1 = ceil(y1 / ys) * ys;
    double xs = jx__plot_nice_step(x1 - x0, 8);
    double L = JX_PLOT_LEFT, R = width - JX_PLOT_RIGHT, T = JX_PLOT_TOP, B = height - JX_PLOT_BOTTOM;
#define PX(x) (L + ((x) - x0) / (x1 - x0) * (R - L))
#define PY(y) (B - ((y) - y0) / (y1 - y0) * (B - T))
    cairo_surface_t *surf;
    cairo_t *cr = jx__plot_frame(width, height, x0, x1, xs, y0, y1, ys, title, xlabel, ylabel, &surf);
    /* the curves, clipped to the plot area, broken at non-finite points */
    cairo_save(cr);
    cairo_rectangle(cr, L, T, R - L, B - T);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int k = 0; k < nseries; k++) {
        jx__plot_set_rgb(cr, jx_plot_colors[k % JX_PLOT_NCOLORS]);
        int pen = 0;
        for (int64_t i = 0; i < series[k].n; i++) {
            double x = series_x(&series[k], i), y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y)) {
                pen = 0;
                continue;
            }
            if (pen) cairo_line_to(cr, PX(x), PY(y));
            else cairo_move_to(cr, PX(x), PY(y));
            if (series[k].n == 1) cairo_arc(cr, PX(x), PY(y), 2, 0, 2 * JX__PI);
            pen = 1;
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    /* legend, top right inside the plot area */
    for (int k = 0, row = 0; k < nseries; k++) {
        if (!series[k].label) continue;
        double y = T + 14 + 16 * row++;
        cairo_text_extents_t e;
        cairo_text_extents(cr, series[k].label, &e);
        jx__plot_set_rgb(cr, jx_plot_colors[k % JX_PLOT_NCOLORS]);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, R - 40 - e.x_advance, y);
        cairo_line_to(cr, R - 18 - e.x_advance, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        jx__plot_text(cr, R - 12 - e.x_advance, y, 0, 0.5, series[k].label);
    }
#undef PX
#undef PY
    return jx__plot_finish(surf, cr, what, path);
}

jx_status jx_plot_confusion(const char *path, const char *title, int64_t k, const int64_t *counts,
                            const char *const *class_names, int cell) {
    const char *what = "plot_confusion";
    if (!path || !counts || k < 1 || k > 1000) return jx_error_at(noloc, JX_ERR_ARG, what, "needs a path, counts and 1 to 1000 classes");
    if (cell == 0) cell = 40;
    if (cell < 4 || cell * k > 8000) return jx_error_at(noloc, JX_ERR_ARG, what, "%s: cell size %d is out of range", path, cell);
    int width = JX_PLOT_CM_LEFT + (int)k * cell + 20, height = JX_PLOT_CM_TOP + (int)k * cell + 20;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double fs = cell < 30 ? cell * 0.35 : 11;
    cairo_set_font_size(cr, fs);
    char buf[32];
    for (int64_t i = 0; i < k; i++) {
        int64_t row = 0;
        for (int64_t j = 0; j < k; j++) row += counts[i * k + j];
        for (int64_t j = 0; j < k; j++) {
            double f = row ? (double)counts[i * k + j] / (double)row : 0;
            double x = JX_PLOT_CM_LEFT + (double)(j * cell), y = JX_PLOT_CM_TOP + (double)(i * cell);
            /* white to matplotlib's darkest Blues (8, 48, 107) */
            cairo_set_source_rgb(cr, 1 - f * (1 - 8 / 255.0), 1 - f * (1 - 48 / 255.0), 1 - f * (1 - 107 / 255.0));
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (f > 0.5) cairo_set_source_rgb(cr, 1, 1, 1);
            else cairo_set_source_rgb(cr, 0, 0, 0);
            snprintf(buf, sizeof buf, "%lld", (long long)counts[i * k + j]);
            jx__plot_text(cr, x + cell / 2.0, y + cell / 2.0, 0.5, 0.5, buf);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        const char *name = class_names ? class_names[i] : (snprintf(buf, sizeof buf, "%lld", (long long)i), buf);
        jx__plot_text(cr, JX_PLOT_CM_LEFT - 6, JX_PLOT_CM_TOP + (i + 0.5) * cell, 1, 0.5, name);
        name = class_names ? class_names[i] : buf;
        jx__plot_text(cr, JX_PLOT_CM_LEFT + (i + 0.5) * cell, JX_PLOT_CM_TOP - 4, 0.5, 1, name);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    jx__plot_text(cr, 6, JX_PLOT_CM_TOP - 22, 0, 1, "true \\ predicted");
    if (title) {
        cairo_set_font_size(cr, 14);
        jx__plot_text(cr, width / 2.0, 14, 0.5, 0.5, title);
    }
    return jx__plot_finish(surf, cr, what, path);
}

#endif /* JX_HAVE_CAIRO */
