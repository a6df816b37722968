/* fault_gz.c: the I/O-failure hooks for zlib's gzopen and gzread (see src/trace/fault.h),
 * linked into the fault suites only: the library itself does not link zlib, the IDX
 * reader compiled into those suites does. */
#define JX_FAULT_API_ONLY
#include "fault.h"

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
