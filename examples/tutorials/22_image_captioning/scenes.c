/* scenes.c: images and captions for 22_image_captioning (the same numbers as data.py). Two
 * shapes (a filled square, a cross, a ring; 5x5 pixels) of four colours sit in two of the
 * four 8x8 cells of a 16x16 image, each jittered by 0-3 pixels in its cell, over Gaussian
 * noise (sd 0.1). The caption follows a small grammar: "a COLOUR SHAPE left of a COLOUR
 * SHAPE" naming the left shape first, or "... above ..." naming the upper one when both
 * share a column. */
#include "scenes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tut.h"

enum { DRAWS = 10, A = 3, LEFT = 4, OF = 5, ABOVE = 6, COLOUR = 7, SHAPE = 11 };
const char *const scene_words[V] = {"<pad>", "<bos>", "<eos>", "a",    "left",   "of",    "above",
                                    "red",   "green", "blue",  "yellow", "square", "cross", "ring"};
static const float rgb[4][3] = {{1, 0.1f, 0.1f}, {0.1f, 0.9f, 0.1f}, {0.2f, 0.3f, 1}, {1, 0.9f, 0.1f}};

/* Whether pixel (y, x) of a 5x5 shape is on. */
static int on(int shape, int y, int x) {
    if (shape == 0) return 1;
    if (shape == 1) return y == 2 || x == 2;
    return y == 0 || y == 4 || x == 0 || x == 4;
}

scenes scenes_make(uint64_t seed, int64_t n) {
    scenes s = {n, malloc(sizeof(float) * (size_t)(n * S * S * 3)), calloc((size_t)(n * L), sizeof(int32_t))};
    float *d = malloc(sizeof(float) * (size_t)(n * DRAWS));
    if (!s.img || !s.caption || !d) {
        free(d), scenes_free(&s);
        return s;
    }
    tut_uniform(seed, n * DRAWS, d);
    tut_normal(seed + 1, n * S * S * 3, s.img);
    for (int64_t i = 0; i < n * S * S * 3; i++) s.img[i] = (float)(0.1 * (double)s.img[i]);
    for (int64_t i = 0; i < n; i++) {
        const float *di = d + i * DRAWS;
        float *img = s.img + i * S * S * 3;
        int cell[2], col[2], shp[2];
        cell[0] = (int)((double)di[0] * 4), cell[1] = (int)((double)di[1] * 3);
        if (cell[1] >= cell[0]) cell[1]++;
        for (int j = 0; j < 2; j++) {
            col[j] = (int)((double)di[2 + j] * 4), shp[j] = (int)((double)di[4 + j] * 3);
            int y0 = 8 * (cell[j] / 2) + (int)((double)di[6 + 2 * j] * 4);
            int x0 = 8 * (cell[j] % 2) + (int)((double)di[7 + 2 * j] * 4);
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 5; x++)
                    for (int c = 0; on(shp[j], y, x) && c < 3; c++) img[((y0 + y) * S + x0 + x) * 3 + c] += rgb[col[j]][c];
        }
        int beside = cell[0] % 2 != cell[1] % 2;
        int first = beside ? (cell[0] % 2 < cell[1] % 2 ? 0 : 1) : (cell[0] < cell[1] ? 0 : 1), second = 1 - first;
        int32_t *w = s.caption + i * L, k = 0;
        w[k++] = A, w[k++] = COLOUR + col[first], w[k++] = SHAPE + shp[first];
        if (beside) w[k++] = LEFT, w[k++] = OF;
        else w[k++] = ABOVE;
        w[k++] = A, w[k++] = COLOUR + col[second], w[k++] = SHAPE + shp[second], w[k++] = EOS;
    }
    free(d);
    return s;
}

void scenes_free(scenes *s) {
    free(s->img), free(s->caption);
    s->img = NULL, s->caption = NULL;
}

const char *scene_text(char *buf, int64_t size, const int32_t *ids, int n) {
    int64_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && ids[i] != EOS; i++)
        if (ids[i] > EOS && ids[i] < V && at < size)
            at += snprintf(buf + at, (size_t)(size - at), at ? " %s" : "%s", scene_words[ids[i]]);
    return buf;
}
