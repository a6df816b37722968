/* objcache.h: the on-disk cache of compiled kernels (objcache.c), shared by the backends:
 * the CPU's object code (cpu/codegen.c) and the CUDA backend's PTX (cuda/ptx.c). */
#ifndef JX_BACKENDS_OBJCACHE_H
#define JX_BACKENDS_OBJCACHE_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit hash of n bytes, continuing from h (start with {0, 0}). */
void jx__hash128(uint64_t h[2], const void *p, size_t n);

/* Appends the line "key <32 hex digits>" to header (a buffer of len bytes), so that the
 * file's header names its key. */
void jx__objcache_key_line(char *header, size_t len, const uint64_t key[2]);

/* The cache file of key in dir: its object code, malloc'd, in *obj / *size, when the
 * file exists, is complete, its header equals `header` (the jx and LLVM versions, target
 * and CPU features it was made for) and its object passes the checksum. Anything else
 * (no file, another version, a truncated or damaged file) returns 0 and the caller
 * compiles; nothing unchecked is ever handed back. */
int jx__objcache_load(const char *dir, const uint64_t key[2], const char *header, void **obj, size_t *size);
/* Writes the object of key into dir (made with its parents if missing) through a temp
 * file, fsync and rename, so readers and other writers only ever see whole files.
 * Returns 0 on success, -1 with errno set. */
int jx__objcache_store(const char *dir, const uint64_t key[2], const char *header, const void *obj, size_t size);

#endif /* JX_BACKENDS_OBJCACHE_H */
