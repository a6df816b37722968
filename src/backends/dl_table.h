/* dl_table.h: resolving a table of a dlopened library's entry points (the CUDA driver,
 * cuDNN, NCCL: loaded at run time so that jx starts without them). */
#ifndef JX_BACKENDS_DL_TABLE_H
#define JX_BACKENDS_DL_TABLE_H
#include <dlfcn.h>
#include <stddef.h>

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

#endif
