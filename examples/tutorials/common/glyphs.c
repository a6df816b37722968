/* glyphs.c: see glyphs.h. */
#include "glyphs.h"

#include <stdlib.h>
#include <string.h>

#include "tut.h"

void glyph_classes(uint64_t seed, int64_t n, int *seg) {
    float *u = malloc(sizeof(float) * (size_t)(n * GLYPH_SEG));
    if (!u) return;
    tut_uniform(seed, n * GLYPH_SEG, u);
    for (int64_t i = 0; i < n * GLYPH_SEG; i++) seg[i] = 4 + (int)((double)u[i] * 20);
    free(u);
}

void glyph_draw(float *img, int h, int w, const int *seg, int nstrokes, int dx, int dy, float value) {
    for (int s = 0; s < nstrokes; s++) {
        int x0 = seg[4 * s] + dx, y0 = seg[4 * s + 1] + dy, x1 = seg[4 * s + 2] + dx, y1 = seg[4 * s + 3] + dy;
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 < 0 ? 0 : x1, y1 = y1 < 0 ? 0 : y1;
        for (int k = 0; k < GLYPH_POINTS; k++) {
            int x = (x0 * (GLYPH_POINTS - 1 - k) + x1 * k) / (GLYPH_POINTS - 1);
            int y = (y0 * (GLYPH_POINTS - 1 - k) + y1 * k) / (GLYPH_POINTS - 1);
            for (int py = y; py < y + 2 && py < h; py++)
                for (int px = x; px < x + 2 && px < w; px++) img[py * w + px] = value;
        }
    }
}

void glyph_instances(uint64_t seed, const int *seg, int64_t n, int per, float *img) {
    const int per_inst = GLYPH_SEG + 2;
    float *u = malloc(sizeof(float) * (size_t)(n * per * per_inst));
    if (!u) return;
    tut_uniform(seed, n * per * per_inst, u);
    memset(img, 0, sizeof(float) * (size_t)(n * per * GLYPH_SIDE * GLYPH_SIDE));
    for (int64_t i = 0; i < n * per; i++) {
        const float *ui = u + i * per_inst;
        int moved[GLYPH_SEG];
        for (int j = 0; j < GLYPH_SEG; j++) moved[j] = seg[(i / per) * GLYPH_SEG + j] + (int)((double)ui[j] * 5) - 2;
        int dx = (int)((double)ui[GLYPH_SEG] * 5) - 2, dy = (int)((double)ui[GLYPH_SEG + 1] * 5) - 2;
        glyph_draw(img + i * GLYPH_SIDE * GLYPH_SIDE, GLYPH_SIDE, GLYPH_SIDE, moved, GLYPH_STROKES, dx, dy, 1);
    }
    free(u);
}
