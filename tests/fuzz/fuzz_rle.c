/* fuzz_rle.c: libFuzzer target for the compressed RLE decoder. The first two bytes are
 * the mask's height and width (1..64), the rest the string. A string that parses must print
 * back to runs that parse to the same counts; when its runs cover the mask, the decoded
 * mask must encode to runs that decode to the same pixels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jx/coco.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint32_t h = data[0] % 64 + 1, w = data[1] % 64 + 1;
    jx_rle r, back, enc;
    if (jx_rle_from_string((const char *)data + 2, size - 2, h, w, &r) != JX_OK) return 0;
    char *s = jx_rle_to_string(&r);
    if (!s || jx_rle_from_string(s, strlen(s), h, w, &back) != JX_OK) abort();
    if (back.m != r.m || (r.m && memcmp(back.counts, r.counts, r.m * sizeof *r.counts))) abort();
    uint8_t m[64 * 64], m2[64 * 64];
    if (jx_rle_decode(&r, m) == JX_OK) {
        if (jx_rle_encode(m, h, w, &enc) != JX_OK || jx_rle_decode(&enc, m2) != JX_OK || memcmp(m, m2, h * w)) abort();
        if (jx_rle_area(&enc) != jx_rle_area(&r)) abort();
        jx_rle_free(&enc);
    }
    free(s);
    jx_rle_free(&r), jx_rle_free(&back);
    return 0;
}
