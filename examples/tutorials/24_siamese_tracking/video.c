/* video.c: see video.h. Video i takes its uniforms u from tut_uniform(seed + i):
 *   u[16 k .. 16 k + 16) object k: 12 stroke coordinates 2 + floor(12 u) (inside a 16x16
 *       box), its first corner floor(33 u) in x then y, its velocity floor(5 u) - 2;
 *   u[48 .. 72) the clutter strokes' coordinates, floor(48 u);
 *   u[72 + (t * 3 + k) * 12 ...) 12 per frame and object: its strokes' wobble floor(3 u) - 1;
 *   then per frame 48 x 48 noise pixels, 0.3 u.
 * Frame t: the noise, the clutter at 0.5, objects 2, 1, 0 at 1.0, each at its corner; a
 * corner moves by its velocity each frame, which flips (per axis) before a move that
 * would leave 0..VID_RANGE. */
#include "video.h"

#include <stdlib.h>
#include <string.h>

#include "glyphs.h"
#include "tut.h"

enum { OBJ_U = GLYPH_SEG + 4, CLUTTER_AT = VID_OBJECTS * OBJ_U, WOBBLE_AT = CLUTTER_AT + 4 * VID_CLUTTER,
       NOISE_AT = WOBBLE_AT + VID_FRAMES * VID_OBJECTS * GLYPH_SEG,
       PER_VIDEO = NOISE_AT + VID_FRAMES * VID_SIDE * VID_SIDE };

static int floor_of(float u, int k) { return (int)((double)u * k); }

static void draw_video(float *frames, int *pos, const float *u) {
    int seg[VID_OBJECTS][GLYPH_SEG], at[VID_OBJECTS][2], vel[VID_OBJECTS][2], clutter[4 * VID_CLUTTER];
    for (int k = 0; k < VID_OBJECTS; k++) {
        const float *uk = u + k * OBJ_U;
        for (int j = 0; j < GLYPH_SEG; j++) seg[k][j] = 2 + floor_of(uk[j], 12);
        for (int a = 0; a < 2; a++) at[k][a] = floor_of(uk[GLYPH_SEG + a], VID_RANGE + 1);
        for (int a = 0; a < 2; a++) vel[k][a] = floor_of(uk[GLYPH_SEG + 2 + a], 5) - 2;
    }
    for (int j = 0; j < 4 * VID_CLUTTER; j++) clutter[j] = floor_of(u[CLUTTER_AT + j], VID_SIDE);
    for (int t = 0; t < VID_FRAMES; t++) {
        float *f = frames + (int64_t)t * VID_SIDE * VID_SIDE;
        const float *noise = u + NOISE_AT + t * VID_SIDE * VID_SIDE;
        for (int p = 0; p < VID_SIDE * VID_SIDE; p++) f[p] = noise[p] * 0.3f;
        glyph_draw(f, VID_SIDE, VID_SIDE, clutter, VID_CLUTTER, 0, 0, 0.5f);
        for (int k = VID_OBJECTS - 1; k >= 0; k--) {
            if (t > 0)
                for (int a = 0; a < 2; a++) {
                    if (at[k][a] + vel[k][a] < 0 || at[k][a] + vel[k][a] > VID_RANGE) vel[k][a] = -vel[k][a];
                    at[k][a] += vel[k][a];
                }
            int moved[GLYPH_SEG];
            for (int j = 0; j < GLYPH_SEG; j++)
                moved[j] = seg[k][j] + floor_of(u[WOBBLE_AT + (t * VID_OBJECTS + k) * GLYPH_SEG + j], 3) - 1;
            glyph_draw(f, VID_SIDE, VID_SIDE, moved, GLYPH_STROKES, at[k][0], at[k][1], 1.0f);
        }
        for (int k = 0; k < VID_OBJECTS; k++)
            for (int a = 0; a < 2; a++) pos[(t * VID_OBJECTS + k) * 2 + a] = at[k][a];
    }
}

int video_make(video_set *v, int64_t n, uint64_t seed) {
    v->n = n;
    v->frames = malloc(sizeof(float) * (size_t)(n * VID_FRAMES * VID_SIDE * VID_SIDE));
    v->pos = malloc(sizeof(int) * (size_t)(n * VID_FRAMES * VID_OBJECTS * 2));
    float *u = malloc(sizeof(float) * PER_VIDEO);
    if (!v->frames || !v->pos || !u) {
        free(u);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        tut_uniform(seed + (uint64_t)i, PER_VIDEO, u);
        draw_video(v->frames + i * VID_FRAMES * VID_SIDE * VID_SIDE, v->pos + i * VID_FRAMES * VID_OBJECTS * 2, u);
    }
    free(u);
    return 0;
}

void video_free(video_set *v) {
    free(v->frames), free(v->pos);
    v->frames = NULL, v->pos = NULL;
}

void video_crop(const video_set *v, int64_t i, int t, int x, int y, float *out) {
    const float *f = v->frames + (i * VID_FRAMES + t) * VID_SIDE * VID_SIDE;
    for (int r = 0; r < VID_PATCH; r++)
        memcpy(out + r * VID_PATCH, f + (y + r) * VID_SIDE + x, sizeof(float) * VID_PATCH);
}
