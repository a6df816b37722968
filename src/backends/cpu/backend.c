/* backend.c: the CPU backend's table (jx__backend, src/backends/backend.h): kernels from the LLVM
 * code generator (codegen.c), dot_general and convolutions on OpenBLAS (blas.c, conv.c),
 * pooling loops (window.c), and host memory, which needs no copies or synchronisation. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static void *module_new(int opt_level) { return jx__cpu_module_new(opt_level); }
static jx__kernel *kernel_add(void *m, const jx_fn *f, const jx__group *g) { return jx__cpu_kernel_add(m, f, g); }
static jx_status module_compile(void *m) { return jx__cpu_module_compile(m); }
static void module_free(void *m) { jx__cpu_module_free(m); }
static jx_status set_cache_dir(void *m, const char *dir) { return jx__cpu_module_set_cache_dir(m, dir); }
static void set_threads(void *m, int nthreads) { jx__cpu_module_set_threads(m, nthreads); }

static void *host_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) jx__fail(JX_ERR_NOMEM, jx__noloc, "cpu", "out of memory allocating %zu bytes", bytes);
    return p;
}
static jx_status copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
    return JX_OK;
}
static jx_status sync(void) { return JX_OK; }

const jx__backend jx__cpu_backend = {
    "cpu",          module_new,     kernel_add, module_compile, module_free,
    jx__kernel_size, jx__kernel_inplace_ok, jx__cpu_dot_ok, jx__cpu_conv_ok, jx__cpu_window_ok,
    host_alloc,     free,           copy,       copy,           sync,           jx__cpu_conv_views_ok,
    JX__CPU_ROW_BYTES, set_cache_dir, jx__cpu_objcache_stats, set_threads,
};
