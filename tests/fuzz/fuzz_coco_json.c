/* fuzz_coco_json.c: libFuzzer target for the JSON-to-annotations path of the COCO reader.
 * Any input must load or fail with a message; what loads must give masks: every
 * annotation's mask is 0/1 and the semantic mask of every image is made (small images
 * only, so that one input stays fast). A crash, a leak or a wrong value is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/coco.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    jx_coco *c;
    if (jx_coco_load_buffer("fuzz.json", data, size, &c) != JX_OK) {
        if (!jx_errmsg()[0]) abort();
        return 0;
    }
    size_t ni, na;
    const jx_coco_image *im = jx_coco_images(c, &ni);
    const jx_coco_ann *a = jx_coco_anns(c, &na);
    uint8_t *m = malloc(1 << 16);
    for (size_t i = 0; i < na; i++) {
        const jx_coco_image *g = &im[a[i].image];
        if ((size_t)g->height * g->width > (1 << 16) || a[i].kind == JX_COCO_SEG_NONE) continue;
        if (jx_coco_ann_mask(c, &a[i], m) != JX_OK) continue; /* e.g. coordinates too far out */
        for (size_t p = 0; p < (size_t)g->height * g->width; p++)
            if (m[p] > 1) abort();
    }
    for (size_t i = 0; i < ni; i++)
        if ((size_t)im[i].height * im[i].width <= (1 << 16)) jx_coco_semantic_mask(c, i, NULL, m);
    free(m);
    jx_coco_free(c);
    return 0;
}
