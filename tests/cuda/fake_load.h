/* fake_load.h: points jx at the fake CUDA driver (fake_cuda.c, built as the library
 * JX_FAKE_CUDA names) before its first CUDA call, and finds the fake's counters. For the
 * tests that run the CUDA backend without a GPU. */
#ifndef JX_FAKE_LOAD_H
#define JX_FAKE_LOAD_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake_cuda.h"

/* The fake's counters, with *handle to dlclose at the end; NULL (and a message naming
 * test) when the library cannot be loaded. */
static inline jxfake_stats *jxfake_load(const char *test, void **handle) {
    setenv("JX_CUDA_DRIVER", JX_FAKE_CUDA, 1);
    setenv("JX_CUBLAS", JX_FAKE_CUDA, 1);
    setenv("JX_CUBLASLT", JX_FAKE_CUDA, 1);
    setenv("JX_CUDNN", JX_FAKE_CUDA, 1);
    unsetenv("JX_CUDA_GRAPHS");
    void *h = dlopen(JX_FAKE_CUDA, RTLD_NOW | RTLD_LOCAL);
    jxfake_stats *(*get)(void) = h ? (jxfake_stats * (*)(void)) dlsym(h, "jxfake_stats_get") : NULL;
    if (!get) {
        fprintf(stderr, "%s: cannot load the fake driver %s: %s\n", test, JX_FAKE_CUDA, dlerror());
        if (h) dlclose(h);
        return NULL;
    }
    *handle = h;
    return get();
}

#endif
