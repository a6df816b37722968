/* glyphs.h: generated handwriting-like glyphs for the tutorials that need many classes
 * of small images (26_prototypical_nets, an Omniglot stand-in) or objects to track
 * (24_siamese_tracking). A glyph class is GLYPH_STROKES straight strokes with integer
 * endpoints; an instance of it moves every endpoint by a few pixels and the whole glyph
 * by a few more, as two people write one letter differently. Everything is integer
 * arithmetic on common/tut.h's uniforms, so that common/glyphs.py draws the same pixels.
 *
 *     int seg[NCLASSES * GLYPH_SEG];
 *     glyph_classes(seed, NCLASSES, seg);
 *     glyph_instances(seed + 1, seg, NCLASSES, 20, img);   // img: NCLASSES*20 images of 28x28 */
#ifndef JX_TUT_GLYPHS_H
#define JX_TUT_GLYPHS_H

#include <stdint.h>

enum {
    GLYPH_STROKES = 3,                  /* strokes per glyph */
    GLYPH_SEG = 4 * GLYPH_STROKES,      /* ints per glyph: x0, y0, x1, y1 per stroke */
    GLYPH_SIDE = 28,                    /* an instance's image is GLYPH_SIDE x GLYPH_SIDE */
    GLYPH_JITTER = 2,                   /* an instance moves each endpoint by -2..2 ... */
    GLYPH_SHIFT = 2,                    /* ... and the glyph by -2..2 in x and y */
    GLYPH_POINTS = 29                   /* pen positions along a stroke */
};

/* n glyph classes: seg[c * GLYPH_SEG + 4 s + (0..3)] = stroke s's x0, y0, x1, y1 of
 * class c, each 4 + floor(20 u) for uniforms u of tut_uniform(seed) in that order. */
void glyph_classes(uint64_t seed, int64_t n, int *seg);

/* Draws the strokes seg[0 .. 4 nstrokes) moved by (dx, dy) into img (h x w, row-major):
 * GLYPH_POINTS pen positions per stroke, (x0 (P-1-k) + x1 k) / (P-1) for k = 0..P-1
 * (integer division; coordinates below 0 are clamped to 0), each setting its 2x2 pixels
 * (those inside the image) to value. */
void glyph_draw(float *img, int h, int w, const int *seg, int nstrokes, int dx, int dy, float value);

/* per instances of each of n classes (seg from glyph_classes) as n * per images of
 * GLYPH_SIDE^2 floats (0 background, 1 ink), class-major: instance i of class c draws
 * its strokes with each coordinate moved by floor(5 u) - 2 (GLYPH_SEG uniforms) and the
 * glyph by floor(5 u) - 2 in x, then y, from tut_uniform(seed), GLYPH_SEG + 2 per
 * instance, in image order. */
void glyph_instances(uint64_t seed, const int *seg, int64_t n, int per, float *img);

#endif
