/* objcache.c: the on-disk cache of compiled kernels: one file per module content,
 * <dir>/<key as 32 hex digits>.jxo, where the key hashes the module's unoptimised LLVM IR
 * with everything that decides its code (cpu/codegen.c: jx and LLVM versions, target
 * triple, CPU name and features, optimisation level; cuda/ptx.c: the NVPTX target and
 * libdevice), and the contents are object code or PTX text.
 *
 * File: "JXOBJ\x01\r\n" (8 bytes), the header length (u32 little endian), the header text
 * (versions, target, key), the object's length (u64) and its 128-bit hash (2 x u64), then
 * the object. A file is used only when every part checks out: magic, header equal to the
 * caller's, lengths matching the file's size, hash matching the bytes; a stale or damaged
 * file is thus never handed to the object linker, and the caller's recompile overwrites it.
 * Writes go to a temp file of a name unique to the process and call, fsync'd and renamed
 * over the final name: two processes storing the same key at once both write whole files
 * and one rename wins, with equal contents (the same IR on the same CPU compiles to the
 * same object). */
#define _POSIX_C_SOURCE 200809L
#include "objcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'J', 'X', 'O', 'B', 'J', 1, '\r', '\n'};
enum { FIXED = 8 + 4 }; /* magic + header length */

static uint64_t mix(uint64_t h, uint64_t v) {
    v *= 0x9e3779b97f4a7c15ull;
    v ^= v >> 29;
    return (h ^ v) * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

void jx__hash128(uint64_t h[2], const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t a = h[0] ^ 0x243f6a8885a308d3ull, b = h[1] ^ 0x13198a2e03707344ull, w;
    for (; n >= 8; n -= 8, c += 8) {
        memcpy(&w, c, 8);
        a = mix(a, w);
        b = mix(b ^ (w >> 32 | w << 32), a);
    }
    w = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)c[i] << (8 * i);
    a = mix(a, w);
    b = mix(b, a ^ w);
    h[0] = a;
    h[1] = b;
}

void jx__objcache_key_line(char *header, size_t len, const uint64_t key[2]) {
    size_t at = strlen(header);
    if (at < len)
        snprintf(header + at, len - at, "key %016llx%016llx\n", (unsigned long long)key[0], (unsigned long long)key[1]);
}

static void path_of(char *out, size_t len, const char *dir, const uint64_t key[2]) {
    snprintf(out, len, "%s/%016llx%016llx.jxo", dir, (unsigned long long)key[0], (unsigned long long)key[1]);
}

static int read_all(int fd, void *p, size_t n) {
    for (size_t at = 0; at < n;) {
        ssize_t r = read(fd, (char *)p + at, n - at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        at += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n) {
    for (size_t at = 0; at < n;) {
        ssize_t r = write(fd, (const char *)p + at, n - at);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        at += (size_t)r;
    }
    return 0;
}

int jx__objcache_load(const char *dir, const uint64_t key[2], const char *header, void **obj, size_t *size) {
    char path[4096];
    path_of(path, sizeof path, dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    size_t hlen = strlen(header);
    unsigned char fixed[FIXED], tail[24];
    char *h = malloc(hlen + 1);
    void *o = NULL;
    int ok = h && fstat(fd, &st) == 0 && read_all(fd, fixed, FIXED) == 0 && memcmp(fixed, MAGIC, 8) == 0;
    uint32_t flen = 0;
    uint64_t olen = 0, sum[2] = {0, 0}, got[2] = {0, 0};
    if (ok) {
        memcpy(&flen, fixed + 8, 4);
        ok = flen == hlen && read_all(fd, h, hlen) == 0 && memcmp(h, header, hlen) == 0 &&
             read_all(fd, tail, sizeof tail) == 0;
    }
    if (ok) {
        memcpy(&olen, tail, 8);
        memcpy(sum, tail + 8, 16);
        ok = olen > 0 && (uint64_t)st.st_size == FIXED + hlen + sizeof tail + olen && (o = malloc(olen)) != NULL &&
             read_all(fd, o, olen) == 0;
    }
    if (ok) {
        jx__hash128(got, o, olen);
        ok = got[0] == sum[0] && got[1] == sum[1];
    }
    close(fd);
    free(h);
    if (!ok) {
        free(o);
        return 0;
    }
    *obj = o;
    *size = olen;
    return 1;
}

/* mkdir -p dir (mode 0700: the cache holds code this user will run). */
static int make_dirs(const char *dir) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return errno = ENAMETOOLONG, -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) return -1;
        *s = c;
        if (!c) return 0;
    }
}

int jx__objcache_store(const char *dir, const uint64_t key[2], const char *header, const void *obj, size_t size) {
    static atomic_ulong seq;
    char path[4096], tmp[4200];
    path_of(path, sizeof path, dir, key);
    snprintf(tmp, sizeof tmp, "%s.%ld.%lu.tmp", path, (long)getpid(), (unsigned long)atomic_fetch_add(&seq, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && make_dirs(dir) == 0) fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    uint32_t hlen = (uint32_t)strlen(header);
    uint64_t olen = size, sum[2] = {0, 0};
    jx__hash128(sum, obj, size);
    unsigned char fixed[FIXED], tail[24];
    memcpy(fixed, MAGIC, 8);
    memcpy(fixed + 8, &hlen, 4);
    memcpy(tail, &olen, 8);
    memcpy(tail + 8, sum, 16);
    int rc = write_all(fd, fixed, FIXED) || write_all(fd, header, hlen) || write_all(fd, tail, sizeof tail) ||
             write_all(fd, obj, size) || fsync(fd) ? -1 : 0;
    int e = errno;
    if (close(fd) != 0 && rc == 0) rc = -1, e = errno;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1, e = errno;
    if (rc != 0) {
        unlink(tmp);
        errno = e;
    }
    return rc;
}
