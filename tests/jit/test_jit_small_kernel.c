/* test_jit_small_kernel.c: at the default optimisation level, CPU kernels whose every
 * value has at most JX_JIT_SMALL_KERNEL elements (4096 unless set) are compiled without
 * optimisation (src/backends/cpu/codegen.c: optnone, the fast instruction selector).
 * jx_jit_stats counts them; they give the interpreter's bits, as do the optimised
 * kernels of the same function one row past the limit and at level 3 (nothing
 * unoptimised there). */
#include <stdio.h>
#include <stdlib.h>

#include "jit_util.h"

/* A softmax row group, transcendentals, a column sum, a comparison turned into i32 and
 * a row maximum: the kinds of loop kernel the code generator makes. */
static void mixed(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    out[0] = jx_add(jx_mul(jx_softmax(x, -1), jx_tanh(x)), jx_log1p(jx_abs(x)));
    out[1] = jx_reduce_sum(jx_exp(jx_neg(jx_abs(x))), JX_INTS(0));
    out[2] = jx_add(jx_convert(jx_gt(x, jx_scalar_like(x, 0.25)), JX_I32), jx_scalar(JX_I32, 3));
    out[3] = jx_reduce_max(jx_sin(x), JX_INTS(1));
}

/* A big kernel and a small one: exp(x) * 2 over x, tanh(b) + 1 over b. */
static void big_and_small(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_exp(in[0]), jx_scalar_like(in[0], 2));
    out[1] = jx_add(jx_tanh(in[1]), jx_scalar_like(in[1], 1));
}

/* Compiles f (a new module: the cache is cleared first) at opt_level, runs it on in,
 * asserts each output has the interpreter's bits and returns the unoptimised kernels it
 * compiled; *kernels gets all it compiled; outs[i] (if outs) keep the outputs. */
static int64_t compile_check(const jx_fn *f, int opt_level, int nin, jx_array *const *in, int64_t *kernels,
                             jx_array **outs) {
    jx_jit_cache_clear();
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.opt_level = opt_level;
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    jx_jit_stats s1 = jx_jit_stats_get();
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    int nout = jx_fn_num_outputs(f);
    jx_array *got[8] = {0}, *want[8] = {0};
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, nin, in, nout, got), JX_OK);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, in, nout, want), JX_OK);
    for (int i = 0; i < nout; i++) {
        if (!ju_same_bits(got[i], want[i])) fprintf(stderr, "\n  output %d differs from the interpreter's\n", i);
        CU_ASSERT(ju_same_bits(got[i], want[i]));
        jx_array_release(want[i]);
        if (outs) outs[i] = got[i];
        else jx_array_release(got[i]);
    }
    jx_exec_release(x);
    *kernels = s1.kernels - s0.kernels;
    return s1.kernels_unoptimised - s0.kernels_unoptimised;
}

static jx_fn *trace_mixed(int64_t rows) {
    jx_aval av = JX_AVAL(JX_F32, rows, 128);
    jx_fn *f = jx_trace("mixed", mixed, NULL, 1, &av, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

/* f32[32,128] is 4096 elements: every kernel is small; one row more, none is. */
static void test_limit(void) {
    for (int64_t rows = 32; rows <= 33; rows++) {
        jx_fn *f = trace_mixed(rows);
        jx_array *x = ju_ramp(JX_INTS(rows, 128), 0.37, -700.0);
        int64_t kernels = 0, unopt = compile_check(f, 0, 1, &x, &kernels, NULL);
        CU_ASSERT(kernels >= 3);
        CU_ASSERT_EQUAL(unopt, rows == 32 ? kernels : 0);
        if (unopt != (rows == 32 ? kernels : 0))
            fprintf(stderr, "\n  f32[%lld,128]: %lld of %lld kernels unoptimised\n", (long long)rows, (long long)unopt,
                    (long long)kernels);
        jx_array_release(x);
        jx_fn_release(f);
    }
}

/* Level 3 optimises every kernel, with the same results as level 2's unoptimised ones. */
static void test_level3(void) {
    jx_fn *f = trace_mixed(32);
    jx_array *x = ju_ramp(JX_INTS(32, 128), 0.37, -700.0), *o2[4] = {0}, *o3[4] = {0};
    int64_t k2 = 0, k3 = 0;
    CU_ASSERT_EQUAL(compile_check(f, 2, 1, &x, &k2, o2), k2);
    CU_ASSERT_EQUAL(compile_check(f, 3, 1, &x, &k3, o3), 0);
    CU_ASSERT(k3 >= 3);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(ju_same_bits(o2[i], o3[i]));
        jx_array_release(o2[i]);
        jx_array_release(o3[i]);
    }
    jx_array_release(x);
    jx_fn_release(f);
}

/* One function, two kernels: only the small one goes unoptimised. */
static void test_mixed_module(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 64, 128), JX_AVAL(JX_F32, 16)};
    jx_fn *f = jx_trace("big_and_small", big_and_small, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {ju_ramp(JX_INTS(64, 128), 1e-3, -4.0), ju_ramp(JX_INTS(16), 0.5, -4.0)};
    int64_t kernels = 0;
    CU_ASSERT_EQUAL(compile_check(f, 0, 2, in, &kernels, NULL), 1);
    CU_ASSERT_EQUAL(kernels, 2);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"up to 4096 elements unoptimised, one row more optimised: the interpreter's bits", test_limit},
        {"level 3 optimises small kernels too, with the same bits", test_level3},
        {"a module of a big and a small kernel: one unoptimised", test_mixed_module},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_small_kernel", tests);
}
