/* driver.c: libcuda.so.1 and libcublas loaded with dlopen on first use, never linked:
 * a binary built with JX_CUDA starts on a machine with no driver or no GPU, and the
 * first CUDA jit there fails with a clear error instead. (The toolkit's stub libcuda
 * cannot start a program, and linking the real one ties the build to a driver.) The
 * device is ordinal 0 (JX_CUDA_DEVICE=n for another), used through its primary context,
 * which is made current on each thread that asks for the device, with one stream for
 * jx's work. JX_CUDA_DRIVER and JX_CUBLAS name other libraries to load (the tests' fake
 * driver). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../dl_table.h"
#include "cuda.h"

static jx__cu_api api;
static jx__cu_dev dev;
static jx__dev_alloc *alloc;
static char init_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

jx_status jx__cu_fail(CUresult r, jx_loc loc, const char *what) {
    const char *name = "CUDA_ERROR_UNKNOWN", *msg = "";
    if (api.GetErrorName) api.GetErrorName(r, &name);
    if (api.GetErrorString) api.GetErrorString(r, &msg);
    return jx__fail(r == CUDA_ERROR_OUT_OF_MEMORY ? JX_ERR_NOMEM : JX_ERR_RUNTIME, loc, "cuda", "%s: %s (%s)", what,
                    name ? name : "?", msg ? msg : "");
}

static int dev_alloc(void *ctx, size_t bytes, uint64_t *p) {
    (void)ctx;
    CUdeviceptr d = 0;
    if (api.MemAlloc(&d, bytes) != CUDA_SUCCESS) return 1;
    *p = (uint64_t)d;
    return 0;
}
static void dev_release(void *ctx, uint64_t p) {
    (void)ctx;
    api.MemFree((CUdeviceptr)p);
}

/* Resolves every entry point; false with init_error set. */
static bool load(void) {
    const char *path = getenv("JX_CUDA_DRIVER") && *getenv("JX_CUDA_DRIVER") ? getenv("JX_CUDA_DRIVER") : "libcuda.so.1";
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(init_error, sizeof init_error, "no CUDA driver: %s not found (%s)", path, dlerror());
        return false;
    }
    const jx__dl_fn fns[] = {
        {(void **)&api.Init, "cuInit"},
        {(void **)&api.DeviceGetCount, "cuDeviceGetCount"},
        {(void **)&api.DeviceGet, "cuDeviceGet"},
        {(void **)&api.DeviceGetAttribute, "cuDeviceGetAttribute"},
        {(void **)&api.DeviceGetName, "cuDeviceGetName"},
        {(void **)&api.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
        {(void **)&api.CtxSetCurrent, "cuCtxSetCurrent"},
        {(void **)&api.CtxSynchronize, "cuCtxSynchronize"},
        {(void **)&api.MemAlloc, "cuMemAlloc_v2"},
        {(void **)&api.MemFree, "cuMemFree_v2"},
        {(void **)&api.MemGetInfo, "cuMemGetInfo_v2"},
        {(void **)&api.MemcpyHtoD, "cuMemcpyHtoD_v2"},
        {(void **)&api.MemcpyDtoH, "cuMemcpyDtoH_v2"},
        {(void **)&api.MemcpyDtoD, "cuMemcpyDtoD_v2"},
        {(void **)&api.ModuleLoadDataEx, "cuModuleLoadDataEx"},
        {(void **)&api.ModuleGetFunction, "cuModuleGetFunction"},
        {(void **)&api.ModuleUnload, "cuModuleUnload"},
        {(void **)&api.LaunchKernel, "cuLaunchKernel"},
        {(void **)&api.StreamCreate, "cuStreamCreate"},
        {(void **)&api.StreamSynchronize, "cuStreamSynchronize"},
        {(void **)&api.MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"},
        {(void **)&api.MemsetD8Async, "cuMemsetD8Async"},
        {(void **)&api.StreamBeginCapture, "cuStreamBeginCapture_v2"},
        {(void **)&api.StreamEndCapture, "cuStreamEndCapture"},
        {(void **)&api.GraphInstantiate, "cuGraphInstantiateWithFlags"},
        {(void **)&api.GraphLaunch, "cuGraphLaunch"},
        {(void **)&api.GraphExecDestroy, "cuGraphExecDestroy"},
        {(void **)&api.GraphDestroy, "cuGraphDestroy"},
        {(void **)&api.EventCreate, "cuEventCreate"},
        {(void **)&api.EventRecord, "cuEventRecord"},
        {(void **)&api.EventQuery, "cuEventQuery"},
        {(void **)&api.EventSynchronize, "cuEventSynchronize"},
        {(void **)&api.StreamWaitEvent, "cuStreamWaitEvent"},
        {(void **)&api.MemHostAlloc, "cuMemHostAlloc"},
        {(void **)&api.MemFreeHost, "cuMemFreeHost"},
        {(void **)&api.MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
        {(void **)&api.GetErrorName, "cuGetErrorName"},
        {(void **)&api.GetErrorString, "cuGetErrorString"},
    };
    const char *missing = jx__dl_resolve(h, fns, sizeof fns / sizeof fns[0]);
    if (missing) {
        snprintf(init_error, sizeof init_error, "no CUDA driver: %s lacks %s", path, missing);
        return false;
    }
    *(void **)&api.MemcpyBatchAsync = dlsym(h, "cuMemcpyBatchAsync_v2"); /* optional: CUDA 13's name */
    return true;
}

static void init(void) {
    if (!load()) return;
    CUresult r = api.Init(0);
    const char *msg = "";
    int n = 0, ordinal = getenv("JX_CUDA_DEVICE") ? atoi(getenv("JX_CUDA_DEVICE")) : 0;
    if (r == CUDA_SUCCESS) r = api.DeviceGetCount(&n);
    if (r != CUDA_SUCCESS) {
        api.GetErrorString(r, &msg);
        snprintf(init_error, sizeof init_error, "no CUDA device: cuInit failed (%s)", msg ? msg : "?");
        return;
    }
    if (ordinal < 0 || ordinal >= n) {
        snprintf(init_error, sizeof init_error, "no CUDA device: %d found, device %d asked for", n, ordinal);
        return;
    }
    if ((r = api.DeviceGet(&dev.dev, ordinal)) == CUDA_SUCCESS &&
        (r = api.DevicePrimaryCtxRetain(&dev.ctx, dev.dev)) == CUDA_SUCCESS &&
        (r = api.CtxSetCurrent(dev.ctx)) == CUDA_SUCCESS &&
        (r = api.DeviceGetAttribute(&dev.sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev.dev)) == CUDA_SUCCESS &&
        (r = api.DeviceGetAttribute(&dev.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev.dev)) ==
            CUDA_SUCCESS &&
        (r = api.DeviceGetAttribute(&dev.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev.dev)) ==
            CUDA_SUCCESS &&
        (r = api.DeviceGetName(dev.name, (int)sizeof dev.name, dev.dev)) == CUDA_SUCCESS)
        r = api.StreamCreate(&dev.stream, CU_STREAM_DEFAULT); /* blocking: ordered with the synchronous copies */
    if (r != CUDA_SUCCESS) {
        api.GetErrorString(r, &msg);
        snprintf(init_error, sizeof init_error, "CUDA device %d unusable (%s)", ordinal, msg ? msg : "?");
        return;
    }
    const char *lim = getenv("JX_GPU_MEM_LIMIT");
    alloc = jx__dev_alloc_new((jx__mem_provider){NULL, dev_alloc, dev_release},
                              lim ? (size_t)strtoull(lim, NULL, 10) : 0);
    if (!alloc) {
        snprintf(init_error, sizeof init_error, "out of memory");
        return;
    }
    dev.api = &api;
}

const jx__cu_dev *jx__cu_get(void) {
    pthread_once(&once, init);
    if (!dev.api) {
        jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "%s", init_error);
        return NULL;
    }
    CUresult r = api.CtxSetCurrent(dev.ctx);
    if (r != CUDA_SUCCESS) return jx__cu_fail(r, jx__noloc, "cuCtxSetCurrent"), NULL;
    return &dev;
}

jx__dev_alloc *jx__cu_alloc(void) { return jx__cu_get() ? alloc : NULL; }

/* ------------------------------------------------------------------ cuBLAS */

static jx__cublas blas;
static char blas_error[512];
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void) {
    static const char *const names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so", NULL};
    void *h = jx__dl_open("JX_CUBLAS", names);
    if (!h) {
        snprintf(blas_error, sizeof blas_error, "cuBLAS not found: %s", dlerror());
        return;
    }
    int (*create)(void **) = (int (*)(void **))dlsym(h, "cublasCreate_v2");
    int (*math)(void *, int) = (int (*)(void *, int))dlsym(h, "cublasSetMathMode");
    int (*set_stream)(void *, CUstream) = (int (*)(void *, CUstream))dlsym(h, "cublasSetStream_v2");
    *(void **)&blas.Sgemm = dlsym(h, "cublasSgemmStridedBatched");
    *(void **)&blas.Dgemm = dlsym(h, "cublasDgemmStridedBatched");
    *(void **)&blas.GemmEx = dlsym(h, "cublasGemmStridedBatchedEx"); /* optional */
    if (!create || !math || !set_stream || !blas.Sgemm || !blas.Dgemm) {
        snprintf(blas_error, sizeof blas_error, "cuBLAS lacks its GEMM entry points");
        return;
    }
    void *handle = NULL;
    int st = create(&handle);
    if (st == 0) st = math(handle, 0); /* CUBLAS_DEFAULT_MATH: f32 GEMMs in full f32 (TF32 only when asked) */
    if (st == 0) st = set_stream(handle, dev.stream);
    if (st != 0) {
        snprintf(blas_error, sizeof blas_error, "cublasCreate failed (status %d)", st);
        return;
    }
    blas.handle = handle;
}

const jx__cublas *jx__cublas_get(void) {
    if (!jx__cu_get()) return NULL;
    pthread_once(&blas_once, blas_init);
    if (!blas.handle) return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "cuda", "%s", blas_error), NULL;
    return &blas;
}

jx_status jx__cuda_mem_stats(jx_device_mem_stats *s) {
    jx__dev_alloc *a = jx__cu_alloc();
    if (!a) return jx_errcode();
    jx__dev_stats(a, &s->in_use, &s->reserved, &s->peak);
    return JX_OK;
}
