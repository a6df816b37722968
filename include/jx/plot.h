/* jx/plot.h: PNG plots of training curves, a confusion matrix, image grids, heat maps and
 * scatter plots coloured by class, drawn with cairo (Debian's libcairo2) and written
 * atomically (temporary file, fsync, rename).
 *
 *     double loss[10] = {...}, acc[10] = {...};
 *     jx_plot_series s[2] = {{"train loss", NULL, loss, 10}, {"test loss", NULL, tl, 10}};
 *     jx_plot_lines("out/loss.png", "MNIST MLP", "epoch", "loss", 2, s, 0, 0);
 *     jx_plot_confusion("out/confusion.png", "test set", 10, m.confusion, NULL, 0);
 *     jx_plot_scatter("out/pca.png", "PCA", "PC 1", "PC 2", n, pc1, pc2, labels, 10, NULL, 0, 0);
 *
 * Where jx was built without cairo these return JX_ERR_UNSUPPORTED (jx_plot_available()
 * says which). Errors (a bad argument, an unwritable path) return a status with
 * jx_errmsg() naming the function and the file; an existing file is then left as it was.
 */
#ifndef JX_PLOT_H
#define JX_PLOT_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when jx was built with cairo, else 0. */
int jx_plot_available(void);

/* One curve: n points (x[i], y[i]); x NULL means 0, 1, ..., n-1. NaN y values leave a gap.
 * label (may be NULL) goes into the legend. */
typedef struct jx_plot_series {
    const char *label;
    const double *x;
    const double *y;
    int64_t n;
} jx_plot_series;

/* The fixed layout, in pixels, so that tests and users can locate the plot area: it spans
 * [LEFT, width - RIGHT) x [TOP, height - BOTTOM). */
#define JX_PLOT_LEFT 80
#define JX_PLOT_RIGHT 20
#define JX_PLOT_TOP 40
#define JX_PLOT_BOTTOM 60

/* Series colours (RGB 0-255), used in order: series i gets colour i % JX_PLOT_NCOLORS. */
#define JX_PLOT_NCOLORS 6
extern const unsigned char jx_plot_colors[JX_PLOT_NCOLORS][3];

/* Line plot of nseries curves with a title, axis labels (may be NULL), grid, ticks and a
 * legend, as a width x height PNG (0 for the default 800 x 500). The axes span the data
 * (y padded by 5% and rounded to ticks). */
jx_status jx_plot_lines(const char *path, const char *title, const char *xlabel,
                        const char *ylabel, int nseries, const jx_plot_series *series, int width,
                        int height);

/* The layout of the confusion matrix: cell (true i, predicted j) is the square at
 * (CM_LEFT + j * cell, CM_TOP + i * cell) of side cell. */
#define JX_PLOT_CM_LEFT 80
#define JX_PLOT_CM_TOP 60

/* Confusion matrix as a heat map: k x k counts, counts[true * k + predicted] (the layout
 * of jx_metrics.confusion). Each cell is shaded by its share of its row (white 0 to dark
 * blue 1) and shows its count; class_names (may be NULL: "0", "1", ...) label the rows
 * (true) and columns (predicted). cell is the side of a cell in pixels (0: 40). */
jx_status jx_plot_confusion(const char *path, const char *title, int64_t k, const int64_t *counts,
                            const char *const *class_names, int cell);

/* The layout of image grids and heat maps: tile or cell (r, c) has its top-left corner at
 * (IMG_LEFT + c * (tile + IMG_GAP), IMG_TOP + r * (tile + IMG_GAP)), tile the scaled image
 * (or cell) size; labels go in the gap below a tile and in the left margin. */
#define JX_PLOT_IMG_LEFT 60
#define JX_PLOT_IMG_TOP 40
#define JX_PLOT_IMG_GAP 16

/* A grid of rows x cols images of h x w values (saliency maps, inputs, activations):
 * tile (r, c) is pix[((r * cols + c) * h + y) * w + x]. A row is drawn in gray (the
 * tile's min black, its max white) or, when row_signed[r] (row_signed may be NULL: all
 * gray), signed: white at 0, red for positive and blue for negative values, scaled by the
 * tile's largest |value|. Each image pixel is a scale x scale square (0: 3). labels
 * (may be NULL, or hold NULLs) rows*cols captions under the tiles; row_labels (may be
 * NULL) rows names in the left margin. */
jx_status jx_plot_images(const char *path, const char *title, int rows, int cols, int h, int w, const float *pix,
                         const int *row_signed, const char *const *labels, const char *const *row_labels, int scale);

/* A heat map of rows x cols values (values[r * cols + c]) shaded from white (the
 * smallest value, or 0 when all are positive) to dark blue (the largest), cells of cell
 * pixels (0: 16) placed as the tiles above, with row and column labels (may be NULL). */
jx_status jx_plot_heatmap(const char *path, const char *title, int rows, int cols, const double *values,
                          const char *const *row_labels, const char *const *col_labels, int cell);

/* Class colours of scatter plots (RGB 0-255): class i gets colour i % JX_PLOT_NCLASS_COLORS
 * (matplotlib's tab10, whose first JX_PLOT_NCOLORS are jx_plot_colors). */
#define JX_PLOT_NCLASS_COLORS 10
extern const unsigned char jx_plot_class_colors[JX_PLOT_NCLASS_COLORS][3];
/* The radius in pixels of a scatter plot's points. */
#define JX_PLOT_DOT 3

/* Scatter plot of n points (x[i], y[i]) coloured by class: point i is an opaque disc of
 * radius JX_PLOT_DOT in the colour of class cls[i] (0 .. nclasses-1; cls NULL puts every
 * point in class 0), drawn in order (later points over earlier ones), with a title and
 * axis labels (may be NULL), grid, ticks, and a legend of the classes (class_names, may
 * be NULL: "0", "1", ...) on a white box at the top right of the plot area. Points with a
 * non-finite coordinate are left out. The plot area is laid out as jx_plot_lines's
 * (JX_PLOT_LEFT...); its axes span the finite points padded by 5% of their range on each
 * side (0.5 where the range is 0) and rounded out to whole ticks, ticks of 1, 2 or 5
 * times a power of ten, about 8 across and 6 up. width x height: 0 for 800 x 500.
 * Errors: n < 1, a missing x or y, nclasses outside 1..100, a class out of range (naming
 * the point), no finite point. */
jx_status jx_plot_scatter(const char *path, const char *title, const char *xlabel, const char *ylabel, int64_t n,
                          const double *x, const double *y, const int *cls, int nclasses,
                          const char *const *class_names, int width, int height);

#ifdef __cplusplus
}
#endif
#endif /* JX_PLOT_H */
