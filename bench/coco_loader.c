/* coco_loader.c: the COCO batch loader's time per batch (decode, semantic mask, augment,
 * normalise) for several thread counts, against the time one thread needs per batch.
 *   build/bench/bench_coco_loader [COCO_DIR [SPLIT [SIZE [BATCH]]]]
 * defaults: ../shared/data/coco-tiny val2017 128 8. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>


#include <jx/coco.h>

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "../shared/data/coco-tiny", *split = argc > 2 ? argv[2] : "val2017";
    int size = argc > 3 ? atoi(argv[3]) : 128, batch = argc > 4 ? atoi(argv[4]) : 8;
    char path[4096], images[4096];
    snprintf(path, sizeof path, "%s/annotations/instances_%s.json", dir, split);
    snprintf(images, sizeof images, "%s/%s", dir, split);
    jx_coco *c;
    if (jx_coco_load(path, &c) != JX_OK) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
    printf("loader: %s, batch %d of %dx%d, augmented, one epoch after a warm-up epoch\n", images, batch, size, size);
    const int threads[] = {0, 1, 2, 4, 8};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        jx_coco_loader_opts o = {.coco = c, .image_dir = images, .batch = batch, .height = size, .width = size,
                                 .augment = 1, .flip = 1, .shuffle = 1, .drop_last = 1, .seed = 1,
                                 .threads = threads[t], .prefetch = 4};
        jx_coco_loader *l;
        if (jx_coco_loader_new(&o, &l) != JX_OK) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
        double wait = 0, t0 = 0, cpu0 = 0;
        size_t nb = jx_coco_loader_batches(l);
        for (uint32_t e = 0; e < 2; e++) {
            jx_coco_loader_epoch(l, e);
            if (e == 1) t0 = now(), wait = 0, cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            for (;;) {
                jx_coco_batch b;
                double w0 = now();
                if (jx_coco_loader_next(l, &b) != JX_OK) return fprintf(stderr, "%s\n", jx_errmsg()), 1;
                wait += now() - w0;
                if (b.n == 0) break;
            }
        }
        double total = now() - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        printf("  %d worker thread%s: %6.1f ms per batch (%5.1f images/s), CPU %6.1f ms per batch, the consumer "
               "waited %6.1f ms per batch\n", threads[t], threads[t] == 1 ? " " : "s", total / nb * 1e3, nb * batch / total,
               cpu / nb * 1e3, wait / nb * 1e3);
        jx_coco_loader_free(l);
    }
    jx_coco_free(c);
    return 0;
}
