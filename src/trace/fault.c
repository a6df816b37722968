/* fault.c: the counter behind allocation-failure injection (see fault.h). Every hooked
 * allocation counts itself; the armed one returns NULL (errno ENOMEM) as a real
 * allocator out of memory would. */
#define _POSIX_C_SOURCE 200809L
#include "fault.h"
/* this file calls the real allocator (the fault build includes fault.h ahead of it) */
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef aligned_alloc

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

/* Whether this allocation is the one to fail. */
static int fail_now(void) {
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (k != atomic_load(&fail_at)) return 0;
    atomic_store(&fired, 1);
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
