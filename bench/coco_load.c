/* coco_load.c: how long the COCO reader takes on an instances file and how much memory it
 * keeps: wall and CPU seconds, peak resident memory, and what it read.
 *   python3 tools/coco_synth.py ../shared/data/coco-tiny/annotations/instances_train2017.json /tmp/synth.json
 *   build/bench/bench_coco_load /tmp/synth.json       (the size of instances_train2017.json) */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include <jx/coco.h>

static double secs(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec * 1e-6; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s INSTANCES.json\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    jx_coco *c;
    if (jx_coco_load(argv[1], &c) != JX_OK) {
        fprintf(stderr, "%s\n", jx_errmsg());
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    size_t ni, na, nc, polys = 0, coords = 0, runs = 0;
    jx_coco_images(c, &ni), jx_coco_categories(c, &nc);
    const jx_coco_ann *a = jx_coco_anns(c, &na);
    for (size_t i = 0; i < na; i++) {
        polys += a[i].n_polys, runs += a[i].rle.m;
        for (uint32_t p = 0; p < a[i].n_polys; p++) coords += a[i].poly_len[p];
    }
    printf("%s: %zu images, %zu categories, %zu annotations, %zu polygons, %zu coordinates, %zu RLE runs\n", argv[1], ni,
           nc, na, polys, coords, runs);
    printf("load: %.2f s wall, %.2f s CPU (user + system), peak RSS %.0f MB\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9, secs(u.ru_utime) + secs(u.ru_stime),
           (double)u.ru_maxrss / 1024.0);
    jx_coco_free(c);
    return 0;
}
