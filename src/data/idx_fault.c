/* idx_fault.c: the I/O-failure hooks for zlib's gzopen and gzread that the IDX reader
 * (idx.c) calls in the failure-injection build (-DJX_FAULT_INJECT=ON, src/trace/fault.h,
 * driven by tests/fault); empty in every other build. */
#ifdef JX_FAULT_H
#undef gzopen /* zlib's own names here: the hooks call them */
#undef gzread
#include <errno.h>
#include <zlib.h>

gzFile jx__fault_gzopen(const char *path, const char *mode) {
    if (jx__fault_io_next()) {
        if (errno == ENOSPC) errno = EIO; /* opening for reading moves no data */
        return NULL;
    }
    return gzopen(path, mode);
}

int jx__fault_gzread(gzFile f, void *buf, unsigned n) {
    int how = jx__fault_io_next();
    if (!how) return gzread(f, buf, n);
    return how == JX__IO_SHORT && n > 1 ? gzread(f, buf, n / 2) : -1;
}
#else
typedef int jx__idx_fault_unused; /* ISO C wants something in a translation unit */
#endif
