/* vision.c: the generated scenes of shapes, IoU, NMS and mAP of the vision tutorials
 * (vision.h); common/vision.py computes the same. */
#include "vision.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tut.h"

const char *const vis_class_names[VIS_CLASSES] = {"square", "cross", "triangle"};

/* Whether (dx, dy) from the centre lies in shape k of half-size r (|dx|, |dy| <= r). */
static int inside(int k, int dx, int dy, int r) {
    if (k == 0) return 1;
    if (k == 1) return 3 * abs(dx) <= r || 3 * abs(dy) <= r; /* a plus sign */
    return 2 * abs(dx) <= dy + r; /* apex up */
}

int vis_scenes_make(vis_scenes *s, uint64_t seed, int64_t n, int64_t side, int64_t grid, int rmin, int rmax) {
    memset(s, 0, sizeof *s);
    if (n < 1 || grid < 1 || side % grid || rmin < 0 || rmin > rmax) return -1;
    int64_t px = n * side * side, cells = n * grid * grid, c = side / grid;
    float *u = malloc(sizeof(float) * (size_t)(6 * cells)), *noise = malloc(sizeof(float) * (size_t)px);
    s->image = calloc((size_t)px, sizeof(float)), s->mask = calloc((size_t)px, sizeof(int32_t));
    s->cls = calloc((size_t)cells, sizeof(int32_t)), s->box = calloc((size_t)(4 * cells), sizeof(float));
    if (!u || !noise || !s->image || !s->mask || !s->cls || !s->box) {
        free(u), free(noise), vis_scenes_free(s);
        return -1;
    }
    s->n = n, s->side = side, s->grid = grid;
    tut_uniform(seed, 6 * cells, u);
    tut_normal(seed + 1, px, noise);
    for (int64_t i = 0; i < cells; i++) {
        const float *v = u + 6 * i;
        if (v[0] >= 0.5f) continue;
        int64_t img = i / (grid * grid), gy = i / grid % grid, gx = i % grid;
        int k = (int)floor((double)v[1] * VIS_CLASSES), r = rmin + (int)floor((double)v[2] * (rmax - rmin + 1));
        int cy = (int)(gy * c) + (int)floor((double)v[3] * (double)c), cx = (int)(gx * c) + (int)floor((double)v[4] * (double)c);
        float bright = 0.5f + 0.5f * v[5];
        s->cls[i] = k + 1;
        float *b = s->box + 4 * i;
        b[0] = (float)(cx - r), b[1] = (float)(cy - r), b[2] = (float)(cx + r + 1), b[3] = (float)(cy + r + 1);
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++) {
                int y = cy + dy, x = cx + dx;
                if (y < 0 || x < 0 || y >= side || x >= side || !inside(k, dx, dy, r)) continue;
                int64_t p = (img * side + y) * side + x;
                s->mask[p] = k + 1, s->image[p] = bright;
            }
    }
    for (int64_t i = 0; i < px; i++) s->image[i] += 0.1f * noise[i];
    free(u), free(noise);
    return 0;
}

void vis_scenes_free(vis_scenes *s) {
    free(s->image), free(s->mask), free(s->cls), free(s->box);
    memset(s, 0, sizeof *s);
}

double vis_iou(const float *a, const float *b) {
    double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    double inter = w > 0 && h > 0 ? w * h : 0;
    double uni = (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Image, class, falling score, then the box: one order in C and Python. */
static int det_order(const void *pa, const void *pb) {
    const vis_det *a = pa, *b = pb;
    if (a->img != b->img) return a->img < b->img ? -1 : 1;
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    for (int i = 0; i < 4; i++)
        if (a->box[i] != b->box[i]) return a->box[i] < b->box[i] ? -1 : 1;
    return 0;
}

int64_t vis_nms(vis_det *d, int64_t n, double iou) {
    qsort(d, (size_t)n, sizeof *d, det_order);
    int64_t kept = 0, first = 0; /* d[first..kept): the kept boxes of the current image and class */
    for (int64_t i = 0; i < n; i++) {
        if (kept > 0 && (d[kept - 1].img != d[i].img || d[kept - 1].cls != d[i].cls)) first = kept;
        int keep = 1;
        for (int64_t j = first; j < kept && keep; j++) keep = vis_iou(d[j].box, d[i].box) <= iou;
        if (keep) d[kept++] = d[i];
    }
    return kept;
}

/* Falling score, then image and box (the order of a class's detections in vis_map). */
static int score_order(const void *pa, const void *pb) {
    const vis_det *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->img != b->img) return a->img < b->img ? -1 : 1;
    return det_order(pa, pb);
}

/* VOC's AP of one class: the detections d[0..n) in score order, tp[i] whether each is a
 * true positive, npos the true boxes. */
static double average_precision(const char *tp, int64_t n, int64_t npos) {
    if (npos == 0) return 0;
    double *prec = malloc(sizeof(double) * (size_t)(n + 1)), ap = 0;
    if (!prec) return 0;
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) hits += tp[i], prec[i] = (double)hits / (double)(i + 1);
    for (int64_t i = n - 2; i >= 0; i--) prec[i] = fmax(prec[i], prec[i + 1]);
    for (int64_t i = 0; i < n; i++)
        if (tp[i]) ap += prec[i] / (double)npos; /* recall rises by 1/npos at each hit */
    free(prec);
    return ap;
}

double vis_map(vis_det *d, int64_t n, const vis_scenes *s, double iou, double *ap) {
    int64_t cells = s->n * s->grid * s->grid, per = s->grid * s->grid;
    char *used = calloc((size_t)cells, 1), *tp = malloc((size_t)n + 1);
    double sum = 0;
    qsort(d, (size_t)n, sizeof *d, score_order);
    for (int k = 0; k < VIS_CLASSES; k++) {
        int64_t npos = 0, m = 0;
        for (int64_t i = 0; i < cells; i++) npos += s->cls[i] == k + 1;
        if (used) memset(used, 0, (size_t)cells);
        for (int64_t i = 0; i < n && used && tp; i++) {
            if (d[i].cls != k) continue;
            int64_t best = -1;
            double bi = iou;
            for (int64_t c = d[i].img * per; c < (d[i].img + 1) * per; c++) {
                if (s->cls[c] != k + 1 || used[c]) continue;
                double v = vis_iou(d[i].box, s->box + 4 * c);
                if (v >= bi) bi = v, best = c;
            }
            if (best >= 0) used[best] = 1;
            tp[m++] = best >= 0;
        }
        double a = used && tp ? average_precision(tp, m, npos) : 0;
        if (ap) ap[k] = a;
        sum += a;
    }
    free(used), free(tp);
    return sum / VIS_CLASSES;
}

void vis_draw_box(float *img, int64_t h, int64_t w, const float *box, float v) {
    int64_t x0 = (int64_t)floorf(box[0]), y0 = (int64_t)floorf(box[1]);
    int64_t x1 = (int64_t)ceilf(box[2]) - 1, y1 = (int64_t)ceilf(box[3]) - 1;
    for (int64_t y = y0; y <= y1; y++)
        for (int64_t x = x0; x <= x1; x++)
            if (y >= 0 && x >= 0 && y < h && x < w && (y == y0 || y == y1 || x == x0 || x == x1)) img[y * w + x] = v;
}
