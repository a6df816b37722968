/* blas.h: the GEMM layer shared by the CPU backend's library calls (blas.c, conv.c):
 * deterministic single-threaded OpenBLAS calls, run in parallel with jx__pool_for (a
 * NULL pool runs fn(ctx, 0, n) on this thread). Determinism: OpenBLAS's own threading
 * blocks K differently for 1 and for more threads, so results would change with the
 * thread count; jx therefore keeps OpenBLAS at one thread and splits GEMMs itself into
 * tiles whose shapes depend only on the problem's shape, run in parallel on the
 * jx__pool. */
#ifndef JX_CPU_BLAS_H
#define JX_CPU_BLAS_H

#include "cpu.h"

/* OpenBLAS's dimensions and leading dimensions are C ints. */
#define JX__BLAS_DIM_MAX ((int64_t)0x7fffffff)

/* Pins OpenBLAS to one thread (jx parallelises around it); cheap, call before GEMMs. */
void jx__cpu_blas_single(void);

/* c (m,n; row stride ldc) = op(a) . op(b), op(a) (m,k), op(b) (k,n), all row-major of
 * dtype t (f32 or f64); ta: a is stored (k,m) with row stride lda, else (m,k); tb: b is
 * stored (n,k) with row stride ldb, else (k,n). Overwrites c; k == 0 writes zeros.
 * Single-threaded: the result depends only on the arguments. */
void jx__cpu_gemm(jx_dtype t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,
                  int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc);

/* Whether f32 GEMMs go to oneDNN (JX_GEMM unset or "onednn") or OpenBLAS
 * (JX_GEMM=openblas, for comparisons); read once, an unknown value warned about once. */
bool jx__cpu_gemm_onednn(void);

/* f32 c (m,n) = op(a) . op(b) on oneDNN's sgemm (gemm_dnnl.c), the arguments as
 * jx__cpu_gemm's; single-threaded. False when oneDNN is not built in or fails (c is then
 * to be overwritten). jx__cpu_gemm tries it first for f32 unless JX_GEMM=openblas. */
bool jx__dnnl_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc);

/* conv_general_dilated e on oneDNN's primitives (conv_dnnl.c): true when done, false when
 * oneDNN does not take this conv (or is not built in) and y is untouched or to be
 * overwritten by the GEMM path. st: the element strides of x, w and y (avals av[0],
 * av[1], oav) in their own dims, any permutation of a dense layout (a transpose the
 * conv reads or writes through); NULL for row-major. Bit-identical across pool sizes. */
bool jx__dnnl_conv(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                   const int64_t (*st)[4], const jx_aval *oav, void *out);
/* Whether jx__dnnl_conv takes e of f (f32 2-D, no feature groups, lhs dilation or
 * negative padding; oneDNN built in), with any strides. */
bool jx__dnnl_conv_ok(const jx_fn *f, const jx__eqn *e);
/* Whether jx was built with oneDNN (JX_HAVE_DNNL). */
bool jx__dnnl_built(void);
/* The im2col + GEMM path of jx__cpu_conv alone (conv.c), for comparisons in tests. */
jx_status jx__cpu_conv_gemm(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                            const jx_aval *oav, void *out);

/* How a dot_general maps onto a batched GEMM (also used by the CUDA backend's cuBLAS
 * calls): nb batches of (m, k) . (k, n); an operand already in GEMM order is used in
 * place, transposed (ta/tb) or not; any other needs a copy in lperm/rperm order. */
typedef struct jx__dot_plan {
    int64_t nb, m, n, k;
    int lperm[JX_MAX_RANK], rperm[JX_MAX_RANK]; /* (batch, m, k) and (batch, k, n) orders */
    bool lcopy, rcopy;                          /* the operand needs a transposing copy */
    bool ta, tb;                                /* used in place, stored (k, m) / (n, k) */
} jx__dot_plan;
/* The plan for operands of avals l, r under e's dimension numbers; false if the
 * attributes do not fit the operands (an unchecked IR). */
bool jx__dot_plan_make(const jx__eqn *e, const jx_aval *l, const jx_aval *r, jx__dot_plan *p);

#endif /* JX_CPU_BLAS_H */
