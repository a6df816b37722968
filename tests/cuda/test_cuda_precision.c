/* test_cuda_precision.c: jx_jit_opts.matmul_precision over the fake driver (fake_cuda.c,
 * whose cublasGemmStridedBatchedEx rounds f32 operands to TF32 when asked, as tensor
 * cores do). f32 GEMMs run in full f32 unless TF32 is asked for, by the option or by
 * JX_MATMUL_PRECISION=tf32 (set here before the first jit, so JX_MATMUL_DEFAULT means
 * TF32 in this process); the executables of the two precisions are cached apart; the CPU
 * computes in full f32 whatever is asked; a bad value is an error naming it. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "../../src/trace/ir.h"
#include "fake_load.h"
#include "harness.h"

static jxfake_stats *fk;
static jx_fn *prod;
static jx_array *in[2], *want; /* host operands, and their product in full f32 (interpreter) */

static void matmul(jx_val *out, const jx_val *x, void *u) { out[0] = jx_matmul(x[0], x[1]); }

/* operands with mantissa bits below TF32's 10: rounding them shows */
static jx_array *operand(jx_ints shape, int mod, double step) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    float *v = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) v[i] = (float)(1 + (double)((i * 7) % mod) * step);
    return a;
}

/* the largest relative difference of x's run from the full-f32 product */
static double run_err(jx_exec *x) {
    jx_array *got = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 1, &got), JX_OK);
    double worst = 0;
    for (int64_t i = 0; i < jx_array_size(want); i++) {
        double d = fabs(jx_array_get(got, i) - jx_array_get(want, i)) / fabs(jx_array_get(want, i));
        if (d > worst) worst = d;
    }
    jx_array_release(got);
    return worst;
}

static jx_exec *jit(jx_device device, int precision) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.matmul_precision = precision;
    jx_exec *x = jx_jit(prod, device, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    return x;
}

static void test_highest(void) {
    jx_exec *x = jit(JX_DEVICE_CUDA, JX_MATMUL_HIGHEST);
    long gemms = fk->gemms;
    fk->last_compute_type = 0;
    CU_ASSERT_TRUE(run_err(x) <= 1e-6);
    CU_ASSERT_EQUAL(fk->gemms - gemms, 1);
    CU_ASSERT_EQUAL(fk->last_compute_type, 0); /* cublasSgemmStridedBatched, not the Ex call */
    jx_exec_release(x);
}

static void test_tf32(void) {
    jx_exec *x = jit(JX_DEVICE_CUDA, JX_MATMUL_TF32), *d = jit(JX_DEVICE_CUDA, JX_MATMUL_DEFAULT);
    jx_exec *h = jit(JX_DEVICE_CUDA, JX_MATMUL_HIGHEST);
    CU_ASSERT_PTR_EQUAL(x, d); /* JX_MATMUL_PRECISION=tf32: the default is TF32 here */
    CU_ASSERT_PTR_NOT_EQUAL(x, h);
    fk->last_compute_type = 0;
    double e = run_err(x);
    CU_ASSERT_EQUAL(fk->last_compute_type, 77); /* CUBLAS_COMPUTE_32F_FAST_TF32 */
    CU_ASSERT_TRUE(e > 1e-5 && e < 2e-3);        /* TF32's rounding, and only that */
    jx_exec_release(x), jx_exec_release(d), jx_exec_release(h);
}

static void test_cpu_ignores(void) {
    jx_exec *x = jit(JX_DEVICE_CPU, JX_MATMUL_TF32);
    CU_ASSERT_TRUE(run_err(x) <= 1e-6);
    jx_exec_release(x);
}

static void test_bad_value(void) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.matmul_precision = 7;
    CU_ASSERT_PTR_NULL(jx_jit(prod, JX_DEVICE_CUDA, &o));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), "matmul: matmul_precision is 7, want JX_MATMUL_DEFAULT, _HIGHEST or _TF32"));
    jx_clear_error();
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_precision", &h))) return 1;
    setenv("JX_MATMUL_PRECISION", "tf32", 1);
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 48), JX_AVAL(JX_F32, 48, 4)};
    prod = jx_trace("matmul", matmul, NULL, 2, av, 1);
    in[0] = operand(JX_INTS(8, 48), 13, 0x1p-14), in[1] = operand(JX_INTS(48, 4), 11, 0x1p-13);
    if (!prod || jx_eval(prod, 2, in, 1, &want) != JX_OK) {
        fprintf(stderr, "test_cuda_precision: %s\n", jx_errmsg());
        return 1;
    }
    CU_TestInfo tests[] = {
        {"JX_MATMUL_HIGHEST: full f32", test_highest},
        {"JX_MATMUL_TF32 and the environment's default: TF32, cached apart", test_tf32},
        {"the CPU computes in full f32 whatever is asked", test_cpu_ignores},
        {"a bad matmul_precision: an error naming it", test_bad_value},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("matmul precision (fake driver)", tests);
    jx_array_release(in[0]), jx_array_release(in[1]), jx_array_release(want);
    jx_fn_release(prod);
    jx_jit_cache_clear();
    dlclose(h);
    return rc;
}
