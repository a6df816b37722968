/* fault.h: allocation- and I/O-failure injection (cmake -DJX_FAULT_INJECT=ON). That build
 * includes this header ahead of every library source (-include), so each malloc, calloc,
 * realloc, strdup and aligned_alloc in jx goes through a counter that can make the Nth one
 * fail (LLVM's, OpenBLAS's and zlib's own allocations are not jx's and are never failed),
 * and each file operation jx calls itself (open, read, write, flush, fsync, close, rename,
 * and, in the programs that define them, gzopen/gzread) goes through a second counter that can make the Nth one fail with EIO or
 * ENOSPC, transfer only half its bytes, or kill the process (SIGKILL) just before it.
 * The control functions (fault.c) exist in every build; only that build routes the calls
 * through them. tests/fault drives them: see there for the N schedules. */
#ifndef JX_FAULT_H
#define JX_FAULT_H

#include <stddef.h>

/* Makes the nth allocation from now fail (1 = the next one), once; 0 turns injection off.
 * Also resets the count jx__fault_calls returns. */
void jx__fault_arm(long n);
/* Allocations counted since the last jx__fault_arm. */
long jx__fault_calls(void);
/* Whether the armed failure has happened since the last jx__fault_arm. */
int jx__fault_fired(void);

void *jx__fault_malloc(size_t n);
void *jx__fault_calloc(size_t n, size_t size);
void *jx__fault_realloc(void *p, size_t n);
char *jx__fault_strdup(const char *s);
void *jx__fault_aligned_alloc(size_t align, size_t n);

#define malloc(n) jx__fault_malloc(n)
#define calloc(n, size) jx__fault_calloc(n, size)
#define realloc(p, n) jx__fault_realloc(p, n)
#define strdup(s) jx__fault_strdup(s)
#define aligned_alloc(align, n) jx__fault_aligned_alloc(align, n)

/* How the armed I/O call fails. */
enum {
    JX__IO_EIO = 1, /* fails whole: -1, NULL or 0 items, errno EIO */
    JX__IO_ENOSPC,  /* the same with errno ENOSPC */
    JX__IO_SHORT,   /* reads and writes transfer half the bytes (errno ENOSPC on a short
                       fwrite); calls that move no data fail as JX__IO_EIO */
    JX__IO_KILL,    /* the process gets SIGKILL just before the call */
};
/* Makes the nth file operation from now fail the given way, once; 0 turns it off. Also
 * resets the count jx__fault_io_calls returns. */
void jx__fault_io_arm(long n, int how);
/* File operations counted since the last jx__fault_io_arm. */
long jx__fault_io_calls(void);
/* Whether the armed I/O failure has happened since the last jx__fault_io_arm. */
int jx__fault_io_fired(void);
/* Counts one file operation: 0 when it goes through, else how it fails (errno set; KILL
 * does not return). For hooks outside src/trace (src/data/idx_fault.c). */
int jx__fault_io_next(void);

/* The hooks, declared without the system headers (which must come after the source's
 * own feature macros): glibc's FILE is struct _IO_FILE, zlib's gzFile struct gzFile_s *.
 * The names are redefined as whole words so that the system headers' own declarations
 * (and attributes naming fclose) turn into declarations of the hooks. */
struct _IO_FILE;
struct gzFile_s;
int jx__fault_open(const char *path, int flags, ...);
int jx__fault_mkstemp(char *tmpl);
int jx__fault_close(int fd);
long jx__fault_read(int fd, void *buf, size_t n);
long jx__fault_write(int fd, const void *buf, size_t n);
int jx__fault_fsync(int fd);
int jx__fault_rename(const char *from, const char *to);
struct _IO_FILE *jx__fault_fopen(const char *path, const char *mode);
struct _IO_FILE *jx__fault_fdopen(int fd, const char *mode);
size_t jx__fault_fread(void *p, size_t size, size_t n, struct _IO_FILE *f);
size_t jx__fault_fwrite(const void *p, size_t size, size_t n, struct _IO_FILE *f);
int jx__fault_fputs(const char *s, struct _IO_FILE *f);
int jx__fault_fprintf(struct _IO_FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int jx__fault_fflush(struct _IO_FILE *f);
int jx__fault_fclose(struct _IO_FILE *f);
int jx__fault_ferror(struct _IO_FILE *f);
struct gzFile_s *jx__fault_gzopen(const char *path, const char *mode);
int jx__fault_gzread(struct gzFile_s *f, void *buf, unsigned n);

/* A test including this header for the control functions defines JX_FAULT_API_ONLY first:
 * its own output then goes to the real calls, uncounted. */
#ifndef JX_FAULT_API_ONLY
#undef _FORTIFY_SOURCE /* its inline wrappers would bypass the hooks */
#define open jx__fault_open
#define mkstemp jx__fault_mkstemp
#define close jx__fault_close
#define read jx__fault_read
#define write jx__fault_write
#define fsync jx__fault_fsync
#define rename jx__fault_rename
#define fopen jx__fault_fopen
#define fdopen jx__fault_fdopen
#define fread jx__fault_fread
#define fwrite jx__fault_fwrite
#define fputs jx__fault_fputs
#define fprintf jx__fault_fprintf
#define fflush jx__fault_fflush
#define fclose jx__fault_fclose
#define ferror jx__fault_ferror
#define gzopen jx__fault_gzopen
#define gzread jx__fault_gzread
#endif

#endif /* JX_FAULT_H */
