/* utterances.h: the synthetic speech of 11_speech_ctc, drawn as data.py draws it. */
#ifndef TUT_UTTERANCES_H
#define TUT_UTTERANCES_H

#include <stdint.h>

enum { T = 48, F = 16, K = 8, LMAX = 5 }; /* frames, frequency bins, phonemes, labels at most */

typedef struct utterances {
    int64_t n;
    float *x;                 /* (n,T,F) spectrogram-like features */
    int32_t *labels, *length; /* (n,LMAX) phonemes 1..K padded with 0, (n) */
} utterances;

/* n utterances from stream seed (uniforms) and seed + 1 (noise); NULL fields when out of
 * memory. Free with utterances_free. */
utterances utterances_make(uint64_t seed, int64_t n);
void utterances_free(utterances *u);

#endif
