/* 29_pca: principal component analysis of MNIST digits (or Fashion-MNIST): the
 * covariance of the training images is one matrix product, its eigenvectors (jx_eigh,
 * LAPACK's syevd) are the principal axes, and the test images are projected onto them:
 * onto the top two for a scatter plot coloured by class, onto the top k to measure what
 * a k-number summary of an image keeps (explained variance, reconstruction error). The
 * whole fit is one traced function compiled by jx_jit. See README.md. */
#include <stdio.h>
#include <stdlib.h>

#include <jx/plot.h>

#include "../../common/mnist_data.h"
#include "tut.h"

enum { D = MNIST_PIXELS };

/* in: x f32[n,D] (training), xt f32[m,D] (test). out: the covariance's eigenvalues
 * f32[D] in descending order, the top k principal axes f32[k,D] (rows), the test images'
 * coordinates on the top two f32[m,2], and the test images' mean squared reconstruction
 * error from their top-k coordinates f32[]. user: &k. */
static void pca(jx_val *out, const jx_val *in, void *user) {
    int64_t k = *(const long *)user, n = jx_dim(in[0], 0);
    jx_val mean = jx_mean(in[0], JX_INTS(0)), xc = jx_sub(in[0], mean), v, w;
    jx_val cov = jx_div_s(jx_dot_general(xc, xc, JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS), (double)n);
    jx_eigh(cov, &v, &w);                           /* ascending: reverse to descending */
    jx_val axes = jx_transpose(jx_rev(v, JX_INTS(1)), JX_INTS(1, 0)); /* [D,D], row i: axis i */
    jx_val top = jx_slice(axes, JX_INTS(0, 0), JX_INTS(k, D), JX_NOINTS);
    jx_val tc = jx_sub(in[1], mean), z = jx_matmul(tc, jx_transpose(top, JX_INTS(1, 0))); /* [m,k] */
    out[0] = jx_rev(w, JX_INTS(0));
    out[1] = top;
    out[2] = jx_slice(z, JX_INTS(0, 0), JX_INTS(jx_dim(z, 0), 2), JX_NOINTS);
    out[3] = jx_mean(jx_square(jx_sub(jx_matmul(z, top), tc)), JX_NOINTS);
}

int main(int argc, char **argv) {
    const char *prog = "tut_29_pca";
    trainer_opts o = {.data = tut_mnist_dir(), .epochs = 0, .batch = 0, .lr = 0, .seed = 0};
    long k = 50;
    trainer_extra ex[] = {{"--k", "N", "principal components kept (default 50)", TRAINER_LONG, 2, D, &k}};
    int quick, r = tut_parse(prog, "PCA of MNIST by jx_eigh of the covariance, with a scatter plot of the test "
                                   "images on the top two axes. --limit: training images (default all).",
                             argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.limit = 1000;
    jx_idx_split tr, te;
    if (mnist_load(prog, o.data, &tr, &te) < 0) return 1;
    int64_t n = jx_array_shape(tr.images)[0], m = jx_array_shape(te.images)[0];
    if (o.limit > 0 && o.limit < n) n = o.limit;
    if (quick) m = 500;
    jx_array *in[2] = {mnist_images(tr.images, NULL, 0, n, JX_INTS(n, D)), mnist_images(te.images, NULL, 0, m, JX_INTS(m, D))};

    jx_aval av[2] = {JX_AVAL(JX_F32, n, D), JX_AVAL(JX_F32, m, D)};
    jx_fn *fn = jx_trace("pca", pca, &k, 2, av, 4);
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o.threads;
    jx_exec *exe = fn ? jx_jit(fn, o.device, &jo) : NULL;
    if (!exe) return tut_fail(prog, "building the PCA");
    jx_array *out[4];
    tut_timer t = tut_timer_start();
    jx_status st = jx_exec_run(exe, 2, in, 4, out);
    tut_timer_stop(&t, "covariance, eigh, projection");
    if (st != JX_OK) return tut_fail(prog, "the PCA");

    /* the share of the variance the top j axes explain, j = 1..D */
    const float *w = jx_array_data(out[0]);
    double total = 0, *cum = malloc(sizeof(double) * D), *x = malloc(sizeof(double) * D);
    for (int i = 0; i < D; i++) total += w[i] > 0 ? w[i] : 0;
    for (int i = 0; i < D; i++) cum[i] = (i ? cum[i - 1] : 0) + (w[i] > 0 ? w[i] : 0) / total, x[i] = i + 1;
    double mse = jx_array_get(out[3], 0), ev = cum[k - 1];
    printf("top 2 axes explain %.1f%% of the variance, top %ld explain %.1f%%; test images rebuilt from %ld "
           "numbers: mean squared error %.5f\n", 100 * cum[1], k, 100 * ev, k, mse);
    tut_metric("explained_variance", ev);

    char path[4096];
    if (jx_plot_available()) {
        jx_plot_series s = {"cumulative share of the variance", x, cum, D};
        if (jx_plot_lines(tut_path(path, sizeof path, &o, "explained_variance.png"), "PCA: explained variance",
                          "principal axes kept", "share of the variance", 1, &s, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        int nshow = k < 10 ? (int)k : 10, sig[1] = {1};
        if (jx_plot_images(tut_path(path, sizeof path, &o, "axes.png"), "the top principal axes (red +, blue -)", 1,
                           nshow, 28, 28, jx_array_data(out[1]), sig, NULL, NULL, 3) == JX_OK)
            printf("wrote %s\n", path);
        const float *z = jx_array_data(out[2]);
        const uint8_t *y = jx_array_data(te.labels);
        double *zx = malloc(sizeof(double) * (size_t)(2 * m));
        int *cl = malloc(sizeof(int) * (size_t)m);
        for (int64_t i = 0; i < m; i++) zx[i] = z[2 * i], zx[m + i] = z[2 * i + 1], cl[i] = y[i];
        if (jx_plot_scatter(tut_path(path, sizeof path, &o, "scatter.png"), "test images on the top two principal axes",
                            "principal axis 1", "principal axis 2", m, zx, zx + m, cl, MNIST_CLASSES,
                            mnist_class_names(o.data), 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        free(zx), free(cl);
    }
    for (int i = 0; i < 4; i++) jx_array_release(out[i]);
    jx_array_release(in[0]), jx_array_release(in[1]);
    jx_exec_release(exe), jx_fn_release(fn);
    jx_idx_split_free(&tr), jx_idx_split_free(&te);
    free(cum), free(x);
    /* random directions would explain k / 784 of it (0.064 for k = 50) */
    return tut_quick_check(quick, "explained variance", ev, 0.5, 1);
}
