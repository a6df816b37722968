/* scenes.h: the generated images and captions of 22_image_captioning, drawn as data.py
 * draws them. */
#ifndef TUT_SCENES_H
#define TUT_SCENES_H

#include <stdint.h>

enum { S = 16, L = 9, PAD = 0, BOS = 1, EOS = 2, V = 14 }; /* image side, caption positions, vocabulary */

extern const char *const scene_words[V];

typedef struct scenes {
    int64_t n;
    float *img;       /* (n,S,S,3) RGB plus noise */
    int32_t *caption; /* (n,L): the words, <eos>, then PAD */
} scenes;

/* n scenes from stream seed (uniforms) and seed + 1 (noise); NULL fields when out of
 * memory. Free with scenes_free. */
scenes scenes_make(uint64_t seed, int64_t n);
void scenes_free(scenes *s);

/* The words of ids[0..n) up to <eos>, space-separated, into buf (n bytes at least 64). */
const char *scene_text(char *buf, int64_t size, const int32_t *ids, int n);

#endif
