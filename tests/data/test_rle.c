/* test_rle.c: RLE masks against pycocotools: degenerate polygons and boxes (expected runs
 * from gen_rle_degenerate.py beside this file), encode/string/decode round trips, merges
 * pixel by pixel, and malformed RLE strings and counts. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/coco.h>

#include "harness.h"

static void test_degenerate(void) {
    FILE *f = fopen("data/rle_degenerate.expected", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        unsigned h, w;
        char kind[8];
        int off;
        CU_ASSERT_FATAL(sscanf(line, "%u %u %7s %n", &h, &w, kind, &off) == 3);
        double xy[32];
        size_t n = 0;
        char *q = line + off;
        while (*q != '=') xy[n++] = strtod(q, &q), q += strspn(q, " ");
        unsigned long long area;
        char want[256];
        CU_ASSERT_FATAL(sscanf(q, "= %llu %255s", &area, want) == 2);
        jx_rle r;
        jx_status st = !strcmp(kind, "box") ? jx_rle_from_bbox(xy, h, w, &r) : jx_rle_from_polygon(xy, n / 2, h, w, &r);
        CU_ASSERT_EQUAL_FATAL(st, JX_OK);
        char *s = jx_rle_to_string(&r);
        if (strcmp(s, want)) fprintf(stderr, "\n  %s: got %s\n", line, s);
        CU_ASSERT_STRING_EQUAL(s, want);
        CU_ASSERT_EQUAL(jx_rle_area(&r), area);
        free(s), jx_rle_free(&r);
        cases++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(cases, 18);
}

/* A deterministic pseudo-random mask with blobs (runs of both values, empty first run). */
static void blob_mask(uint8_t *m, uint32_t h, uint32_t w, uint32_t seed) {
    for (uint32_t i = 0; i < h * w; i++) {
        seed = seed * 1664525u + 1013904223u;
        m[i] = (seed >> 28) < 6 ? (i ? m[i - 1] : 1) : (uint8_t)((seed >> 24) & 1);
    }
}

static void test_round_trips(void) {
    const uint32_t sizes[][2] = {{1, 1}, {1, 7}, {5, 1}, {13, 17}, {64, 48}, {480, 640}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        uint32_t h = sizes[k][0], w = sizes[k][1];
        uint8_t *m = malloc(h * w), *back = malloc(h * w), *both = malloc(h * w);
        for (int v = 0; v < 4; v++) {
            if (v < 2) memset(m, v, h * w); /* all zeros, all ones */
            else blob_mask(m, h, w, (uint32_t)(k * 7 + v));
            jx_rle r, p;
            CU_ASSERT_EQUAL_FATAL(jx_rle_encode(m, h, w, &r), JX_OK);
            char *s = jx_rle_to_string(&r);
            CU_ASSERT_EQUAL_FATAL(jx_rle_from_string(s, strlen(s), h, w, &p), JX_OK);
            CU_ASSERT(p.m == r.m && !memcmp(p.counts, r.counts, r.m * 4));
            CU_ASSERT_EQUAL(jx_rle_decode(&p, back), JX_OK);
            CU_ASSERT(!memcmp(back, m, h * w));
            size_t ones = 0;
            for (size_t i = 0; i < h * w; i++) ones += m[i];
            CU_ASSERT_EQUAL(jx_rle_area(&r), ones);
            /* merge with the complement-ish second mask: union and intersection pixel by pixel */
            uint8_t *m2 = malloc(h * w);
            blob_mask(m2, h, w, (uint32_t)(99 + k + v));
            jx_rle pair[2] = {r, {0}}, u, in;
            CU_ASSERT_EQUAL(jx_rle_encode(m2, h, w, &pair[1]), JX_OK);
            CU_ASSERT_EQUAL(jx_rle_merge(pair, 2, 0, &u), JX_OK);
            CU_ASSERT_EQUAL(jx_rle_merge(pair, 2, 1, &in), JX_OK);
            int ok = 1;
            CU_ASSERT_EQUAL(jx_rle_decode(&u, both), JX_OK);
            for (size_t i = 0; i < h * w; i++) ok &= both[i] == (m[i] | m2[i]);
            CU_ASSERT_EQUAL(jx_rle_decode(&in, both), JX_OK);
            for (size_t i = 0; i < h * w; i++) ok &= both[i] == (m[i] & m2[i]);
            CU_ASSERT(ok);
            free(s), free(m2), jx_rle_free(&r), jx_rle_free(&p), jx_rle_free(&pair[1]), jx_rle_free(&u), jx_rle_free(&in);
        }
        free(m), free(back), free(both);
    }
}

static void test_bad_rle(void) {
    jx_rle r;
    CU_ASSERT_EQUAL(jx_rle_from_string("01x", 3, 2, 2, &r), JX_ERR_ARG);
    JT_ASSERT_ERR("rle_from_string: character 2 is 'x', outside '0'..'o'");
    CU_ASSERT_EQUAL(jx_rle_from_string("0o", 2, 2, 2, &r), JX_ERR_ARG); /* 'o' says more follows */
    JT_ASSERT_ERR("the last value is cut short at character 2");
    CU_ASSERT_EQUAL(jx_rle_from_string("0oooooooo", 9, 2, 2, &r), JX_ERR_ARG);
    JT_ASSERT_ERR("a value longer than 7 characters");
    CU_ASSERT_EQUAL(jx_rle_from_string("0K", 2, 2, 2, &r), JX_ERR_ARG); /* a negative count */
    JT_ASSERT_ERR("count 1 is -5, outside 0..2^32-1");
    /* counts that do not cover the mask: decode and merge refuse them (pycocotools would
     * write past its buffer or loop forever) */
    CU_ASSERT_EQUAL(jx_rle_from_string("12", 2, 2, 2, &r), JX_OK);
    uint8_t m[4];
    CU_ASSERT_EQUAL(jx_rle_decode(&r, m), JX_ERR_ARG);
    JT_ASSERT_ERR("rle_decode: the counts sum to 3, not 2x2 = 4");
    jx_rle two[2] = {r, r}, out;
    CU_ASSERT_EQUAL(jx_rle_merge(two, 2, 0, &out), JX_ERR_ARG);
    JT_ASSERT_ERR("rle_merge: the counts of RLE 0 sum to 3, not 2x2 = 4");
    jx_rle_free(&r);
    double xy[4] = {0, 0, 1e9, 1};
    CU_ASSERT_EQUAL(jx_rle_from_polygon(xy, 2, 4, 4, &r), JX_ERR_ARG);
    JT_ASSERT_ERR("rle_from_polygon: coordinate 2 is 1e+09, beyond +-1e6");
}

int main(void) {
    CU_TestInfo tests[] = {{"degenerate polygons and boxes", test_degenerate},
                           {"round trips and merges", test_round_trips},
                           {"malformed RLE", test_bad_rle},
                           CU_TEST_INFO_NULL};
    return jt_run("rle", tests);
}
