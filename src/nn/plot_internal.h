/* plot_internal.h: the cairo helpers plot.c shares with plot_images.c (only where jx is
 * built with cairo). */
#ifndef JX_NN_PLOT_INTERNAL_H
#define JX_NN_PLOT_INTERNAL_H

#include <cairo.h>
#include <jx.h>

/* Writes the surface as a PNG at path atomically (temporary file, fsync, rename); what
 * names the caller in the error. */
jx_status jx__plot_save_png(cairo_surface_t *s, const char *what, const char *path);
/* Draws text with its anchor at (x, y): ax, ay in {0, 0.5, 1} of its width and height. */
void jx__plot_text(cairo_t *cr, double x, double y, double ax, double ay, const char *s);

#endif
