/* vision.h: what the vision tutorials (09 segmentation, 10 detection) share: generated
 * scenes of shapes -- the same pixels, masks and boxes in C and in common/vision.py --
 * boxes drawn on images, IoU, non-maximum suppression and mAP.
 *
 *     vis_scenes s;
 *     if (vis_scenes_make(&s, seed, 1024, 32, 4, 2, 4)) ...   // 1,024 scenes of 32x32
 *     ... s.image, s.mask (segmentation), s.cls and s.box (detection) ...
 *     vis_scenes_free(&s);
 *
 * A scene is a side x side canvas cut into grid x grid cells. Each cell holds, with
 * probability 1/2, one filled shape centred in it: a square, a cross (a plus sign) or a triangle
 * (class 0, 1, 2), of half-size r in [rmin, rmax] pixels and brightness in [0.5, 1); the
 * shapes are painted in the cells' raster order (a later one covers an earlier one),
 * then Gaussian noise of deviation 0.1 is added to every pixel. */
#ifndef JX_TUT_VISION_H
#define JX_TUT_VISION_H

#include <stdint.h>

enum { VIS_CLASSES = 3 }; /* square, cross, triangle */
extern const char *const vis_class_names[VIS_CLASSES];

typedef struct vis_scenes {
    int64_t n, side, grid;
    float *image;  /* (n, side, side): the pixels */
    int32_t *mask; /* (n, side, side): 0 background, 1 + the class of the shape on top */
    int32_t *cls;  /* (n, grid, grid): 1 + the class of the shape centred in the cell, 0 none */
    float *box;    /* (n, grid, grid, 4): that shape's box x0, y0, x1, y1 in pixels (x1, y1
                      exclusive; it may reach past the canvas) */
} vis_scenes;

/* Draws n scenes from the streams seed (the shapes: 6 tut_uniform numbers per cell) and
 * seed + 1 (the noise: tut_normal per pixel). Returns 0, or -1 (s zeroed) when memory
 * runs out or the sizes are unusable (side not a multiple of grid, rmin > rmax). */
int vis_scenes_make(vis_scenes *s, uint64_t seed, int64_t n, int64_t side, int64_t grid, int rmin, int rmax);
void vis_scenes_free(vis_scenes *s);

/* Intersection over union of two boxes x0, y0, x1, y1 (0 when either is empty). */
double vis_iou(const float *a, const float *b);

/* A detection: a box in image img, its class and score. */
typedef struct vis_det {
    float box[4];
    float score;
    int cls;
    int64_t img;
} vis_det;

/* Non-maximum suppression: sorts d[0..n) by image, class and falling score (ties by
 * box position), then keeps in each image and class every box whose IoU with each kept
 * higher-scoring box is at most iou, moving the kept ones to the front. Returns their
 * number. */
int64_t vis_nms(vis_det *d, int64_t n, double iou);

/* Mean average precision at the IoU threshold iou (mAP@0.5 with 0.5) of the detections
 * d[0..n) against the ground truth of s (every cell's shape): per class the detections in
 * falling score order each match the best-overlapping unmatched true box of their image
 * and class with IoU >= iou (a true positive) or none (a false positive); AP is the area
 * under the precision-recall curve with precision made monotone (VOC's all-point
 * interpolation). ap (may be NULL) receives the VIS_CLASSES APs. Reorders d. */
double vis_map(vis_det *d, int64_t n, const vis_scenes *s, double iou, double *ap);

/* Draws the outline of box (x0, y0, x1, y1; pixels x0..x1-1 and y0..y1-1, clipped) on
 * the h x w image img with value v. */
void vis_draw_box(float *img, int64_t h, int64_t w, const float *box, float v);

#endif
