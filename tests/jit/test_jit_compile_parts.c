/* test_jit_compile_parts.c: how the CPU jit compiles a module (src/backends/cpu/
 * codegen_emit.c, codegen.c). A module with many kernels is split into parts compiled on
 * several threads (at most jx_jit_opts.nthreads and the cores): its results are the
 * interpreter's and the one-thread compile's bit for bit (its kernels left unoptimised
 * compiled by whichever part's thread finishes first), and its parts go to the disk
 * cache and come back from it whole. Elementwise kernels that differ only in their shape
 * are compiled once (twins), and a module whose kernels are twins does not collide in
 * the JIT with a module of the same code without them (a regression: both were named by
 * the same content key); kernels of equal fingerprints (codegen.c) whose code differs are
 * not. The disk cache is off unless a case sets it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/jit.h"
#include "jit_util.h"

/* B * N elements: optimised kernels; S * N: kernels left unoptimised (at most
 * JX_JIT_SMALL_KERNEL, 4096 by default). */
enum { LAYERS = 24, B = 128, S = 16, N = 40 };

/* LAYERS layers of work normalised by column maxima, each with its own constants, on
 * in[0] (big) and in[1] (small): 2 LAYERS kernels of different code (the literals are in
 * the code), far more IR than one part takes. (Row maxima would fuse row by row into one
 * kernel: fuse_rows.c.) */
static void many(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    for (int i = 0; i < 2; i++) {
        jx_val x = in[i];
        int64_t rows = i ? S : B;
        for (int l = 0; l < LAYERS; l++) {
            jx_val z = jx_tanh(jx_add(jx_mul(x, jx_scalar(JX_F32, 0.5 + 0.01 * l)), jx_scalar(JX_F32, 0.1 * l)));
            jx_val m = jx_reduce_max(z, JX_INTS(0));
            x = jx_sub(z, jx_broadcast_in_dim(m, JX_INTS(rows, N), JX_INTS(1)));
        }
        out[i] = x;
    }
}

static jx_fn *many_fn(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, B, N), JX_AVAL(JX_F32, S, N)};
    return jx_trace("many", many, NULL, 2, av, 2);
}

/* many's inputs, ramps from start. */
static void many_inputs(jx_array *in[2], double start) {
    in[0] = ju_ramp(JX_INTS(B, N), 0.013, start);
    in[1] = ju_ramp(JX_INTS(S, N), 0.011, start + 1);
}

static void release2(jx_array *a[2]) {
    jx_array_release(a[0]);
    jx_array_release(a[1]);
}

/* Whether a and b hold the same bits, output by output. */
static bool same2(jx_array *const a[2], jx_array *const b[2]) {
    return a[0] && b[0] && a[1] && b[1] && ju_same_bits(a[0], b[0]) && ju_same_bits(a[1], b[1]);
}

/* Compiles f with nthreads and cache_dir after clearing the in-memory cache, runs it on
 * in, leaves the outputs in out (NULL on failure, the error printed). */
static void run(const jx_fn *f, int nthreads, const char *cache_dir, jx_array *const in[2], jx_array *out[2]) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = nthreads;
    o.cache_dir = cache_dir;
    jx_jit_cache_clear();
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    out[0] = out[1] = NULL;
    if (!x || jx_exec_run(x, 2, in, 2, out) != JX_OK) fprintf(stderr, "\n  run: %s\n", jx_errmsg());
    jx_exec_release(x);
    jx_jit_cache_clear();
}

/* True (the case reported as skipped) where a split cannot happen. */
static bool one_core(void) {
    if (jx__online_cores() >= 2) return false;
    CU_PASS("one core: no split to test (skipped)");
    fprintf(stderr, "skipped: one core ");
    return true;
}

static void test_split_same_bits(void) {
    if (one_core()) return;
    jx_fn *f = many_fn();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2], *want[2] = {NULL, NULL}, *one[2], *two[2];
    many_inputs(in, -4);
    CU_ASSERT_EQUAL(jx_eval(f, 2, in, 2, want), JX_OK);
    int64_t m0, p0, m1, p1, m2, p2;
    jx__cpu_split_stats(&m0, &p0);
    run(f, 1, "", in, one);
    jx__cpu_split_stats(&m1, &p1);
    jx_jit_stats s1 = jx_jit_stats_get();
    run(f, 2, "", in, two);
    jx_jit_stats s2 = jx_jit_stats_get();
    jx__cpu_split_stats(&m2, &p2);
    CU_ASSERT_EQUAL(m1 - m0, 0); /* one thread: compiled whole */
    CU_ASSERT_EQUAL(m2 - m1, 1); /* two: split */
    CU_ASSERT_EQUAL(p2 - p1, 2);
    /* the small half's kernels were left unoptimised, the big half's were not */
    int64_t unopt = s2.kernels_unoptimised - s1.kernels_unoptimised;
    CU_ASSERT(unopt >= LAYERS);
    CU_ASSERT(s2.kernels - s1.kernels - unopt >= LAYERS);
    CU_ASSERT(same2(one, want));
    CU_ASSERT(same2(two, want));
    release2(one);
    release2(two);
    release2(want);
    release2(in);
    jx_fn_release(f);
}

static void test_split_disk_cache(void) {
    if (one_core()) return;
    char dir[] = "/tmp/jx-parts-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    jx_fn *f = many_fn();
    jx_array *in[2], *first[2], *again[2], *one[2];
    many_inputs(in, -3);
    jx_jit_stats s0 = jx_jit_stats_get();
    int64_t m0, p0, m1, p1;
    jx__cpu_split_stats(&m0, &p0);
    run(f, 2, dir, in, first);
    jx_jit_stats s1 = jx_jit_stats_get();
    jx__cpu_split_stats(&m1, &p1);
    CU_ASSERT_EQUAL(m1 - m0, 1);
    CU_ASSERT_EQUAL(s1.disk_stores - s0.disk_stores, 1);
    run(f, 2, dir, in, again); /* every part from the file, nothing compiled */
    jx_jit_stats s2 = jx_jit_stats_get();
    CU_ASSERT_EQUAL(s2.disk_hits - s1.disk_hits, 1);
    CU_ASSERT_EQUAL(s2.kernels, s1.kernels);
    run(f, 1, dir, in, one); /* a one-thread compile loads the split one's file */
    jx_jit_stats s3 = jx_jit_stats_get();
    CU_ASSERT_EQUAL(s3.disk_hits - s2.disk_hits, 1);
    CU_ASSERT(same2(first, again));
    CU_ASSERT(same2(first, one));
    release2(first);
    release2(again);
    release2(one);
    release2(in);
    jx_fn_release(f);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* y = 3x + 1 on each input (the same code on any shape). */
static void affine(jx_val *out, const jx_val *in, void *u) {
    int n = *(const int *)u;
    for (int i = 0; i < n; i++) out[i] = jx_add(jx_mul(in[i], jx_scalar(JX_F32, 3)), jx_scalar(JX_F32, 1));
}

/* f compiled for the CPU, the disk cache off; *kernels: the kernels that compile made. */
static jx_exec *jit_counting(const jx_fn *f, int64_t *kernels) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.cache_dir = "";
    int64_t before = jx_jit_stats_get().kernels;
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    *kernels = jx_jit_stats_get().kernels - before;
    if (!x) fprintf(stderr, "\n  jit: %s\n", jx_errmsg());
    return x;
}

static void test_twins_across_shapes(void) {
    int two = 2, one = 1;
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 8)};
    jx_fn *f2 = jx_trace("affine2", affine, &two, 2, av, 2), *f1 = jx_trace("affine1", affine, &one, 1, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    jx_array *in[2] = {ju_ramp(JX_INTS(4, 3), 0.5, -2), ju_ramp(JX_INTS(8), 0.25, -1)};
    jx_jit_cache_clear();
    int64_t k1, k2;
    jx_exec *x1 = jit_counting(f1, &k1);
    jx_exec *x2 = jit_counting(f2, &k2); /* same code, one more kernel: its twin */
    CU_ASSERT_PTR_NOT_NULL_FATAL(x1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x2);
    CU_ASSERT_EQUAL(k1, 1);
    CU_ASSERT_EQUAL(k2, 1); /* two kernels, compiled once */
    jx_array *got[2] = {0}, *want[2] = {0}, *got1 = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x2, 2, in, 2, got), JX_OK);
    CU_ASSERT_EQUAL(jx_exec_run(x1, 1, in, 1, &got1), JX_OK);
    CU_ASSERT_EQUAL(jx_eval(f2, 2, in, 2, want), JX_OK);
    for (int i = 0; i < 2; i++) CU_ASSERT(got[i] && want[i] && ju_same_bits(got[i], want[i]));
    CU_ASSERT(got1 && ju_same_bits(got1, want[0]));
    CU_ASSERT_EQUAL(jx_array_get(got[1], 7), 3 * (0.25 * 7 - 1) + 1);
    for (int i = 0; i < 2; i++) jx_array_release(got[i]), jx_array_release(want[i]), jx_array_release(in[i]);
    jx_array_release(got1);
    jx_exec_release(x1);
    jx_exec_release(x2);
    jx_fn_release(f1);
    jx_fn_release(f2);
    jx_jit_cache_clear();
}

/* y0 = 3x0 + 1, y1 = 5x1 + 1: the same instructions and integer constants, so equal
 * fingerprints, but another float constant: not twins. */
static void affine_3_5(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[0], jx_scalar(JX_F32, 3)), jx_scalar(JX_F32, 1));
    out[1] = jx_add(jx_mul(in[1], jx_scalar(JX_F32, 5)), jx_scalar(JX_F32, 1));
}

static void test_equal_fingerprints_not_twins(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 8)};
    jx_fn *f = jx_trace("affine_3_5", affine_3_5, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {ju_ramp(JX_INTS(4, 3), 0.5, -2), ju_ramp(JX_INTS(8), 0.25, -1)};
    jx_jit_cache_clear();
    int64_t k;
    jx_exec *x = jit_counting(f, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(k, 2);
    jx_array *got[2] = {0}, *want[2] = {0};
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 2, got), JX_OK);
    CU_ASSERT_EQUAL(jx_eval(f, 2, in, 2, want), JX_OK);
    for (int i = 0; i < 2; i++) CU_ASSERT(got[i] && want[i] && ju_same_bits(got[i], want[i]));
    CU_ASSERT_EQUAL(jx_array_get(got[1], 7), 5 * (0.25 * 7 - 1) + 1);
    for (int i = 0; i < 2; i++) jx_array_release(got[i]), jx_array_release(want[i]), jx_array_release(in[i]);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_jit_cache_clear();
}

int main(void) {
    CU_TestInfo tests[] = {
        {"a module split over threads gives the interpreter's and one thread's bits", test_split_same_bits},
        {"a split module's parts go to the disk cache and come back whole", test_split_disk_cache},
        {"elementwise kernels of other shapes are twins, and do not collide", test_twins_across_shapes},
        {"kernels of equal fingerprints but other constants are not twins", test_equal_fingerprints_not_twins},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_compile_parts", tests);
}
