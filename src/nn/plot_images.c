/* plot_images.c: PNG grids of images (inputs, saliency maps) and heat maps (unit x class
 * statistics) drawn with cairo (jx/plot.h), written atomically like the other plots. */
#define _POSIX_C_SOURCE 200809L
#include <jx/plot.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static const jx_loc noloc = {NULL, 0};

#ifndef JX_HAVE_CAIRO

jx_status jx_plot_images(const char *path, const char *title, int rows, int cols, int h, int w, const float *pix,
                         const int *row_signed, const char *const *labels, const char *const *row_labels, int scale) {
    return jx_error_at(noloc, JX_ERR_UNSUPPORTED, "plot_images", "%s: jx was built without cairo", path ? path : "(null)");
}

jx_status jx_plot_heatmap(const char *path, const char *title, int rows, int cols, const double *values,
                          const char *const *row_labels, const char *const *col_labels, int cell) {
    return jx_error_at(noloc, JX_ERR_UNSUPPORTED, "plot_heatmap", "%s: jx was built without cairo", path ? path : "(null)");
}

#else

#include "plot_internal.h"

/* A white canvas with the title, for a grid of rows x cols tiles of tw x th pixels and
 * gaps, plus an extra (ew, eh) area. */
static cairo_surface_t *canvas(const char *title, int rows, int cols, int tw, int th, int ew, int eh, cairo_t **cr) {
    int width = JX_PLOT_IMG_LEFT + cols * (tw + JX_PLOT_IMG_GAP) + ew + 10;
    int height = JX_PLOT_IMG_TOP + rows * (th + JX_PLOT_IMG_GAP) + eh + 10;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    *cr = cairo_create(s);
    cairo_set_source_rgb(*cr, 1, 1, 1);
    cairo_paint(*cr);
    cairo_set_source_rgb(*cr, 0, 0, 0);
    cairo_select_font_face(*cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(*cr, 14);
    if (title) jx__plot_text(*cr, width / 2.0, JX_PLOT_IMG_TOP / 2.0, 0.5, 0.5, title);
    cairo_set_font_size(*cr, 10);
    return s;
}

static void labels_left(cairo_t *cr, int rows, int th, const char *const *row_labels) {
    for (int r = 0; row_labels && r < rows; r++)
        if (row_labels[r])
            jx__plot_text(cr, JX_PLOT_IMG_LEFT - 6, JX_PLOT_IMG_TOP + r * (th + JX_PLOT_IMG_GAP) + th / 2.0, 1, 0.5,
                          row_labels[r]);
}

jx_status jx_plot_images(const char *path, const char *title, int rows, int cols, int h, int w, const float *pix,
                         const int *row_signed, const char *const *labels, const char *const *row_labels, int scale) {
    const char *what = "plot_images";
    if (!path || !pix || rows < 1 || cols < 1 || h < 1 || w < 1 || scale < 0 || scale > 64)
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: bad arguments (%d x %d tiles of %d x %d, scale %d)",
                           path ? path : "(null)", rows, cols, h, w, scale);
    if (!scale) scale = 3;
    int tw = w * scale, th = h * scale;
    cairo_t *cr;
    cairo_surface_t *s = canvas(title, rows, cols, tw, th, 0, 0, &cr);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int r = 0; data && r < rows; r++)
        for (int c = 0; c < cols; c++) {
            const float *t = pix + (size_t)(r * cols + c) * (size_t)(h * w);
            double lo = INFINITY, hi = -INFINITY, amax = 0;
            for (int i = 0; i < h * w; i++)
                if (isfinite(t[i])) lo = fmin(lo, t[i]), hi = fmax(hi, t[i]), amax = fmax(amax, fabs(t[i]));
            int sig = row_signed && row_signed[r];
            int x0 = JX_PLOT_IMG_LEFT + c * (tw + JX_PLOT_IMG_GAP), y0 = JX_PLOT_IMG_TOP + r * (th + JX_PLOT_IMG_GAP);
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++) {
                    double v = t[(y / scale) * w + x / scale], R, G, B;
                    if (!isfinite(v)) v = 0;
                    if (sig) { /* white at 0; red up, blue down */
                        double a = amax > 0 ? fmin(1, fabs(v) / amax) : 0;
                        R = v >= 0 ? 1 : 1 - a, B = v >= 0 ? 1 - a : 1, G = 1 - a;
                    } else {
                        R = G = B = hi > lo ? (v - lo) / (hi - lo) : 0;
                    }
                    uint32_t px = (uint32_t)lround(R * 255) << 16 | (uint32_t)lround(G * 255) << 8 | (uint32_t)lround(B * 255);
                    *(uint32_t *)(data + (size_t)(y0 + y) * (size_t)stride + (size_t)(x0 + x) * 4) = px;
                }
            cairo_surface_mark_dirty(s);
            if (labels && labels[r * cols + c])
                jx__plot_text(cr, x0 + tw / 2.0, y0 + th + 2, 0.5, 0, labels[r * cols + c]);
        }
    labels_left(cr, rows, th, row_labels);
    return jx__plot_finish(s, cr, what, path);
}

jx_status jx_plot_heatmap(const char *path, const char *title, int rows, int cols, const double *values,
                          const char *const *row_labels, const char *const *col_labels, int cell) {
    const char *what = "plot_heatmap";
    if (!path || !values || rows < 1 || cols < 1 || cell < 0 || cell > 256)
        return jx_error_at(noloc, JX_ERR_ARG, what, "%s: bad arguments (%d x %d cells of %d)", path ? path : "(null)",
                           rows, cols, cell);
    if (!cell) cell = 16;
    double lo = 0, hi = -INFINITY;
    for (int i = 0; i < rows * cols; i++)
        if (isfinite(values[i])) lo = fmin(lo, values[i]), hi = fmax(hi, values[i]);
    /* cells touch; the margin below holds the column labels */
    cairo_t *cr;
    cairo_surface_t *s = canvas(title, 0, 0, 0, 0, cols * cell, rows * cell + 30, &cr);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = values[r * cols + c], a = hi > lo && isfinite(v) ? (v - lo) / (hi - lo) : 0;
            cairo_set_source_rgb(cr, 1 - a * (1 - 8 / 255.0), 1 - a * (1 - 48 / 255.0), 1 - a * (1 - 107 / 255.0));
            cairo_rectangle(cr, JX_PLOT_IMG_LEFT + c * cell, JX_PLOT_IMG_TOP + r * cell, cell, cell);
            cairo_fill(cr);
        }
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int r = 0; row_labels && r < rows; r++)
        if (row_labels[r]) jx__plot_text(cr, JX_PLOT_IMG_LEFT - 4, JX_PLOT_IMG_TOP + (r + 0.5) * cell, 1, 0.5, row_labels[r]);
    for (int c = 0; col_labels && c < cols; c++)
        if (col_labels[c])
            jx__plot_text(cr, JX_PLOT_IMG_LEFT + (c + 0.5) * cell, JX_PLOT_IMG_TOP + rows * cell + 4, 0.5, 0, col_labels[c]);
    return jx__plot_finish(s, cr, what, path);
}

#endif
