/* coco_masks: writes the masks of a COCO folder as PNG files, to look at or to compare with
 * pycocotools: the semantic mask of every image as <image id>.png (8-bit, the pixel is the
 * category id, 0 background, 255 ignore for crowds; overlaps as jx/coco.h says), or with
 * --instances one 0/1 PNG per annotation named <annotation id>.png at its image's size.
 *   coco_masks --data ../shared/data/coco-tiny --split val2017 --out /tmp/masks */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jx/coco.h>

static int usage(FILE *f, int code) {
    fprintf(f, "usage: coco_masks --data DIR --split NAME --out DIR [--instances]\n"
               "  --data DIR     a COCO folder (annotations/instances_NAME.json)\n"
               "  --split NAME   train2017, val2017, ...\n"
               "  --out DIR      where the PNGs go (created)\n"
               "  --instances    one 0/1 mask per annotation instead of one semantic mask per image\n");
    return code;
}

int main(int argc, char **argv) {
    const char *data = NULL, *split = NULL, *outdir = NULL;
    int instances = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--instances")) instances = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--data")) data = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--split")) split = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--out")) outdir = argv[++i];
        else return fprintf(stderr, "coco_masks: unknown option %s\n", argv[i]), usage(stderr, 2);
    }
    if (!data || !split || !outdir) return usage(stderr, 2);
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
        return fprintf(stderr, "coco_masks: %s: %s\n", outdir, strerror(errno)), 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/annotations/instances_%s.json", data, split);
    jx_coco *c;
    if (jx_coco_load(path, &c) != JX_OK) return fprintf(stderr, "coco_masks: %s\n", jx_errmsg()), 1;
    size_t n_img, n_ann, written = 0;
    const jx_coco_image *im = jx_coco_images(c, &n_img);
    const jx_coco_ann *a = jx_coco_anns(c, &n_ann);
    int rc = 0;
    for (size_t i = 0; i < (instances ? n_ann : n_img) && !rc; i++) {
        const jx_coco_image *m = instances ? &im[a[i].image] : &im[i];
        uint8_t *px = malloc((size_t)m->height * m->width);
        jx_status st = !px ? JX_ERR_NOMEM : instances ? jx_coco_ann_mask(c, &a[i], px) : jx_coco_semantic_mask(c, i, NULL, px);
        snprintf(path, sizeof path, "%s/%lld.png", outdir, (long long)(instances ? a[i].id : m->id));
        if (!st) st = jx_image_write_png(path, px, m->height, m->width, 1);
        if (st) rc = 1, fprintf(stderr, "coco_masks: %s\n", st == JX_ERR_NOMEM && !px ? "out of memory" : jx_errmsg());
        written += !st;
        free(px);
    }
    printf("coco_masks: %zu %s masks in %s\n", written, instances ? "instance" : "semantic", outdir);
    jx_coco_free(c);
    return rc;
}
