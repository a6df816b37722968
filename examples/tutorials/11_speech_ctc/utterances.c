/* utterances.c: synthetic "speech" for 11_speech_ctc (the same numbers as data.py). Each
 * phoneme k (1..8) is a pair of formants (Gaussian bumps on a 16-bin spectrogram), held
 * for 3-6 frames, its loudness and pitch (a shift of both formants) jittered, followed by
 * 0-2 silent frames; an utterance of 2-5 phonemes (no phoneme twice in a row) starts after
 * 0-4 silent frames, in 48 frames of Gaussian noise (sd 0.25). */
#include "utterances.h"

#include <math.h>
#include <stdlib.h>

#include "tut.h"

enum { DRAWS = 2 + 5 * LMAX }; /* uniforms per utterance: length, lead, 5 per phoneme */
static const double formants[K][2] = {{2, 8}, {2, 12}, {4, 10}, {4, 14}, {6, 9}, {6, 13}, {3, 15}, {7, 11}};

utterances utterances_make(uint64_t seed, int64_t n) {
    utterances u = {n, calloc((size_t)(n * T * F), sizeof(float)), calloc((size_t)(n * LMAX), sizeof(int32_t)),
                    calloc((size_t)n, sizeof(int32_t))};
    float *d = malloc(sizeof(float) * (size_t)(n * DRAWS));
    if (!u.x || !u.labels || !u.length || !d) {
        free(d), utterances_free(&u);
        return u;
    }
    tut_uniform(seed, n * DRAWS, d);
    tut_normal(seed + 1, n * T * F, u.x); /* the noise, to which the phonemes are added */
    for (int64_t i = 0; i < n; i++) {
        double di[DRAWS], spec[T * F] = {0};
        for (int j = 0; j < DRAWS; j++) di[j] = d[i * DRAWS + j];
        int len = 2 + (int)(di[0] * (LMAX - 1)), t = (int)(di[1] * 5), prev = -1;
        for (int j = 0; j < len; j++) {
            const double *p = di + 2 + 5 * j; /* label, duration, gap, loudness, shift */
            int k = prev < 0 ? (int)(p[0] * K) : (int)(p[0] * (K - 1));
            if (prev >= 0 && k >= prev) k++; /* never the phoneme before */
            prev = k;
            int frames = 3 + (int)(p[1] * 4);
            double f1 = formants[k][0] + (p[4] - 0.5), f2 = formants[k][1] + (p[4] - 0.5), a = 0.7 + 0.6 * p[3];
            for (int f = 0; f < F; f++) {
                double v = a * (exp(-0.5 * (f - f1) * (f - f1)) + 0.7 * exp(-0.5 * (f - f2) * (f - f2)));
                for (int s = t; s < t + frames; s++) spec[s * F + f] = v;
            }
            t += frames + (int)(p[2] * 3);
            u.labels[i * LMAX + j] = k + 1;
        }
        u.length[i] = len;
        float *x = u.x + i * T * F;
        for (int j = 0; j < T * F; j++) x[j] = (float)(spec[j] + 0.25 * (double)x[j]);
    }
    free(d);
    return u;
}

void utterances_free(utterances *u) {
    free(u->x), free(u->labels), free(u->length);
    u->x = NULL, u->labels = NULL, u->length = NULL;
}
