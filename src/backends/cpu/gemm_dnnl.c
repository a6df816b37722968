/* gemm_dnnl.c: f32 GEMMs on oneDNN's dnnl_sgemm for the GEMM layer (blas.c), which
 * falls back to OpenBLAS when oneDNN is not built in or declines.
 *
 * Why: OpenBLAS 0.3.21 (Debian 12) picks its AVX2 "Haswell" kernels on CPUs it does not
 * know, AVX-512 ones included (Zen 4/5, recent Xeons); oneDNN dispatches on the CPU's
 * features at run time and reaches about twice OpenBLAS's rate there (docs/jit.md,
 * "GEMM library"), while on AVX2-only cores the two are within a few percent.
 *
 * Determinism: oneDNN runs single-threaded for the call (OpenMP's thread count set to 1
 * on the calling thread and restored after), so the result depends only on the
 * arguments, as blas.h promises: jx parallelises around the call.
 *
 * Signals: a signal handled on a thread inside dnnl_sgemm (oneDNN 2.6, Debian's) corrupts
 * the heap now and then, though the handler only sets a flag: mnist_mlp interrupted by
 * Ctrl-C during its first steps aborted with "corrupted size vs. prev_size" in a free
 * inside dnnl_sgemm 5 times in 100 (twice), none in 50 with OpenBLAS's GEMM, none in 100
 * (twice) with the asynchronous signals blocked for the call, as now: they wait for the
 * call to end, or go to another thread. Two pthread_sigmask per call cost nothing
 * measurable (the MLP step at one thread 3.92-3.99 ms either way). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include "blas.h"

#ifdef JX_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>

/* libgomp's, declared here: clang has no omp.h without -fopenmp. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

bool jx__dnnl_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc) {
    int saved = omp_get_max_threads();
    if (saved != 1) omp_set_num_threads(1);
    sigset_t async, old; /* every signal but those a fault raises on this thread */
    sigfillset(&async);
    int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) sigdelset(&async, faults[i]);
    pthread_sigmask(SIG_BLOCK, &async, &old);
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (saved != 1) omp_set_num_threads(saved);
    return st == dnnl_success;
}
#else
bool jx__dnnl_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc) {
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
    return false;
}
#endif
