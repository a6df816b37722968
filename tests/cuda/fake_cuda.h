/* fake_cuda.h: what the tests read from the fake CUDA driver (fake_cuda.c), a shared
 * library standing in for libcuda.so.1, libcublas, libcublasLt and libcudnn (JX_CUDA_DRIVER,
 * JX_CUBLAS, JX_CUBLASLT, JX_CUDNN) on a
 * machine without a GPU. Device memory is host memory; GEMMs are computed, generated
 * kernels only counted (the fake cannot run PTX); streams, stream capture and graphs
 * follow the driver's rules that jx's graph path relies on. Work on a blocking stream
 * runs at once; work on a non-blocking stream (uploads) waits until something orders
 * it: an event wait, a synchronisation, or a query of an event after it, so a missing
 * wait shows as stale data. */
#ifndef JX_FAKE_CUDA_H
#define JX_FAKE_CUDA_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

enum { JXFAKE_MAX_PARAMS = 64, JXFAKE_HOST_ARG = 512 };

typedef struct jxfake_stats {
    long launches;          /* kernels run directly on a stream */
    long launches_replayed; /* kernels run by a graph launch */
    long gemms, gemms_replayed;
    long copies_async;       /* cuMemcpyDtoDAsync calls */
    long copies_to_host;     /* cuMemcpyDtoH calls */
    long batches;            /* cuMemcpyBatchAsync calls, and the copies in them */
    long batched_copies;
    long captures_begun, captures_ended, instantiated, graph_launches;
    long capture_violations; /* work refused during a capture (null stream, sync, allocation) */
    long graphs_live, execs_live;
    long live_allocs;        /* cuMemAlloc blocks not yet freed */
    int fail_instantiate;    /* set by a test: fail the next this many instantiations */
    int fail_batch;          /* set by a test: refuse the next this many batches */
    int compute_lag;         /* set by a test: an event recorded on a blocking stream reads as
                              * complete only once this many more have been recorded there
                              * (or it was synchronised): the GPU running behind */
    int fail_pinned;         /* set by a test: refuse the next this many cuMemHostAlloc */
    long pinned_live;        /* cuMemHostAlloc blocks not yet freed */
    int last_compute_type;   /* of the last cublasGemmStridedBatchedEx (0: none yet) */
    long deferred_pending;   /* copies queued on non-blocking streams, not yet run */
    long convs, convs_replayed; /* cudnnConvolutionForward and BackwardData runs (fake_cudnn.c) */
    long convs_bwd_data;        /* of them, cudnnConvolutionBackwardData's */
    long convs_bwd_filter;      /* and cudnnConvolutionBackwardFilter's */
    int last_conv_math;         /* the math type the last conv ran with */
    long lt_matmuls, lt_matmuls_replayed; /* cublasLtMatmul runs (fake_cublaslt.c) */
    int last_lt_epilogue;                 /* the epilogue the last one ran with */
    int lt_refuse;                        /* set by a test: the heuristic finds no algorithm */
    int last_nparams;
    uint64_t last_params[JXFAKE_MAX_PARAMS]; /* the last kernel launched, direct or replayed */
} jxfake_stats;

/* The fake's counters (the test finds this with dlsym in the library jx loaded). */
jxfake_stats *jxfake_stats_get(void);
/* For the fake's other libraries (fake_cudnn.c): queues fn(copy of arg, replayed) on
 * stream s as the driver's own work is (run now, deferred, or recorded by a capture);
 * a CUresult. */
/* x rounded to TF32 (10 mantissa bits, to nearest even), as tensor cores read it */
double jxfake__tf32(float x);
int jxfake__submit_host(CUstream s, void (*fn)(const void *arg, int replayed), const void *arg, size_t bytes);

#endif
