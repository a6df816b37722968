/* plot_internal.h: the cairo helpers plot.c shares with plot_images.c and
 * plot_scatter.c (only where jx is built with cairo). */
#ifndef JX_NN_PLOT_INTERNAL_H
#define JX_NN_PLOT_INTERNAL_H

#include <cairo.h>
#include <jx.h>

/* Writes the surface as a PNG at path atomically (temporary file, fsync, rename); what
 * names the caller in the error. */
jx_status jx__plot_save_png(cairo_surface_t *s, const char *what, const char *path);
/* Draws text with its anchor at (x, y): ax, ay in {0, 0.5, 1} of its width and height. */
void jx__plot_text(cairo_t *cr, double x, double y, double ax, double ay, const char *s);

/* Sets the source colour from an RGB 0-255 triple (jx_plot_colors' rows). */
void jx__plot_set_rgb(cairo_t *cr, const unsigned char c[3]);
/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks over span. */
double jx__plot_nice_step(double span, int want);
/* Applies the default 800 x 500 to a width or height of 0 and checks the range; what
 * names the caller in the error. */
jx_status jx__plot_size(const char *what, const char *path, int *width, int *height);
/* A new white width x height canvas (*surf, and the returned context) holding the plot
 * area's border, its grid and tick labels every xs over [x0, x1] (from the first
 * multiple of xs) and every ys over [y0, y1] (from y0), the axis labels and the title
 * (each may be NULL), at the layout of JX_PLOT_LEFT... in jx/plot.h. */
cairo_t *jx__plot_frame(int width, int height, double x0, double x1, double xs, double y0, double y1, double ys,
                        const char *title, const char *xlabel, const char *ylabel, cairo_surface_t **surf);
/* Writes the surface (jx__plot_save_png) unless cairo failed drawing it, then destroys
 * cr and s. */
jx_status jx__plot_finish(cairo_surface_t *s, cairo_t *cr, const char *what, const char *path);

#endif
