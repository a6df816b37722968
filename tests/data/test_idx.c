/* test_idx.c: jx's IDX reader (jx/idx.h, src/data/idx.c): small raw and gzipped
 * files written into a temporary directory, every error it reports (by exact substring),
 * and, when the repository's copy of MNIST is present, its real test labels. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <jx/idx.h>
#include "harness.h"

static char tmpdir[256];
static char err[JX_IDX_ERR_MAX];

/* Asserts err contains s, printing both when it does not. */
#define ASSERT_ERR_HAS(s)                                                                  \
    do {                                                                                   \
        if (!strstr(err, (s)))                                                             \
            fprintf(stderr, "\n  %s:%d: error was '%s', wanted '%s'\n", __FILE__, __LINE__, \
                    err, (s));                                                             \
        CU_ASSERT_PTR_NOT_NULL(strstr(err, (s)));                                          \
    } while (0)

/* tmpdir/name, in a static buffer (one at a time). */
static const char *tpath(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

/* Writes n bytes to tmpdir/name, through gzip when gz; returns the path. */
static const char *write_file(const char *name, const void *bytes, size_t n, int gz) {
    const char *p = tpath(name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (n) CU_ASSERT_EQUAL(gzwrite(f, bytes, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(p, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (n) CU_ASSERT_EQUAL(fwrite(bytes, 1, n, f), n);
        fclose(f);
    }
    return p;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file in buf: magic, dims, then `ndata` bytes 0, 1, 2, ... Returns its size. */
static size_t make_idx(unsigned char *buf, uint32_t magic, int rank, const uint32_t *dims,
                       size_t ndata) {
    put32(buf, magic);
    for (int i = 0; i < rank; i++) put32(buf + 4 + 4 * i, dims[i]);
    size_t h = 4 + 4 * (size_t)rank;
    for (size_t i = 0; i < ndata; i++) buf[h + i] = (unsigned char)(i * 7 % 251);
    return h + ndata;
}

/* Asserts a is u8 of the given shape holding make_idx's bytes. */
static void check_pattern(jx_array *a, jx_ints shape) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(jx_array_dtype(a), JX_U8);
    CU_ASSERT_EQUAL_FATAL(jx_array_rank(a), shape.n);
    for (int i = 0; i < shape.n; i++) CU_ASSERT_EQUAL(jx_array_shape(a)[i], shape.v[i]);
    const unsigned char *d = jx_array_data(a);
    int bad = 0;
    for (int64_t i = 0; i < jx_array_size(a); i++) bad += d[i] != (unsigned char)(i * 7 % 251);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_read_raw_and_gz(void) {
    unsigned char buf[256];
    for (int gz = 0; gz < 2; gz++) {
        size_t n = make_idx(buf, 0x801, 1, (uint32_t[]){5}, 5);
        const char *p = write_file(gz ? "l.gz" : "l", buf, n, gz);
        jx_array *a = jx_idx_read(p, JX_IDX_LABELS, err, sizeof err);
        check_pattern(a, JX_INTS(5));
        CU_ASSERT_STRING_EQUAL(err, "");
        jx_array_release(a);

        n = make_idx(buf, 0x803, 3, (uint32_t[]){2, 3, 4}, 24);
        a = jx_idx_read(write_file(gz ? "i.gz" : "i", buf, n, gz), JX_IDX_ANY, err, sizeof err);
        check_pattern(a, JX_INTS(2, 3, 4));
        jx_array_release(a);
    }
}

/* Data larger than one read chunk of the reader's growing buffer. */
static void test_read_large(void) {
    uint32_t dims[3] = {300, 250, 250}; /* 18.75 MB */
    size_t nd = (size_t)dims[0] * dims[1] * dims[2];
    unsigned char *buf = malloc(16 + nd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t n = make_idx(buf, 0x803, 3, dims, nd);
    jx_array *a = jx_idx_read(write_file("big.gz", buf, n, 1), JX_IDX_IMAGES, err, sizeof err);
    check_pattern(a, JX_INTS(300, 250, 250));
    jx_array_release(a);
    free(buf);
}

static void test_truncated(void) {
    unsigned char buf[256];
    for (int gz = 0; gz < 2; gz++) {
        size_t n = make_idx(buf, 0x803, 3, (uint32_t[]){2, 3, 4}, 24);
        const char *p = write_file("t-images.gz", buf, n - 14, gz);
        CU_ASSERT_PTR_NULL(jx_idx_read(p, JX_IDX_IMAGES, err, sizeof err));
        ASSERT_ERR_HAS("t-images.gz: truncated: header says 2 images of 3x4 but the data ends "
                       "after 10 bytes");
        CU_ASSERT_PTR_NOT_NULL(strstr(err, tmpdir));

        n = make_idx(buf, 0x801, 1, (uint32_t[]){60000}, 7);
        p = write_file("t-labels", buf, n, gz);
        CU_ASSERT_PTR_NULL(jx_idx_read(p, JX_IDX_LABELS, err, sizeof err));
        ASSERT_ERR_HAS("t-labels: truncated: header says 60000 labels but the data ends after "
                       "7 bytes");

        CU_ASSERT_PTR_NULL(jx_idx_read(write_file("t-head", buf, 6, gz), JX_IDX_ANY, err, sizeof err));
        ASSERT_ERR_HAS("t-head: truncated: the header ends after 6 bytes");
        CU_ASSERT_PTR_NULL(jx_idx_read(write_file("empty", buf, 0, gz), JX_IDX_ANY, err, sizeof err));
        ASSERT_ERR_HAS("empty: truncated: the header ends after 0 bytes");
    }
    /* a gzip stream cut in the middle reads as truncated data, not as a corrupt file */
    size_t n = make_idx(buf, 0x803, 3, (uint32_t[]){2, 3, 4}, 24);
    write_file("cut.gz", buf, n, 1);
    FILE *f = fopen(tpath("cut.gz"), "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    unsigned char z[256];
    size_t zn = fread(z, 1, sizeof z, f);
    fclose(f);
    const char *p = write_file("cut.gz", z, zn - 12, 0); /* drop the crc and length */
    CU_ASSERT_PTR_NULL(jx_idx_read(p, JX_IDX_IMAGES, err, sizeof err));
    ASSERT_ERR_HAS("cut.gz: truncated: header says 2 images of 3x4");
}

static void test_wrong_magic(void) {
    unsigned char buf[64] = "PK\x03\x04 this is a zip";
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("zip", buf, 20, 0), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("zip: not an IDX file (magic 0x504b0304)");

    /* a gzip file gzipped again: after one decompression it starts with gzip's magic */
    size_t n = make_idx(buf, 0x801, 1, (uint32_t[]){3}, 3);
    write_file("inner.gz", buf, n, 1);
    FILE *f = fopen(tpath("inner.gz"), "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    unsigned char z[256];
    size_t zn = fread(z, 1, sizeof z, f);
    fclose(f);
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("twice.gz", z, zn, 1), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("twice.gz: not an IDX file (magic 0x1f8b08");

    n = make_idx(buf, 0x0d03, 3, (uint32_t[]){1, 1, 1}, 4); /* floats */
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("f32", buf, n, 0), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("f32: IDX type 0x0d of rank 3 is not supported");
    n = make_idx(buf, 0x802, 2, (uint32_t[]){1, 1}, 1); /* unsigned bytes, rank 2 */
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("r2", buf, n, 0), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("r2: IDX type 0x08 of rank 2 is not supported");

    /* a real IDX file of the other kind */
    n = make_idx(buf, 0x801, 1, (uint32_t[]){3}, 3);
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("lab", buf, n, 0), JX_IDX_IMAGES, err, sizeof err));
    ASSERT_ERR_HAS("lab: expected an IDX file of images (magic 0x00000803), found labels "
                   "(magic 0x00000801)");
}

static void test_wrong_dims(void) {
    unsigned char buf[64];
    size_t n = make_idx(buf, 0x803, 3, (uint32_t[]){2, 0, 28}, 0);
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("zero", buf, n, 0), JX_IDX_IMAGES, err, sizeof err));
    ASSERT_ERR_HAS("zero: bad image size 0x28 in the header");
    n = make_idx(buf, 0x803, 3, (uint32_t[]){0xffffffffu, 0xffffffffu, 2}, 0);
    CU_ASSERT_PTR_NULL(jx_idx_read(write_file("huge", buf, n, 0), JX_IDX_IMAGES, err, sizeof err));
    ASSERT_ERR_HAS("huge: header says 36893488130239234048 bytes of data, more than this "
                   "reader accepts");
    /* no images at all is a valid (empty) file */
    n = make_idx(buf, 0x803, 3, (uint32_t[]){0, 28, 28}, 0);
    jx_array *a = jx_idx_read(write_file("none", buf, n, 0), JX_IDX_IMAGES, err, sizeof err);
    check_pattern(a, JX_INTS(0, 28, 28));
    jx_array_release(a);
}

static void test_missing_and_corrupt(void) {
    CU_ASSERT_PTR_NULL(jx_idx_read(tpath("nope.gz"), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("nope.gz: cannot open: No such file or directory");
    CU_ASSERT_PTR_NULL(jx_idx_read(tmpdir, JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS(": cannot read the header: Is a directory");
    /* a gzip header followed by bytes that are not deflate data */
    unsigned char bad[32] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const char *p = write_file("bad.gz", bad, sizeof bad, 0);
    CU_ASSERT_PTR_NULL(jx_idx_read(p, JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("bad.gz: cannot read the header: ");
    /* a tiny error buffer is still terminated */
    char small[8];
    CU_ASSERT_PTR_NULL(jx_idx_read(tpath("nope.gz"), JX_IDX_ANY, small, sizeof small));
    CU_ASSERT_EQUAL(strlen(small), 7);
}

static void test_load_split(void) {
    unsigned char buf[256];
    size_t n = make_idx(buf, 0x803, 3, (uint32_t[]){3, 2, 2}, 12);
    write_file("train-images-idx3-ubyte.gz", buf, n, 1);
    n = make_idx(buf, 0x801, 1, (uint32_t[]){3}, 3);
    write_file("train-labels-idx1-ubyte", buf, n, 0); /* raw: found without .gz */
    jx_idx_split s;
    CU_ASSERT_EQUAL_FATAL(jx_idx_load_split(tmpdir, "train", &s, err, sizeof err), 0);
    check_pattern(s.images, JX_INTS(3, 2, 2));
    check_pattern(s.labels, JX_INTS(3));
    jx_idx_split_free(&s);
    CU_ASSERT_PTR_NULL(s.images);

    n = make_idx(buf, 0x801, 1, (uint32_t[]){4}, 4);
    write_file("train-labels-idx1-ubyte", buf, n, 0);
    CU_ASSERT_EQUAL(jx_idx_load_split(tmpdir, "train", &s, err, sizeof err), -1);
    ASSERT_ERR_HAS("/train-*: 3 images but 4 labels");
    CU_ASSERT_PTR_NULL(s.images);
    CU_ASSERT_PTR_NULL(s.labels);

    CU_ASSERT_EQUAL(jx_idx_load_split(tmpdir, "t10k", &s, err, sizeof err), -1);
    ASSERT_ERR_HAS("/t10k-images-idx3-ubyte.gz: cannot open: No such file or directory");
}

/* A file holding more data than its header declares is an error, raw or gzipped. */
static void test_extra_data(void) {
    unsigned char buf[256];
    size_t n = make_idx(buf, 0x801, 1, (uint32_t[]){3}, 8);
    write_file("long", buf, n, 0);
    CU_ASSERT_PTR_NULL(jx_idx_read(tpath("long"), JX_IDX_LABELS, err, sizeof err));
    ASSERT_ERR_HAS("/long: 5 bytes more than the header declares (3 labels)");
    n = make_idx(buf, 0x803, 3, (uint32_t[]){2, 2, 3}, 12 + 1);
    write_file("long.gz", buf, n, 1);
    CU_ASSERT_PTR_NULL(jx_idx_read(tpath("long.gz"), JX_IDX_ANY, err, sizeof err));
    ASSERT_ERR_HAS("/long.gz: 1 bytes more than the header declares (2 images of 2x3)");
    /* more than one scratch block of excess is counted whole */
    unsigned char *big = calloc(1, 8 + 40000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    n = make_idx(big, 0x801, 1, (uint32_t[]){0}, 40000);
    write_file("long.gz", big, n, 1);
    free(big);
    CU_ASSERT_PTR_NULL(jx_idx_read(tpath("long.gz"), JX_IDX_LABELS, err, sizeof err));
    ASSERT_ERR_HAS("/long.gz: 40000 bytes more than the header declares (0 labels)");
}

/* Labels outside the class range are named by index and value. */
static void test_check_labels(void) {
    unsigned char buf[64];
    size_t n = make_idx(buf, 0x801, 1, (uint32_t[]){4}, 0);
    memcpy(buf + n, (unsigned char[]){9, 0, 200, 10}, 4);
    write_file("lab", buf, n + 4, 0);
    jx_array *a = jx_idx_read(tpath("lab"), JX_IDX_LABELS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(jx_idx_check_labels(a, 10, "lab", err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "lab: label 2 is 200, outside the 10 classes 0..9");
    CU_ASSERT_EQUAL(jx_idx_check_labels(a, 201, "lab", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(jx_idx_check_labels(a, 0, "lab", err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "lab: a class count of 0 (it must be at least 1)");
    CU_ASSERT_EQUAL(jx_idx_check_labels(NULL, 10, NULL, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "labels: not a rank-1 u8 array of labels");
    jx_array_release(a);
}

/* Real test labels and images: the repository's MNIST when shared/data is there, else
 * Debian's Fashion-MNIST (dataset-fashion-mnist); reported as skipped when neither is. */
static void test_real_data(void) {
    const char *src = getenv("JX_SOURCE_DIR");
    char dirs[2][1024];
    snprintf(dirs[0], sizeof dirs[0], "%s/../shared/data/mnist", src ? src : "..");
    snprintf(dirs[1], sizeof dirs[1], "/usr/share/datasets/fashion-mnist");
    const int first[2] = {7, 9}; /* the first test label of each */
    int d = 0;
    char p[1100];
    for (; d < 2; d++) {
        snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dirs[d]);
        if (access(p, R_OK) == 0) break;
    }
    if (d == 2) {
        printf("\n  skipped: neither %s nor %s is there\n", dirs[0], dirs[1]);
        return;
    }
    printf("\n  data: %s\n", dirs[d]);
    jx_idx_split s;
    int rc = jx_idx_load_split(dirs[d], "t10k", &s, err, sizeof err);
    if (rc) fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(jx_array_shape(s.labels)[0], 10000);
    CU_ASSERT_EQUAL(jx_array_shape(s.images)[1], 28);
    CU_ASSERT_EQUAL(((const unsigned char *)jx_array_data(s.labels))[0], first[d]);
    CU_ASSERT_EQUAL(jx_idx_check_labels(s.labels, 10, p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jx_idx_check_labels(s.labels, 9, p, err, sizeof err), -1);
    ASSERT_ERR_HAS(" is 9, outside the 9 classes 0..8");
    jx_idx_split_free(&s);
}

/* Removes every file the tests wrote, then the directory. */
static void cleanup(void) {
    const char *names[] = {"l", "l.gz", "i", "i.gz", "big.gz", "t-images.gz", "t-labels",
                           "t-head", "empty", "cut.gz", "zip", "inner.gz", "twice.gz", "f32",
                           "r2", "lab", "long", "long.gz", "zero", "huge", "none", "bad.gz",
                           "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tpath(names[i]));
    rmdir(tmpdir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/jx_test_idx_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CU_TestInfo tests[] = {
        {"labels and images, raw and gzipped", test_read_raw_and_gz},
        {"data larger than a read chunk", test_read_large},
        {"truncated header and data", test_truncated},
        {"wrong magic, type or kind", test_wrong_magic},
        {"bad dimensions", test_wrong_dims},
        {"missing, unreadable and corrupt files", test_missing_and_corrupt},
        {"a split: images and labels together", test_load_split},
        {"more data than the header declares", test_extra_data},
        {"labels outside the class range", test_check_labels},
        {"real MNIST or Fashion-MNIST test data", test_real_data},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("examples idx", tests);
    cleanup();
    return rc;
}
