/* coco_seg_step.c: training throughput of coco_seg's U-Net (examples/coco_seg/seg_model.c:
 * the same model, loss, Adam step) on fixed synthetic batches, in images per second, the
 * figure bench/peers/coco_seg_jax.py prints for the same recipe in JAX.
 *   build/bench/bench_coco_seg_step [SIZE [BATCH [STEPS [WIDTH [DEPTH [THREADS]]]]]]
 * defaults: 128 8 5 16 3 0 (threads 0: jx's default). The first step (compilation) is
 * timed apart; the figure is the mean of the steps after it. */
#include <stdio.h>
#include <stdlib.h>

#include "../examples/coco_seg/seg_model.h"
#include "bench_util.h"

int main(int argc, char **argv) {
    int size = argc > 1 ? atoi(argv[1]) : 128, batch = argc > 2 ? atoi(argv[2]) : 8;
    int steps = argc > 3 ? atoi(argv[3]) : 5, width = argc > 4 ? atoi(argv[4]) : 16;
    int depth = argc > 5 ? atoi(argv[5]) : 3, threads = argc > 6 ? atoi(argv[6]) : 0;
    if (size < 8 || batch < 1 || steps < 1) return fprintf(stderr, "usage: %s [SIZE [BATCH [STEPS ...]]]\n", argv[0]), 2;
    seg_setup s = {jx_nn_unet_default(3, 2), size, 1e-3, 1000, threads, JX_DEVICE_CPU, 0};
    s.unet.width = width, s.unet.depth = depth;
    seg_model m;
    size_t px = (size_t)batch * (size_t)size * (size_t)size;
    float *x = malloc(px * 3 * sizeof *x);
    int32_t *y = malloc(px * sizeof *y);
    if (!x || !y || seg_model_init(&m, &s) != 0) return fprintf(stderr, "coco_seg_step: %s\n", jx_errmsg()), 1;
    uint64_t r = 1;
    for (size_t i = 0; i < px * 3; i++) r = r * 6364136223846793005ULL + 1, x[i] = (float)((r >> 40) % 1000) / 500.0f - 1;
    for (size_t i = 0; i < px; i++) y[i] = (int32_t)(((i / (size_t)size) % (size_t)size) > (size_t)size / 2);
    jx_coco_batch b = {.n = batch, .images = x, .labels_i32 = y};
    double loss, t0 = bench_now();
    if (seg_model_step(&m, &b, &loss, NULL) != 0) return fprintf(stderr, "coco_seg_step: %s\n", jx_errmsg()), 1;
    double first = bench_now() - t0;
    t0 = bench_now();
    for (int i = 0; i < steps; i++)
        if (seg_model_step(&m, &b, &loss, NULL) != 0) return fprintf(stderr, "coco_seg_step: %s\n", jx_errmsg()), 1;
    double t = (bench_now() - t0) / steps;
    printf("jx  unet width %d depth %d, %dx%d, batch %d: first step (compile) %.2f s, step %.3f s, %.1f images/s, "
           "%lld parameters, loss %.4f\n",
           width, depth, size, size, batch, first, t, batch / t, (long long)jx_tree_num_params(m.state[0]), loss);
    seg_model_free(&m);
    free(x), free(y);
    return 0;
}
