/* backend.c: the CPU backend's table (jx__backend, src/backends/backend.h): kernels from the LLVM
 * code generator (codegen.c) run on the thread pool (pool.c), dot_general and
 * convolutions on oneDNN or OpenBLAS (blas.c, conv.c), pooling loops (window.c), and host
 * memory, which needs no copies or synchronisation. */
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

static void *runner_get(int nthreads) { return jx__pool_get(nthreads); }

typedef struct loop_job {
    const jx__kernel *k;
    void *const *bufs;
} loop_job;

static void loop_chunk(void *ctx, int64_t b, int64_t e) {
    const loop_job *j = ctx;
    jx__kernel_run(j->k, j->bufs, b, e);
}

static void kernel_run(void *pool, const jx__kernel *k, void *const *bufs, int64_t grain) {
    loop_job job = {k, bufs};
    jx__pool_for(pool, jx__kernel_size(k), grain, loop_chunk, &job);
}

static jx_status lib_run(void *pool, jx__gkind kind, const jx__eqn *e, const jx_aval *av, const void *const *in,
                         const int64_t (*strides)[4], const jx_aval *oav, void *out) {
    switch (kind) {
    case JX__G_DOT: return jx__cpu_dot(pool, e, av, in, oav, out);
    case JX__G_CONV: return jx__cpu_conv_views(pool, e, av, in, strides, oav, out);
    case JX__G_WINDOW: return jx__cpu_window(pool, e, av, in, oav, out);
    default: return jx__fail(JX_ERR_INTERNAL, e->loc, "cpu", "no library call for a step of kind %d", (int)kind);
    }
}

static void kernel_stats(int64_t *compiled, int64_t *unoptimised) {
    *compiled = jx__cpu_kernels_compiled();
    *unoptimised = jx__cpu_kernels_unoptimised();
}

const jx__backend jx__cpu_backend = {
    .name = "cpu",
    .module_new = module_new,
    .kernel_add = kernel_add,
    .module_compile = module_compile,
    .module_free = module_free,
    .kernel_size = jx__kernel_size,
    .kernel_inplace_ok = jx__kernel_inplace_ok,
    .dot_ok = jx__cpu_dot_ok,
    .conv_ok = jx__cpu_conv_ok,
    .window_ok = jx__cpu_window_ok,
    .alloc = host_alloc,
    .free = free,
    .copy_in = copy,
    .copy_out = copy,
    .sync = sync,
    .conv_views_ok = jx__cpu_conv_views_ok,
    .row_groups = JX__CPU_ROW_BYTES,
    .module_set_cache_dir = set_cache_dir,
    .cache_stats = jx__cpu_objcache_stats,
    .module_set_threads = set_threads,
    .runner_get = runner_get,
    .kernel_run = kernel_run,
    .lib_run = lib_run,
    .kernel_stats = kernel_stats,
    .default_threads = jx__default_threads,
};
