/* score.h: 03_gan_digits' measure of its samples, a classifier score (the Inception
 * score's formula with a classifier that needs no training): p(y|x) is the softmax over
 * the ten classes of -||x - mean_y||^2 / SCORE_TEMP, mean_y the mean test image of class
 * y, and the score exp(mean_x KL(p(y|x) || p(y))) is 1 when every sample looks like the
 * same class (or like none) and up to 10 when they are confidently spread over all ten.
 * data.py's score() computes the same. */
#ifndef TUT_03_SCORE_H
#define TUT_03_SCORE_H

#include <stdint.h>

#include <jx/idx.h>

enum { SCORE_N = 1000 };
#define SCORE_TEMP 4.0

/* The score of SCORE_N images (SCORE_N x 784 values in [0, 1]) against the class means of
 * test's first ntest images (as data.py), and in *real the score of the first SCORE_N
 * test images themselves (what real digits reach). -1 when out of memory. */
double score_samples(const jx_idx_split *test, int64_t ntest, const float *img, double *real);

#endif
