/* cuda.h: what the CUDA backend's files share.
 *   driver.c   libcuda and libcublas loaded with dlopen at run time (never linked, so
 *              binaries start on machines without a driver), the device and its context
 *   alloc.c    the caching device allocator, over a memory provider (the driver, or a
 *              fake one in tests)
 *   upload.c   host-to-device copies on a stream of their own (jx_array_to), overlapping
 *              the compute stream's work
 *   ptx.c      kernels: LOOP groups through the CPU code generator's emitter into an
 *              NVPTX module (sm_80, PTX 7.5), libdevice for math, PTX text, loaded by the
 *              driver
 *   dot.c      dot_general on cuBLAS (strided-batched GEMM, full f32)
 *   dot_lt.c   dot_general with a bias or bias-gradient epilogue on cuBLASLt
 *   conv.c     conv_general_dilated on cuDNN's convolution forward, input gradients on
 *              its backward data, kernel gradients on its backward filter (loaded like
 *              cuBLAS); conv_key.c maps the equations onto those calls
 *   plan_cache.c  cuDNN's and cuBLASLt's plans, made once per shape
 *   exec.c     running a program: device buffers per variable, host fallback for the
 *              steps with no kernel
 *   graph.c    a program whose steps all run on the device captured once into a CUDA
 *              graph and replayed
 *   control.c  cond, while and scan driven from the host, their operands and results
 *              staying on the device
 *   backend.c  the jx__backend table */
#ifndef JX_CUDA_H
#define JX_CUDA_H

#include <cuda.h>
#include <pthread.h>

#include "../interp/run_group.h"
#include "../prog.h"

/* ------------------------------------------------------------------ the driver (driver.c) */

/* The driver API entry points jx uses, resolved by dlsym from libcuda.so.1. */
typedef struct jx__cu_api {
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*CtxSynchronize)(void);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemGetInfo)(size_t *, size_t *);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, CUjit_option *, void **);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void **, void **);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*StreamBeginCapture)(CUstream, CUstreamCaptureMode);
    CUresult (*StreamEndCapture)(CUstream, CUgraph *);
    CUresult (*GraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
    CUresult (*GraphLaunch)(CUgraphExec, CUstream);
    CUresult (*GraphExecDestroy)(CUgraphExec);
    CUresult (*GraphDestroy)(CUgraph);
    CUresult (*EventCreate)(CUevent *, unsigned);
    CUresult (*EventRecord)(CUevent, CUstream);
    CUresult (*EventQuery)(CUevent);
    CUresult (*EventSynchronize)(CUevent);
    CUresult (*StreamWaitEvent)(CUstream, CUevent, unsigned);
    CUresult (*MemHostAlloc)(void **, size_t, unsigned);
    CUresult (*MemFreeHost)(void *);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*GetErrorName)(CUresult, const char **);
    CUresult (*GetErrorString)(CUresult, const char **);
    /* optional (CUDA 12.8 and later drivers), NULL where the driver lacks it */
    CUresult (*MemcpyBatchAsync)(CUdeviceptr *, CUdeviceptr *, size_t *, size_t, CUmemcpyAttributes *, size_t *, size_t,
                                 CUstream);
} jx__cu_api;

/* The device jx runs on (ordinal 0, or JX_CUDA_DEVICE) with its primary context, and
 * the stream all of jx's device work is queued on. The stream is a blocking one (flags
 * 0): the driver's synchronous copies, on the legacy null stream, wait for the work
 * queued before them, and work queued after them waits for the copies. A stream of its
 * own rather than the null stream because only such a stream can be captured into a
 * CUDA graph (graph.c). */
typedef struct jx__cu_dev {
    const jx__cu_api *api;
    CUdevice dev;
    CUcontext ctx;
    CUstream stream;
    int sms, cc_major, cc_minor;
    char name[128];
} jx__cu_dev;

/* The device, made on first use and made current on the calling thread; NULL with
 * jx__fail set. The driver is libcuda.so.1, or the library JX_CUDA_DRIVER names (the
 * tests' fake driver, tests/cuda/fake_cuda.c) ("cuda: no CUDA driver: libcuda.so.1 not found", "no CUDA device", ...). */
const jx__cu_dev *jx__cu_get(void);
/* r != CUDA_SUCCESS as a jx error "cuda: <what>: CUDA_ERROR_X (message)" (JX_ERR_RUNTIME,
 * JX_ERR_NOMEM for CUDA_ERROR_OUT_OF_MEMORY) at loc. */
jx_status jx__cu_fail(CUresult r, jx_loc loc, const char *what);
#define JX__CU(call, what) ((r__ = (call)) == CUDA_SUCCESS ? JX_OK : jx__cu_fail(r__, jx__noloc, what))

/* cuBLAS, loaded on first use (libcublas.so.13 or .12, or the path in JX_CUBLAS): a
 * handle on the device's stream in full-precision math. */
typedef struct jx__cublas {
    void *handle;
    int (*Sgemm)(void *, int, int, int, int, int, const float *, const float *, int, long long, const float *, int,
                 long long, const float *, float *, int, long long, int);
    int (*Dgemm)(void *, int, int, int, int, int, const double *, const double *, int, long long, const double *,
                 int, long long, const double *, double *, int, long long, int);
    /* cublasGemmStridedBatchedEx: f32 GEMMs with TF32 allowed (JX_MATMUL_TF32); NULL where
     * the library lacks it (they stay in full f32) */
    int (*GemmEx)(void *, int, int, int, int, int, const void *, const void *, int, int, long long, const void *, int,
                  int, long long, const void *, void *, int, int, long long, int, int, int);
} jx__cublas;
enum { JX__CUDA_R_32F = 0, JX__CUBLAS_COMPUTE_32F_FAST_TF32 = 77, JX__CUBLAS_GEMM_DEFAULT = -1 };
/* NULL with jx__fail set when libcublas cannot be loaded. */
const jx__cublas *jx__cublas_get(void);

/* ------------------------------------------------------------------ the allocator (alloc.c) */

/* Where the allocator gets memory: alloc returns 0 and sets *p, or nonzero when out of
 * memory; release gives a block back. The driver's (cuMemAlloc/cuMemFree), or a fake. */
typedef struct jx__mem_provider {
    void *ctx;
    int (*alloc)(void *ctx, size_t bytes, uint64_t *p);
    void (*release)(void *ctx, uint64_t p);
} jx__mem_provider;

typedef struct jx__dev_alloc jx__dev_alloc;
/* A caching allocator over pv; limit: the most bytes it may hold from pv (0: no limit
 * but the provider's). NULL when out of host memory. */
jx__dev_alloc *jx__dev_alloc_new(jx__mem_provider pv, size_t limit);
/* Frees every cached block and the allocator (blocks still in use are given back too). */
void jx__dev_alloc_free(jx__dev_alloc *a);
/* A block of at least bytes (0 gives a non-null block). 0 with the error set
 * "cuda: out of device memory allocating <n> bytes (<in use> in use, <reserved>
 * reserved, peak <peak>)" after dropping the cache and retrying once. */
uint64_t jx__dev_malloc(jx__dev_alloc *a, size_t bytes);
/* For work on another stream than the compute stream (alloc.c): a block released in an
 * epoch up to settled (whose end the caller knows the compute stream has passed), or a
 * new one; the same errors as jx__dev_malloc. */
uint64_t jx__dev_malloc_settled(jx__dev_alloc *a, size_t bytes, uint64_t settled);
/* Ends the current epoch and returns its number (epochs count from 1; a block released
 * from now on is in a later one). */
uint64_t jx__dev_epoch_close(jx__dev_alloc *a);
/* Returns p (from jx__dev_malloc; 0 is ignored) to the cache. */
void jx__dev_release(jx__dev_alloc *a, uint64_t p);
/* Gives every cached (free) block back to the provider. */
void jx__dev_trim(jx__dev_alloc *a);
/* in_use: bytes handed out (rounded to the size class); reserved: held from the
 * provider, in use or cached; peak: the most in use so far. */
void jx__dev_stats(jx__dev_alloc *a, int64_t *in_use, int64_t *reserved, int64_t *peak);
/* The size class of a request: multiples of 512 bytes up to 1 MiB, then of 2 MiB. */
size_t jx__dev_round(size_t bytes);

/* The process's allocator on the device (made with the device). */
jx__dev_alloc *jx__cu_alloc(void);

/* ------------------------------------------------------------------ uploads (upload.c) */

/* A device buffer of bytes holding a copy of host, queued on the upload stream through
 * a pinned staging buffer so that it overlaps the compute stream's queued work; the
 * compute stream's later work waits for it. Larger uploads than the staging limit go
 * through a synchronous copy. NULL with the error set. */
void *jx__cuda_upload(const void *host, size_t bytes);

/* ------------------------------------------------------------------ kernels (ptx.c) */

typedef struct jx__cuda_module jx__cuda_module;

/* A module of NVPTX kernels (no driver needed until it is loaded). */
jx__cuda_module *jx__cuda_module_new(int opt_level);
jx__kernel *jx__cuda_kernel_add(jx__cuda_module *m, const jx_fn *f, const jx__group *g);
/* Generates the module's PTX (sm_80, PTX 7.5; libdevice linked where math is used);
 * the text stays owned by the module. NULL with jx__fail set. */
const char *jx__cuda_module_ptx(jx__cuda_module *m, double *ms);
/* PTX, then loaded by the driver (JIT for the device's architecture). */
jx_status jx__cuda_module_compile(jx__cuda_module *m);
void jx__cuda_module_free(jx__cuda_module *m);
int64_t jx__cuda_kernel_size(const jx__kernel *k);
/* The directory of m's on-disk PTX cache (NULL or "": none, the default): a module whose
 * unoptimised IR, target and libdevice match a cached one takes its PTX from there instead
 * of optimising and generating it (objcache.c). */
jx_status jx__cuda_module_set_cache_dir(jx__cuda_module *m, const char *dir);
/* Modules whose PTX came from the disk cache, and PTX files written to it, so far. */
void jx__cuda_ptxcache_stats(int64_t *hits, int64_t *stores);
/* Launches kernel k on the device's stream: bufs are the device pointers of the group's
 * inputs then outputs. */
jx_status jx__cuda_kernel_launch(const jx__kernel *k, const CUdeviceptr *bufs);
/* The path of libdevice.10.bc: JX_LIBDEVICE, else the toolkit's. */
const char *jx__cuda_libdevice_path(void);

/* ------------------------------------------------------------------ libraries (dot.c) */

bool jx__cuda_dot_ok(const jx_fn *f, const jx__eqn *e);
/* dot_general of device operands a, b (avals av[0], av[1]) into device out; tf32: an f32
 * product may round its operands to TF32 (jx_jit_opts.matmul_precision). */
jx_status jx__cuda_dot(const jx__eqn *e, const jx_aval *av, CUdeviceptr a, CUdeviceptr b, CUdeviceptr out, bool tf32);

/* ------------------------------------------------------------------ library plans (plan_cache.c) */

/* A process-wide cache of plans of plan_bytes, each beginning with its key of key_bytes
 * (compared as bytes: zero a key's padding). make fills a plan whose key is set, false
 * when the library does not take it; undo then frees what make got so far (the plan was
 * calloc'd). */
typedef struct jx__plan_cache {
    pthread_mutex_t mu;
    struct jx__plan_node *head;
    size_t key_bytes, plan_bytes;
    bool (*make)(void *plan);
    void (*undo)(void *plan);
} jx__plan_cache;
/* The plan of key, made on first use; NULL when make said no or out of memory. */
void *jx__plan_cache_get(jx__plan_cache *c, const void *key);

/* ------------------------------------------------------------------ GEMM epilogues (dot_lt.c) */

/* Whether cuBLASLt computes dot e of f with epilogue `kind` (jx__epi_kind) in one call
 * (the backend's dot_epilogue_ok; loads cuBLASLt and plans the shape). */
bool jx__cuda_dot_epilogue_ok(const jx_fn *f, const jx__eqn *e, int kind);
typedef struct jx__cuda_lt_plan jx__cuda_lt_plan;
/* The plan of ep's GEMM (descriptors, algorithm; tf32: an f32 GEMM may use TF32), made on
 * first use and kept for the process; NULL with jx__fail set. */
const jx__cuda_lt_plan *jx__cuda_lt_plan_get(const jx_fn *f, const jx__dot_epi *ep, bool tf32);
/* The workspace bytes p's GEMM needs. */
size_t jx__cuda_lt_workspace(const jx__cuda_lt_plan *p);
/* Queues ep's GEMM (planned as p) of device operands a, b into device out with its
 * epilogue's vector vec (BIAS: read; BGRAD: written), ws its workspace. */
jx_status jx__cuda_dot_lt(const jx__cuda_lt_plan *p, const jx__dot_epi *ep, CUdeviceptr a, CUdeviceptr b,
                          CUdeviceptr out, CUdeviceptr vec, CUdeviceptr ws);

/* ------------------------------------------------------------------ convolutions (conv.c) */

/* Whether conv e maps onto cuDNN's forward conv (shapes and attributes only: no lhs
 * dilation, padding cuDNN can express, f32 or f64): the plan's CONV steps. */
bool jx__cuda_conv_ok(const jx_fn *f, const jx__eqn *e);
typedef struct jx__cuda_conv_plan jx__cuda_conv_plan;
/* CONV step s's cuDNN plan (descriptors, through the step's view when it has one, and
 * algorithm; tf32: an f32 conv may use TF32), made on first use and kept for the
 * process; NULL when cuDNN is missing or refuses it: the step then runs on the host. */
const jx__cuda_conv_plan *jx__cuda_conv_plan_get(const jx_fn *f, const jx__step *s, bool tf32);
/* Whether cuDNN can read operand `which` of conv e (0: x) or write its result (2) through
 * strides, so that fusion hands it the NHWC layers' transposes there (the backend's
 * conv_views_ok); never the filter (1), whose descriptor takes no strides. */
bool jx__cuda_conv_views_ok(const jx_fn *f, const jx__eqn *e, int which);
/* Whether cuDNN's backward data computes conv e, an input gradient (jx__conv_bwd_chain),
 * from w itself (the backend's conv_bwd_data_ok; only where cuDNN loads). */
bool jx__cuda_conv_bwd_data_ok(const jx_fn *f, const jx__eqn *e);
/* The conv of CONV step s and the variables it reads (vars[0], vars[1]: x and w, or the
 * operands of the transposes before them) and writes (vars[2]: y or its transpose's). */
const jx__eqn *jx__cuda_step_conv(const jx_fn *f, const jx__step *s, int32_t vars[3]);
/* The workspace bytes p's conv needs. */
size_t jx__cuda_conv_workspace(const jx__cuda_conv_plan *p);
/* Queues conv e of f (planned as p) of device operands x, w into device y (through
 * the plan's strides), with ws (at
 * least jx__cuda_conv_workspace(p) bytes) as its workspace. */
jx_status jx__cuda_conv(const jx__cuda_conv_plan *p, const jx_fn *f, const jx__eqn *e, CUdeviceptr x, CUdeviceptr w,
                        CUdeviceptr y, CUdeviceptr ws);

/* ------------------------------------------------------------------ running (exec.c) */

/* Runs program p on host or device inputs; out[] receives new references: device
 * arrays when any input is one, else host arrays. As a CUDA graph when it can (graph.c). */
jx_status jx__cuda_run(jx__prog *p, jx_array *const *in, jx_array **out);

typedef struct jx__cu_pool jx__cu_pool;
/* Queues p's steps on the device's stream with nothing on the host: input i is read from
 * device buffer in[i], every buffer comes from pool and goes back to it after its last
 * reader, output i is left in out[i] (still the pool's; 0 for a literal). Every step must
 * run on the device (jx__cuda_graph_ok). */
jx_status jx__cuda_run_steps(const jx__prog *p, const CUdeviceptr *in, jx__cu_pool *pool, CUdeviceptr *out);

/* ------------------------------------------------------------------ control flow (control.c) */

/* Whether control step s (equation e) runs on the device: cond, while, scan. */
bool jx__cuda_control_ok(const jx__step *s, const jx__eqn *e);
/* Runs it: in[] device arrays (borrowed), out[] new references of avals oav (device
 * arrays, but for a sub-program without inputs). */
jx_status jx__cuda_control(const jx__step *s, const jx__eqn *e, jx_array *const *in, const jx_aval *oav,
                           jx_array **out);

/* ------------------------------------------------------------------ graphs (graph.c) */

/* Runs p as its CUDA graph when it can: every input a device array, every step on the
 * device, graphs not switched off (JX_CUDA_GRAPHS=0). Captured on the first such run,
 * replayed after. Returns false when p runs the other way (*st untouched), else true
 * with the run's status in *st. */
bool jx__cuda_graph_run(jx__prog *p, jx_array *const *in, jx_array **out, jx_status *st);
/* Whether every step of p runs on the device (no host fallback), so that p can be
 * captured; the first step that cannot in *why (static text) otherwise. */
bool jx__cuda_graph_ok(const jx__prog *p, const char **why);
/* Frees a program's graph state (p->be_state). */
void jx__cuda_graph_free(void *state);
/* A graph's buffers: blocks from the allocator, handed out by size class and reused
 * within the graph once released; all of them the graph's until the pool is freed. */
CUdeviceptr jx__cu_pool_alloc(jx__cu_pool *pool, size_t bytes);
void jx__cu_pool_release(jx__cu_pool *pool, CUdeviceptr p);
/* The allocator's statistics (driver.c). */
jx_status jx__cuda_mem_stats(jx_device_mem_stats *s);

extern const jx__backend jx__cuda_backend;

#endif /* JX_CUDA_H */
