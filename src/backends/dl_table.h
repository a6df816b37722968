/* dl_table.h: opening a library at run time and resolving a table of its entry points (the CUDA driver,
 * cuDNN, NCCL: loaded at run time so that jx starts without them). */
#ifndef JX_BACKENDS_DL_TABLE_H
#define JX_BACKENDS_DL_TABLE_H
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

/* One entry point: where its address goes, and its symbol's name. */
typedef struct jx__dl_fn {
    void **slot;
    const char *name;
} jx__dl_fn;

/* Looks up fns[0..n) in library h, filling each slot; NULL when all are found, else the
 * name of the first that is not (the slots before it are filled). */
static inline const char *jx__dl_resolve(void *h, const jx__dl_fn *fns, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(*fns[i].slot = dlsym(h, fns[i].name))) return fns[i].name;
    return NULL;
}

/* The library named by environment variable env when set (the tests' fakes: that one
 * only), else the first of names[] (NULL-terminated) that opens; NULL with dlerror() set. */
static inline void *jx__dl_open(const char *env, const char *const *names) {
    const char *path = getenv(env);
    if (path && *path) return dlopen(path, RTLD_NOW | RTLD_LOCAL);
    void *h = NULL;
    for (int i = 0; !h && names[i]; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    return h;
}

#endif
