/* test_jit_vec_calls.c: the loop vectoriser turns the transcendental calls of fused
 * kernels into calls of their 8-lane variants (vmath.h; 16-lane on AVX-512F) when the kernel reads several
 * slices of one buffer and writes two outputs -- an LSTM cell's gates, which it left
 * scalar until the generator declared its element loops free of dependences between
 * iterations (jx__cg_loop_parallel). The optimised module is read back from JX_DUMP=llvm
 * (set by main, with the disk cache off so that every module is compiled), and the
 * results must equal the interpreter's bit for bit. A softmax's row kernel computes its
 * exp in one vectorised loop (codegen_rows.c). Skipped (77) where jx has no
 * vector variants (built without SLEEF, or a CPU without AVX2 and FMA). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#include <sys/stat.h>

#include "../../src/backends/vmath.h"
#include "dump_dir.h"
#include "jit_util.h"

static char dir[] = "/tmp/jx_vec_XXXXXX";
enum { B = 6, H = 37 }; /* rows of 37: vector bodies of 8 and scalar remainders */

/* h = o * tanh(f * c + i * g) and the new c, from the gates' pre-activations x[B, 4H]
 * and the cell c[B, H]. */
static void lstm_gates(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val g[4];
    for (int k = 0; k < 4; k++) g[k] = jx_slice(in[0], JX_INTS(0, k * H), JX_INTS(B, (k + 1) * H), JX_INTS(1, 1));
    jx_val c = jx_add(jx_mul(jx_logistic(g[1]), in[1]), jx_mul(jx_logistic(g[0]), jx_tanh(g[2])));
    out[0] = jx_mul(jx_logistic(g[3]), jx_tanh(c));
    out[1] = c;
}

static void test_lstm_gates(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, B, 4 * H), JX_AVAL(JX_F32, B, H)};
    jx_fn *f = jx_trace("lstm_gates", lstm_gates, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {ju_ramp(JX_INTS(B, 4 * H), 0.01, -3), ju_ramp(JX_INTS(B, H), 0.02, -2)};
    jx_array *want[2] = {0}, *got[2] = {0};
    CU_ASSERT_EQUAL(jx_eval(f, 2, in, 2, want), JX_OK);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 2, got), JX_OK);
    for (int o = 0; o < 2; o++) CU_ASSERT(ju_same_bits(got[o], want[o]));
    char *ir = dump_read(dir, "kernels", 1 << 22);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ir);
    bool tanh8 = strstr(ir, "call <8 x float> @jx_cg_tanhf_v8") != NULL;
    bool exp8 = strstr(ir, "call <8 x float> @jx_cg_expf_v8") != NULL; /* logistic's exp */
    bool tanh16 = strstr(ir, "call <16 x float> @jx_cg_tanhf_v16") != NULL;
    bool exp16 = strstr(ir, "call <16 x float> @jx_cg_expf_v16") != NULL;
    if (!(tanh8 || tanh16) || !(exp8 || exp16))
        fprintf(stderr, "\n  the gates' kernel kept scalar calls (tanh %d/%d, exp %d/%d)\n", tanh8, tanh16, exp8, exp16);
    CU_ASSERT((tanh8 || tanh16) && (exp8 || exp16));
    /* AVX-512F: the 16-lane variants are offered and taken (the bits above then cover a
     * 16-lane body, an 8-lane epilogue and scalar remainders of the rows of 37) */
    if (jx__vmath_wide()) CU_ASSERT(tanh16 && exp16);
    CU_ASSERT_PTR_NOT_NULL(strstr(ir, "llvm.mem.parallel_loop_access"));
    free(ir);
    for (int o = 0; o < 2; o++) jx_array_release(got[o]), jx_array_release(want[o]), jx_array_release(in[o]);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void softmax(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_softmax(in[0], -1);
}

/* A softmax's row kernel (codegen_rows.c) computes exp(x - max) into its row buffer in a
 * loop of its own, vectorised: one vector exp call site (and one scalar call for the
 * remainder of rows of 301), none in the sum's fold or the division. */
static void test_softmax_rows(void) {
    dump_remove(dir); /* only this case's module in the dump */
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    jx_aval av = JX_AVAL(JX_F32, 9, 301);
    jx_fn *f = jx_trace("softmax", softmax, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in = ju_ramp(JX_INTS(9, 301), 0.013, -2), *want = NULL, *got = NULL;
    CU_ASSERT_EQUAL(jx_eval(f, 1, &in, 1, &want), JX_OK);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &in, 1, &got), JX_OK);
    CU_ASSERT(ju_same_bits(got, want));
    char *ir = dump_read(dir, "kernels", 1 << 22);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ir);
    const char *vcall = jx__vmath_wide() ? "call <16 x float> @jx_cg_expf_v16" : "call <8 x float> @jx_cg_expf_v8";
    int n = 0;
    for (const char *p = strstr(ir, vcall); p; p = strstr(p + 1, vcall)) n++;
    if (n != 1) fprintf(stderr, "\n  the softmax kernel has %d vector exp calls\n", n);
    CU_ASSERT_EQUAL(n, 1);
    free(ir);
    jx_array_release(got), jx_array_release(want), jx_array_release(in);
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    if (jx__vmath_lanes() != 8 || !jx__vmath_find("exp")->vector || !jx__vmath_find("tanh")->vector) {
        printf("jit_vec_calls: skipped: no 8-lane vector exp and tanh here (%s)\n", jx__vmath_impl());
        return 77;
    }
    if (!mkdtemp(dir)) return 2;
    setenv("JX_DUMP", "llvm", 1);
    setenv("JX_DUMP_DIR", dir, 1);
    setenv("JX_JIT_CACHE_DIR", "off", 1);
    CU_TestInfo tests[] = {
        {"an LSTM cell's gates: vector tanh and exp, the interpreter's bits", test_lstm_gates},
        {"a softmax's row kernel: exp vectorised once per element, the interpreter's bits", test_softmax_rows},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_vec_calls", tests);
    jx_jit_cache_clear();
    dump_remove(dir);
    return rc;
}
