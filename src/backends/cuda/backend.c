/* backend.c: the CUDA backend's table (jx__backend, src/backends/backend.h): NVPTX kernels
 * (ptx.c), dot_general on cuBLAS (dot.c), convolutions on cuDNN (conv.c), device memory from the caching allocator
 * (alloc.c) moved with the driver's synchronous copies on the null stream, except
 * jx_array_to's uploads, which overlap the device's work (upload.c). */
#include "cuda.h"

static void *module_new(int opt_level) { return jx__cuda_module_new(opt_level); }
static jx__kernel *kernel_add(void *m, const jx_fn *f, const jx__group *g) { return jx__cuda_kernel_add(m, f, g); }
static jx_status module_compile(void *m) { return jx__cuda_module_compile(m); }
static void module_free(void *m) { jx__cuda_module_free(m); }
static jx_status set_cache_dir(void *m, const char *dir) { return jx__cuda_module_set_cache_dir(m, dir); }
/* the executor gives every variable its own buffer: no kernel writes over an input */
static bool inplace_ok(const jx__kernel *k, int i, int o) { return false; }

static void *dev_alloc(size_t bytes) {
    jx__dev_alloc *a = jx__cu_alloc();
    return a ? (void *)(uintptr_t)jx__dev_malloc(a, bytes) : NULL;
}
static void dev_free(void *p) {
    jx__dev_alloc *a = p ? jx__cu_alloc() : NULL;
    if (a) jx__dev_release(a, (uint64_t)(uintptr_t)p);
}
static jx_status copy_in(void *dst, const void *host, size_t bytes) {
    const jx__cu_dev *d = jx__cu_get();
    CUresult r__;
    if (!d) return jx_errcode();
    return bytes ? JX__CU(d->api->MemcpyHtoD((CUdeviceptr)(uintptr_t)dst, host, bytes), "cuMemcpyHtoD") : JX_OK;
}
static jx_status copy_out(void *host, const void *src, size_t bytes) {
    const jx__cu_dev *d = jx__cu_get();
    CUresult r__;
    if (!d) return jx_errcode();
    return bytes ? JX__CU(d->api->MemcpyDtoH(host, (CUdeviceptr)(uintptr_t)src, bytes), "cuMemcpyDtoH") : JX_OK;
}
static jx_status sync(void) {
    const jx__cu_dev *d = jx__cu_get();
    CUresult r__;
    if (!d) return jx_errcode();
    return JX__CU(d->api->CtxSynchronize(), "cuCtxSynchronize");
}

const jx__backend jx__cuda_backend = { /* runs its programs itself: exec.c */
    .name = "cuda",
    .module_new = module_new,
    .kernel_add = kernel_add,
    .module_compile = module_compile,
    .module_free = module_free,
    .kernel_size = jx__cuda_kernel_size,
    .kernel_inplace_ok = inplace_ok,
    .dot_ok = jx__cuda_dot_ok,
    .dot_epilogue_ok = jx__cuda_dot_epilogue_ok,
    .conv_ok = jx__cuda_conv_ok,
    .conv_explicit_pads = true,
    .conv_views_ok = jx__cuda_conv_views_ok,
    .conv_bwd_data_ok = jx__cuda_conv_bwd_data_ok,
    .owner_folds = true,
    .alloc = dev_alloc,
    .free = dev_free,
    .copy_in = copy_in,
    .copy_out = copy_out,
    .upload = jx__cuda_upload,
    .sync = sync,
    .module_set_cache_dir = set_cache_dir,
    .cache_stats = jx__cuda_ptxcache_stats,
    .prog_run = jx__cuda_run,
    .prog_state_free = jx__cuda_graph_free,
    .mem_stats = jx__cuda_mem_stats,
};
