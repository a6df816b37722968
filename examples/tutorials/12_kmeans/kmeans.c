/* 12_kmeans: k-means clustering of MNIST digits by Lloyd's algorithm. The distance from
 * one image to every centroid is written for a single image and jx_vmap turns it into
 * the distances of the whole data set (one matrix product once compiled); jx_jit
 * compiles one Lloyd iteration (assign every image to its nearest centroid, move every
 * centroid to the mean of its images) into one native function. Scored by purity: the
 * share of images whose cluster's most common digit is their own. See README.md. */
#include <stdio.h>
#include <stdlib.h>

#include <jx/plot.h>

#include "../../common/mnist_data.h"
#include "tut.h"

enum { D = MNIST_PIXELS, MAXK = 64 };

/* One image to the nearest of k centroids. in: x f32[D], c f32[k,D]. out: its index i32[]
 * and its squared distance f32[]. |x - c|^2 = |c|^2 - 2 c.x + |x|^2, so that once
 * vmapped over images c.x becomes a matrix product. */
static void nearest(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0], c = in[1];
    jx_val d = jx_add(jx_sub(jx_sum(jx_square(c), JX_INTS(1)), jx_mul_s(jx_matmul(c, x), 2)),
                      jx_sum(jx_square(x), JX_NOINTS));
    out[0] = jx_argmin(d, 0, JX_I32);
    out[1] = jx_max_s(jx_reduce_min(d, JX_INTS(0)), 0); /* rounding can dip below 0 */
}

/* One Lloyd iteration. in: x f32[n,D], c f32[k,D]. out: the new centroids, the inertia
 * (the sum of squared distances to the old ones). user: the traced `nearest`. An empty
 * cluster keeps its centroid. */
static void lloyd(jx_val *out, const jx_val *in, void *user) {
    jx_val x = in[0], c = in[1], nd[2];
    int64_t k = jx_dim(c, 0);
    jx_vmap_call((const jx_fn *)user, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, 2, in, 2, nd);
    jx_val onehot = jx_one_hot(nd[0], k, JX_F32);                                 /* [n,k] */
    jx_val counts = jx_sum(onehot, JX_INTS(0));                                   /* [k] */
    jx_val sums = jx_dot_general(onehot, x, JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS); /* [k,D] */
    jx_val mean = jx_div(sums, jx_expand_dims(jx_max_s(counts, 1), JX_INTS(1)));
    out[0] = jx_select(jx_expand_dims(jx_gt(counts, jx_scalar(JX_F32, 0)), JX_INTS(1)), mean, c);
    out[1] = jx_sum(nd[1], JX_NOINTS);
}

/* Projection onto the top two principal axes (for the picture). in: x f32[m,D]; out:
 * f32[m,2], the first column along the largest eigenvalue of the covariance. */
static void project2(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val xc = jx_sub(in[0], jx_mean(in[0], JX_INTS(0))), v, w;
    jx_eigh(jx_matmul(jx_transpose(xc, JX_INTS(1, 0)), xc), &v, &w); /* ascending eigenvalues */
    out[0] = jx_matmul(xc, jx_rev(jx_slice(v, JX_INTS(0, D - 2), JX_INTS(D, D), JX_NOINTS), JX_INTS(1)));
}

/* Runs f traced over avals on the arrays in, with jx_jit: 0 or -1 (jx_errmsg() set). */
static int run(const char *name, jx_body f, void *user, int nin, jx_array **in, int nout, jx_array **out, int threads) {
    jx_aval av[2];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    jx_fn *fn = jx_trace(name, f, user, nin, av, nout);
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = threads;
    jx_exec *ex = fn ? jx_jit(fn, JX_DEVICE_CPU, &jo) : NULL;
    int ok = ex && jx_exec_run(ex, nin, in, nout, out) == JX_OK;
    jx_exec_release(ex), jx_fn_release(fn);
    return ok ? 0 : -1;
}

/* The assignment body for run(): vmaps `nearest` (user) over the images of in[0]. */
static void assign(jx_val *out, const jx_val *in, void *user) {
    jx_vmap_call((const jx_fn *)user, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, 2, in, 2, out);
}

/* majority[j]: the most common label in cluster j; returns the purity of the assignment. */
static double purity(int64_t n, const int32_t *a, const uint8_t *y, int k, int *majority) {
    int64_t cnt[MAXK][MNIST_CLASSES] = {{0}}, right = 0;
    for (int64_t i = 0; i < n; i++) cnt[a[i]][y[i]]++;
    for (int j = 0; j < k; j++) {
        majority[j] = 0;
        for (int c = 1; c < MNIST_CLASSES; c++)
            if (cnt[j][c] > cnt[j][majority[j]]) majority[j] = c;
        right += cnt[j][majority[j]];
    }
    return (double)right / (double)n;
}

int main(int argc, char **argv) {
    const char *prog = "tut_12_kmeans";
    trainer_opts o = {.data = tut_mnist_dir(), .epochs = 50, .batch = 0, .lr = 0, .seed = 0};
    long k = 10;
    trainer_extra ex[] = {{"--k", "N", "clusters (default 10)", TRAINER_LONG, 2, MAXK, &k}};
    int quick, r = tut_parse(prog, "k-means clustering of MNIST by Lloyd's algorithm (jx_vmap, jx_jit). --epochs: "
                                   "Lloyd iterations; --limit: training images (default all).", argc, argv, &o, ex, 1,
                             &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 10, o.limit = 1000;
    jx_idx_split tr, te;
    if (mnist_load(prog, o.data, &tr, &te) < 0) return 1;
    int64_t n = jx_array_shape(tr.images)[0], nt = jx_array_shape(te.images)[0];
    if (o.limit > 0 && o.limit < n) n = o.limit;
    if (quick) nt = 1000;
    jx_array *x = mnist_images(tr.images, NULL, 0, n, JX_INTS(n, D));
    jx_array *xt = mnist_images(te.images, NULL, 0, nt, JX_INTS(nt, D));

    /* the initial centroids: k training images drawn by common/tut.h's generator */
    float u[MAXK], *c0 = malloc(sizeof(float) * (size_t)(k * D));
    const float *px = jx_array_data(x);
    tut_uniform(o.seed + 1, k, u);
    for (int j = 0; j < k; j++) {
        int64_t i = (int64_t)((double)u[j] * (double)n);
        for (int d = 0; d < D; d++) c0[j * D + d] = px[i * D + d];
    }
    jx_array *c = jx_array_new(JX_F32, JX_INTS(k, D), c0);
    free(c0);

    jx_aval nav[2] = {JX_AVAL(JX_F32, D), JX_AVAL(JX_F32, k, D)}, lav[2] = {JX_AVAL(JX_F32, n, D), JX_AVAL(JX_F32, k, D)};
    jx_fn *near = jx_trace("nearest", nearest, NULL, 2, nav, 2);
    jx_fn *step = near ? jx_trace("lloyd", lloyd, near, 2, lav, 2) : NULL;
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o.threads;
    jo.donate = JX_INTS(1);
    jx_exec *exe = step ? jx_jit(step, o.device, &jo) : NULL;
    if (!exe) return tut_fail(prog, "building the Lloyd step");

    double *inertia = malloc(sizeof(double) * (size_t)o.epochs);
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int e = 0; e < o.epochs; e++) {
        jx_array *in[2] = {x, c}, *out[2];
        if (jx_exec_run(exe, 2, in, 2, out) != JX_OK) { status = tut_fail(prog, "a Lloyd iteration"); break; }
        jx_array_release(c);
        c = out[0];
        inertia[e] = jx_array_get(out[1], 0) / (double)n;
        jx_array_release(out[1]);
    }
    tut_timer_stop(&t, "Lloyd iterations");

    /* purity on the training images; the test images get their nearest cluster's digit */
    jx_array *in[2] = {x, c}, *a[2] = {NULL, NULL}, *at[2] = {NULL, NULL}, *tin[2] = {xt, c}, *proj = NULL;
    int majority[MAXK];
    double pur = 0, acc = 0;
    if (!status && (run("assign", assign, near, 2, in, 2, a, o.threads) < 0 ||
                    run("assign", assign, near, 2, tin, 2, at, o.threads) < 0 ||
                    run("project2", project2, NULL, 1, &xt, 1, &proj, o.threads) < 0))
        status = tut_fail(prog, "assigning the images");
    if (!status) {
        pur = purity(n, jx_array_data(a[0]), jx_array_data(tr.labels), (int)k, majority);
        const int32_t *ta = jx_array_data(at[0]);
        const uint8_t *ty = jx_array_data(te.labels);
        for (int64_t i = 0; i < nt; i++) acc += majority[ta[i]] == ty[i];
        acc /= (double)nt;
        printf("after %d iterations: inertia %.2f per image, training purity %.4f, test accuracy of the "
               "clusters' digits %.4f\n", o.epochs, inertia[o.epochs - 1], pur, acc);
        tut_metric("purity", pur);
    }

    /* pictures: the inertia per iteration, the centroids as images, the test images in
     * the plane of their top two principal axes coloured by cluster */
    char path[4096], names[MAXK][32];
    const char *labels[MAXK];
    if (!status && jx_plot_available()) {
        jx_plot_series s = {"inertia per image", NULL, inertia, o.epochs};
        if (jx_plot_lines(tut_path(path, sizeof path, &o, "inertia.png"), "k-means: inertia", "iteration",
                          "mean squared distance", 1, &s, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        for (int j = 0; j < k; j++) snprintf(names[j], sizeof names[j], "%d: '%d'", j, majority[j]), labels[j] = names[j];
        if (jx_plot_images(tut_path(path, sizeof path, &o, "centroids.png"), "k-means centroids (cluster: its digit)",
                           1, (int)k, 28, 28, jx_array_data(c), NULL, labels, NULL, 3) == JX_OK)
            printf("wrote %s\n", path);
        double *px2 = malloc(sizeof(double) * (size_t)(2 * nt));
        int *cl = malloc(sizeof(int) * (size_t)nt);
        const float *p = jx_array_data(proj);
        const int32_t *ta = jx_array_data(at[0]);
        for (int64_t i = 0; i < nt; i++) px2[i] = p[2 * i], px2[nt + i] = p[2 * i + 1], cl[i] = ta[i];
        for (int j = 0; j < k; j++) snprintf(names[j], sizeof names[j], "cluster %d ('%d')", j, majority[j]);
        if (jx_plot_scatter(tut_path(path, sizeof path, &o, "clusters.png"), "k-means clusters of the test images",
                            "principal axis 1", "principal axis 2", nt, px2, px2 + nt, cl, (int)k, labels, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        free(px2), free(cl);
    }
    for (int i = 0; i < 2; i++) jx_array_release(a[i]), jx_array_release(at[i]);
    jx_array_release(proj), jx_array_release(c), jx_array_release(x), jx_array_release(xt);
    jx_exec_release(exe), jx_fn_release(step), jx_fn_release(near);
    jx_idx_split_free(&tr), jx_idx_split_free(&te);
    free(inertia);
    if (status) return status;
    /* chance: random clusters score about the largest class's share, 0.11 */
    return tut_quick_check(quick, "purity", pur, 0.3, 1);
}
