/* fault.h: allocation-failure injection (cmake -DJX_FAULT_INJECT=ON). That build includes
 * this header ahead of every library source (-include), so each malloc, calloc, realloc,
 * strdup and aligned_alloc in jx goes through a counter that can make the Nth one fail
 * (LLVM's, OpenBLAS's and zlib's own allocations are not jx's and are never failed). The
 * control functions (fault.c) exist in every build; only that build routes the calls
 * through them. tests/fault/test_fault.c drives it: see there for the N schedules. */
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

#endif /* JX_FAULT_H */
