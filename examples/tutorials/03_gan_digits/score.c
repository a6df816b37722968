/* score.c: 03_gan_digits' classifier score of generated images (score.h): nearest class
 * means turned into probabilities, and the Inception score's exp(mean KL) over them. */
#include "score.h"

#include <math.h>
#include <stdlib.h>

#include "../../common/mnist_data.h"

enum { P = MNIST_PIXELS, K = MNIST_CLASSES };

/* exp(mean KL(p(y|x) || p(y))) of n images x against the class means m (K x P). */
static double score(const float *x, int64_t n, const double *m) {
    double *p = malloc(sizeof(double) * (size_t)(n * K)), py[K] = {0}, kl = 0;
    if (!p) return -1;
    for (int64_t i = 0; i < n; i++) {
        double *pi = p + i * K, top = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++) {
            double d = 0;
            for (int j = 0; j < P; j++) d += (x[i * P + j] - m[k * P + j]) * (x[i * P + j] - m[k * P + j]);
            pi[k] = -d / SCORE_TEMP;
            top = pi[k] > top ? pi[k] : top;
        }
        for (int k = 0; k < K; k++) sum += pi[k] = exp(pi[k] - top);
        for (int k = 0; k < K; k++) py[k] += (pi[k] /= sum) / (double)n;
    }
    for (int64_t i = 0; i < n * K; i++) kl += p[i] * (log(p[i] + 1e-12) - log(py[i % K] + 1e-12)) / (double)n;
    free(p);
    return exp(kl);
}

double score_samples(const jx_idx_split *test, int64_t ntest, const float *img, double *real) {
    jx_array *xt = mnist_images(test->images, NULL, 0, ntest, JX_INTS(ntest, P));
    jx_array *yt = mnist_labels(test->labels, NULL, 0, ntest, 0);
    double *m = calloc(K * P, sizeof(double)), count[K] = {0}, s = -1;
    if (xt && yt && m) {
        const float *x = jx_array_data(xt);
        const int32_t *y = jx_array_data(yt);
        for (int64_t i = 0; i < ntest; i++) {
            count[y[i]]++;
            for (int j = 0; j < P; j++) m[y[i] * P + j] += x[i * P + j];
        }
        for (int k = 0; k < K; k++)
            for (int j = 0; j < P; j++) m[k * P + j] /= count[k] > 0 ? count[k] : 1;
        *real = score(x, SCORE_N, m);
        s = score(img, SCORE_N, m);
    }
    jx_array_release(xt), jx_array_release(yt), free(m);
    return s;
}
