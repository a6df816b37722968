/* dot.c: dot_general on cuBLAS. The GEMM mapping is the CPU's (jx__dot_plan): batch dims
 * leading, contracting dims at one end of each operand, so each operand is used in place
 * with a transpose flag; an operand that would need a transposing copy is not taken
 * (the step runs on the host instead). Row-major results come from column-major cuBLAS
 * by computing C^T = B^T A^T. f32 runs in full f32 (CUBLAS_DEFAULT_MATH, no TF32) unless
 * the executable was compiled with JX_MATMUL_TF32: then through cublasGemmStridedBatchedEx
 * with CUBLAS_COMPUTE_32F_FAST_TF32 (operands rounded to TF32, f32 accumulation). */
#include "../cpu/blas.h"
#include "cuda.h"

bool jx__cuda_dot_ok(const jx_fn *f, const jx__eqn *e) {
    if (e->prim != JX_PRIM_DOT_GENERAL || e->nin != 2 || e->in[0].var < 0 || e->in[1].var < 0) return false;
    jx_aval l = jx__atom_aval(f, &e->in[0]), r = jx__atom_aval(f, &e->in[1]);
    if (l.dtype != r.dtype || (l.dtype != JX_F32 && l.dtype != JX_F64)) return false;
    jx__dot_plan p;
    if (!jx__dot_plan_make(e, &l, &r, &p) || p.lcopy || p.rcopy) return false;
    return p.m <= JX__BLAS_DIM_MAX && p.n <= JX__BLAS_DIM_MAX && p.k <= JX__BLAS_DIM_MAX && p.nb <= JX__BLAS_DIM_MAX;
}

jx_status jx__cuda_dot(const jx__eqn *e, const jx_aval *av, CUdeviceptr a, CUdeviceptr b, CUdeviceptr out, bool tf32) {
    jx__dot_plan p;
    if (!jx__dot_plan_make(e, &av[0], &av[1], &p) || p.lcopy || p.rcopy)
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "dot_general", "no cuBLAS path for %s . %s", jx__avs(&av[0]),
                        jx__avs(&av[1]));
    if (p.m == 0 || p.n == 0 || p.nb == 0) return JX_OK;
    if (p.k == 0) { /* an empty contraction: zeros (cuBLAS rejects a leading dimension of 0) */
        const jx__cu_dev *d = jx__cu_get();
        CUresult r__;
        return d ? JX__CU(d->api->MemsetD8Async(out, 0, (size_t)(p.nb * p.m * p.n) * jx_dtype_size(av[0].dtype),
                                                d->stream),
                          "cuMemsetD8Async (dot_general)")
                 : jx_errcode();
    }
    const jx__cublas *cb = jx__cublas_get();
    if (!cb) return jx_errcode();
    /* column-major: C^T (n x m) = op(B^T) (n x k) . op(A^T) (k x m) */
    int opb = p.tb ? 1 : 0, opa = p.ta ? 1 : 0;
    int ldb = (int)(p.tb ? p.k : p.n), lda = (int)(p.ta ? p.m : p.k), ldc = (int)p.n;
    long long sb = p.k * p.n, sa = p.m * p.k, sc = p.m * p.n;
    int st;
    if (av[0].dtype == JX_F32 && tf32 && cb->GemmEx) {
        float one = 1, zero = 0;
        st = cb->GemmEx(cb->handle, opb, opa, (int)p.n, (int)p.m, (int)p.k, &one, (const void *)b, JX__CUDA_R_32F, ldb,
                        sb, (const void *)a, JX__CUDA_R_32F, lda, sa, &zero, (void *)out, JX__CUDA_R_32F, ldc, sc,
                        (int)p.nb, JX__CUBLAS_COMPUTE_32F_FAST_TF32, JX__CUBLAS_GEMM_DEFAULT);
    } else if (av[0].dtype == JX_F32) {
        float one = 1, zero = 0;
        st = cb->Sgemm(cb->handle, opb, opa, (int)p.n, (int)p.m, (int)p.k, &one, (const float *)b, ldb, sb,
                       (const float *)a, lda, sa, &zero, (float *)out, ldc, sc, (int)p.nb);
    } else {
        double one = 1, zero = 0;
        st = cb->Dgemm(cb->handle, opb, opa, (int)p.n, (int)p.m, (int)p.k, &one, (const double *)b, ldb, sb,
                       (const double *)a, lda, sa, &zero, (double *)out, ldc, sc, (int)p.nb);
    }
    if (st != 0)
        return jx__fail(JX_ERR_RUNTIME, e->loc, "dot_general", "cublasGemmStridedBatched failed (status %d) on %s . %s",
                        st, jx__avs(&av[0]), jx__avs(&av[1]));
    return JX_OK;
}
