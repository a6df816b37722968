/* fuzz_idx.c: libFuzzer target for jx's IDX reader (jx/idx.h, src/data/idx.c).
 * Each input is written to one temporary file (raw or, when it starts with gzip's magic,
 * read through zlib) and read back. Any input must either fail with a message naming the
 * file or give an array that agrees with its header; labels it reads are also checked
 * against 10 classes. A crash, a leak, an error without a message or an array of the
 * wrong size is a bug. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jx/idx.h>

static char path[64];
static int fd = -1;

static void remove_file(void) { unlink(path); }

static void bug(const char *what, const char *err) {
    fprintf(stderr, "fuzz_idx: %s\n--- error: %s\n", what, err);
    abort();
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fd < 0) {
        /* tmpfs: on a disk, rewriting a truncated file waits for its flush */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/jx_fuzz_idx_XXXXXX", dir);
        fd = mkstemp(path);
        if (fd < 0) bug("cannot make the temporary file", path);
        atexit(remove_file);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        bug("cannot write the temporary file", path);
    char err[JX_IDX_ERR_MAX];
    jx_idx_kind kinds[3] = {JX_IDX_ANY, JX_IDX_LABELS, JX_IDX_IMAGES};
    jx_array *a = jx_idx_read(path, kinds[size % 3], err, sizeof err);
    if (!a) {
        if (strncmp(err, path, strlen(path)) != 0) bug("an error that does not name the file", err);
        return 0;
    }
    int rank = jx_array_rank(a);
    if (rank != 1 && rank != 3) bug("an array of rank other than 1 or 3", "");
    /* a raw file's header must describe exactly what came back */
    if (size >= 4 && !(data[0] == 0x1f && data[1] == 0x8b)) {
        if (size < 4 + 4 * (size_t)rank) bug("an array from a short header", "");
        int64_t n = 1;
        for (int i = 0; i < rank; i++) {
            if (jx_array_shape(a)[i] != be32(data + 4 + 4 * i)) bug("a shape unlike the header", "");
            n *= jx_array_shape(a)[i];
        }
        if ((size_t)n != size - 4 - 4 * (size_t)rank) bug("a size unlike the file's", "");
    }
    if (rank == 1 && jx_idx_check_labels(a, 10, path, err, sizeof err) != 0 && !strstr(err, " label "))
        bug("a label check failing without naming the label", err);
    jx_array_release(a);
    return 0;
}
