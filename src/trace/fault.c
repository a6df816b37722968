/* fault.c: the counters behind allocation- and I/O-failure injection (see fault.h). Every
 * hooked allocation counts itself; the armed one returns NULL (errno ENOMEM) as a real
 * allocator out of memory would. Every hooked file operation counts itself likewise; the
 * armed one fails as jx__fault_io_arm asked. */
#define _POSIX_C_SOURCE 200809L
#include "fault.h"
/* this file calls the real allocator and file calls (the fault build includes fault.h
 * ahead of it) */
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef aligned_alloc
#undef open
#undef mkstemp
#undef close
#undef read
#undef write
#undef fsync
#undef rename
#undef fopen
#undef fdopen
#undef fread
#undef fwrite
#undef fputs
#undef fprintf
#undef fflush
#undef fclose
#undef ferror
#undef gzopen
#undef gzread

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_at; /* 0: never */
static atomic_long calls;
static atomic_int fired;

void jx__fault_arm(long n) {
    atomic_store(&fail_at, 0);
    atomic_store(&calls, 0);
    atomic_store(&fired, 0);
    atomic_store(&fail_at, n);
}

long jx__fault_calls(void) { return atomic_load(&calls); }
int jx__fault_fired(void) { return atomic_load(&fired); }

/* The sanitizers' stack printer, when linked in: JX_FAULT_STACK=1 prints where the
 * injected failure happens (to find the caller that mishandles it). */
void __sanitizer_print_stack_trace(void) __attribute__((weak));
static void print_stack(void) {
    const char *e = getenv("JX_FAULT_STACK");
    if (e && *e == '1' && __sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
}

/* Whether this allocation is the one to fail. */
static int fail_now(void) {
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (k != atomic_load(&fail_at)) return 0;
    atomic_store(&fired, 1);
    print_stack();
    errno = ENOMEM;
    return 1;
}

void *jx__fault_malloc(size_t n) { return fail_now() ? NULL : malloc(n); }
void *jx__fault_calloc(size_t n, size_t size) { return fail_now() ? NULL : calloc(n, size); }
void *jx__fault_realloc(void *p, size_t n) { return fail_now() ? NULL : realloc(p, n); }
char *jx__fault_strdup(const char *s) { return fail_now() ? NULL : strdup(s); }
void *jx__fault_aligned_alloc(size_t align, size_t n) {
    return fail_now() ? NULL : aligned_alloc(align, n);
}

/* ------------------------------------------------------------------ I/O */

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static atomic_long io_fail_at; /* 0: never */
static atomic_long io_calls;
static atomic_int io_fired, io_how;
/* Streams whose injected fread failure ferror must report (a real read error sets the
 * stream's error flag, which the hook cannot), until they are closed. */
static FILE *_Atomic failed_streams[8];

void jx__fault_io_arm(long n, int how) {
    atomic_store(&io_fail_at, 0);
    atomic_store(&io_calls, 0);
    atomic_store(&io_fired, 0);
    atomic_store(&io_how, how);
    atomic_store(&io_fail_at, n);
}

long jx__fault_io_calls(void) { return atomic_load(&io_calls); }
int jx__fault_io_fired(void) { return atomic_load(&io_fired); }

int jx__fault_io_next(void) {
    long k = atomic_fetch_add(&io_calls, 1) + 1;
    if (k != atomic_load(&io_fail_at)) return 0;
    atomic_store(&io_fired, 1);
    print_stack();
    int how = atomic_load(&io_how);
    if (how == JX__IO_KILL) {
        kill(getpid(), SIGKILL);
        for (;;) pause();
    }
    errno = how == JX__IO_ENOSPC || how == JX__IO_SHORT ? ENOSPC : EIO;
    return how;
}
/* For calls that move no data: a short transfer is a failure there. */
static int io_fail_whole(void) {
    int how = jx__fault_io_next();
    if (how == JX__IO_SHORT) errno = EIO;
    return how;
}

int jx__fault_open(const char *path, int flags, ...) {
    int mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return io_fail_whole() ? -1 : open(path, flags, mode);
}
int jx__fault_mkstemp(char *tmpl) { return io_fail_whole() ? -1 : mkstemp(tmpl); }
int jx__fault_fsync(int fd) { return io_fail_whole() ? -1 : fsync(fd); }
int jx__fault_rename(const char *from, const char *to) { return io_fail_whole() ? -1 : rename(from, to); }
FILE *jx__fault_fopen(const char *path, const char *mode) { return io_fail_whole() ? NULL : fopen(path, mode); }
FILE *jx__fault_fdopen(int fd, const char *mode) { return io_fail_whole() ? NULL : fdopen(fd, mode); }
int jx__fault_fflush(FILE *f) { return io_fail_whole() ? EOF : fflush(f); }
int jx__fault_fputs(const char *s, FILE *f) { return io_fail_whole() ? EOF : fputs(s, f); }

int jx__fault_fprintf(FILE *f, const char *fmt, ...) {
    if (io_fail_whole()) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

/* close and fclose release the file even when they report an error (as the real ones do). */
int jx__fault_close(int fd) {
    int fail = io_fail_whole(), r = close(fd);
    if (fail) errno = EIO;
    return fail ? -1 : r;
}
int jx__fault_fclose(FILE *f) {
    for (int i = 0; i < 8; i++) {
        FILE *g = f;
        atomic_compare_exchange_strong(&failed_streams[i], &g, NULL);
    }
    int fail = io_fail_whole(), r = fclose(f);
    if (fail) errno = EIO;
    return fail ? EOF : r;
}

long jx__fault_read(int fd, void *buf, size_t n) {
    int how = jx__fault_io_next();
    if (!how) return read(fd, buf, n);
    return how == JX__IO_SHORT && n > 1 ? read(fd, buf, n / 2) : -1;
}
long jx__fault_write(int fd, const void *buf, size_t n) {
    int how = jx__fault_io_next();
    if (!how) return write(fd, buf, n);
    return how == JX__IO_SHORT && n > 1 ? write(fd, buf, n / 2) : -1;
}

size_t jx__fault_fread(void *p, size_t size, size_t n, FILE *f) {
    int how = jx__fault_io_next();
    if (!how) return fread(p, size, n, f);
    for (int i = 0; i < 8; i++) {
        FILE *none = NULL;
        if (atomic_compare_exchange_strong(&failed_streams[i], &none, f)) break;
    }
    return how == JX__IO_SHORT && n > 1 ? fread(p, size, n / 2, f) : 0;
}
size_t jx__fault_fwrite(const void *p, size_t size, size_t n, FILE *f) {
    int how = jx__fault_io_next();
    if (!how) return fwrite(p, size, n, f);
    return how == JX__IO_SHORT && n > 1 ? fwrite(p, size, n / 2, f) : 0;
}

int jx__fault_ferror(FILE *f) {
    for (int i = 0; i < 8; i++)
        if (atomic_load(&failed_streams[i]) == f) return 1;
    return ferror(f);
}
