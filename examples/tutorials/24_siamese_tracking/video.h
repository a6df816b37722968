/* video.h: the generated videos of 24_siamese_tracking: 48x48 grey frames of a cluttered
 * background (faint noise and static strokes) over which three glyphs (common/glyphs.h)
 * drift and bounce off the edges, each wobbling a little from frame to frame. Object 0,
 * drawn last (on top), is the one to track; its 16x16 box is the ground truth. data.py
 * draws the same pixels from the same uniforms. */
#ifndef JX_TUT_VIDEO_H
#define JX_TUT_VIDEO_H

#include <stdint.h>

enum {
    VID_SIDE = 48,                       /* frames are VID_SIDE x VID_SIDE */
    VID_PATCH = 16,                      /* an object's box */
    VID_FRAMES = 24,
    VID_OBJECTS = 3,                     /* object 0 is tracked, the others distract */
    VID_CLUTTER = 6,                     /* static background strokes */
    VID_RANGE = VID_SIDE - VID_PATCH     /* a box's top-left corner lies in 0..VID_RANGE */
};

/* n videos: frames[((v * VID_FRAMES + t) * VID_SIDE + y) * VID_SIDE + x] and object k's
 * box's top-left corner pos[((v * VID_FRAMES + t) * VID_OBJECTS + k) * 2 + (0: x, 1: y)]. */
typedef struct video_set {
    int64_t n;
    float *frames;
    int *pos;
} video_set;

/* Draws n videos, video i from tut_uniform(seed + i) (video.c tells the layout). 0, or -1
 * when out of memory. */
int video_make(video_set *v, int64_t n, uint64_t seed);
void video_free(video_set *v);

/* The VID_PATCH x VID_PATCH crop at (x, y) (inside the frame) of frame t of video i. */
void video_crop(const video_set *v, int64_t i, int t, int x, int y, float *out);

#endif
