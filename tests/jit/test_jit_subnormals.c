/* test_jit_subnormals.c: subnormal floats are flushed to zero as XLA's CPU backend does
 * (src/backends/fpenv.h, docs/jit.md): by the interpreter, the jit (on the calling
 * thread and in the pool's workers) and constant folding alike, so the two executors
 * agree bit for bit at subnormal inputs; JX_SUBNORMALS_KEEP and JX_FLUSH_SUBNORMALS=0
 * keep them (IEEE); the caller's floating-point mode is restored after every run. On a
 * CPU whose mode jx cannot set (neither x86 nor aarch64) every value is kept, and the
 * flushing cases are skipped. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <unistd.h>

#include "../../src/backends/fpenv.h"
#include "child_util.h"
#include "jit_util.h"

static void b_twice(jx_val *out, const jx_val *in, void *u) { out[0] = jx_mul_s(in[0], 2.0); }

/* A chain with arithmetic, comparisons and libm calls. */
static void b_chain(jx_val *out, const jx_val *in, void *u) {
    jx_val x = in[0];
    out[0] = jx_add(jx_mul(x, x), jx_sub(jx_exp(x), jx_tanh(jx_mul_s(x, 3.0))));
    out[1] = jx_select(jx_gt(x, jx_zeros_like(x)), jx_sqrt(x), jx_neg(x));
}

/* f(x) on an f32 vector of n copies of v, by the interpreter (x NULL) or executable x. */
static jx_array *run_vec(jx_fn *f, jx_exec *x, jx_dtype t, int64_t n, double v) {
    jx_array *in = jx_array_full(t, JX_INTS(n), v), *out = NULL;
    jx_status st = x ? jx_exec_run(x, 1, &in, 1, &out) : jx_eval(f, 1, &in, 1, &out);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    jx_array_release(in);
    return out;
}

static jx_exec *jit_mode(jx_fn *f, int nthreads, int mode) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.nthreads = nthreads;
    o.subnormals = mode;
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    if (!x) fprintf(stderr, "\n  %s\n", jx_errmsg());
    return x;
}

/* Every element of a equals v. */
static bool all_eq(const jx_array *a, double v) {
    if (!a) return false;
    for (int64_t i = 0; i < jx_array_size(a); i++)
        if (jx_array_get(a, i) != v) return false;
    return true;
}

static void test_flush_and_keep(void) {
    if (!JX__FPENV_CAN_FLUSH) return;
    const double s32 = (double)1e-40f, s64 = 1e-310; /* subnormal in f32 / f64 */
    for (int d = 0; d < 2; d++) {
        jx_dtype t = d ? JX_F64 : JX_F32;
        double s = d ? s64 : s32;
        jx_aval av = JX_AVAL(t, 1 << 18); /* large enough to be split over the pool */
        jx_fn *f = jx_trace("twice", b_twice, NULL, 1, &av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_exec *flush = jit_mode(f, 2, JX_SUBNORMALS_FLUSH), *keep = jit_mode(f, 2, JX_SUBNORMALS_KEEP);
        jx_exec *def = jit_mode(f, 2, JX_SUBNORMALS_DEFAULT);
        CU_ASSERT_FATAL(flush && keep && def);
        CU_ASSERT(flush != keep && flush == def); /* the mode is part of the cache key */
        for (int round = 0; round < 2; round++) { /* the workers switch mode job by job */
            jx_array *a = run_vec(f, NULL, t, 1 << 18, s), *b = run_vec(f, flush, t, 1 << 18, s);
            jx_array *c = run_vec(f, keep, t, 1 << 18, s), *n = run_vec(f, flush, t, 1 << 18, 1.5);
            CU_ASSERT(all_eq(a, 0.0));          /* the interpreter flushes */
            CU_ASSERT(all_eq(b, 0.0));          /* so does the jit, in every chunk */
            CU_ASSERT(all_eq(c, 2 * s));        /* unless told to keep them */
            CU_ASSERT(all_eq(n, 3.0));          /* normal values are untouched */
            CU_ASSERT(a && b && ju_same_bits(a, b));
            jx_array_release(a);
            jx_array_release(b);
            jx_array_release(c);
            jx_array_release(n);
        }
        jx_exec_release(flush);
        jx_exec_release(keep);
        jx_exec_release(def);
        jx_fn_release(f);
    }
}

/* The interpreter and the jit give the same bits at edge values, subnormals among them. */
static void test_bits_agree(void) {
    static const double xs[] = {1e-40, -1e-40, 1e-45, -3e-39, 1.2e-38, 0.0, -0.0, 0.5, -2.0, 1e-20, 88.0};
    enum { N = sizeof xs / sizeof *xs };
    jx_aval av = JX_AVAL(JX_F32, N);
    jx_fn *f = jx_trace("chain", b_chain, NULL, 1, &av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in = jx_array_new(JX_F64, JX_INTS(N), xs), *x32 = jx_array_astype(in, JX_F32);
    jx_array *a[2] = {0}, *b[2] = {0};
    jx_exec *x = jit_mode(f, 1, JX_SUBNORMALS_DEFAULT);
    CU_ASSERT_FATAL(x && x32);
    CU_ASSERT_EQUAL(jx_eval(f, 1, &x32, 2, a), JX_OK);
    CU_ASSERT_EQUAL(jx_exec_run(x, 1, &x32, 2, b), JX_OK);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(a[i] && b[i] && ju_same_bits(a[i], b[i]));
        jx_array_release(a[i]);
        jx_array_release(b[i]);
    }
    jx_exec_release(x);
    jx_array_release(in);
    jx_array_release(x32);
    jx_fn_release(f);
}

/* Constant folding runs in the executors' mode: 1e-40f * 0.5 folds to 0 as it runs. */
static void b_fold(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_add(in[0], jx_mul(jx_scalar(JX_F32, 1e-40), jx_scalar(JX_F32, 0.5)));
}
static void test_fold(void) {
    if (!JX__FPENV_CAN_FLUSH) return;
    jx_aval av = JX_SCALAR(JX_F32);
    jx_fn *f = jx_trace("fold", b_fold, NULL, 1, &av, 1), *g = f ? jx_fn_simplify(f) : NULL;
    CU_ASSERT_FATAL(f && g);
    char *text = jx_fn_to_string(g);
    CU_ASSERT(text && !strstr(text, "mul")); /* folded */
    free(text);
    jx_array *in = jx_array_scalar(JX_F32, -0.0), *o1 = NULL, *o2 = NULL;
    CU_ASSERT_EQUAL(jx_eval(f, 1, &in, 1, &o1), JX_OK);
    CU_ASSERT_EQUAL(jx_eval(g, 1, &in, 1, &o2), JX_OK);
    CU_ASSERT(o1 && o2 && ju_same_bits(o1, o2));
    CU_ASSERT(o1 && jx_array_get(o1, 0) == 0.0);
    jx_array_release(in);
    jx_array_release(o1);
    jx_array_release(o2);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* The caller's own mode comes back after every run, whichever it was. */
static void test_restored(void) {
    jx_aval av = JX_AVAL(JX_F32, 4);
    jx_fn *f = jx_trace("twice", b_twice, NULL, 1, &av, 1);
    jx_exec *keep = jit_mode(f, 2, JX_SUBNORMALS_KEEP), *flush = jit_mode(f, 2, JX_SUBNORMALS_FLUSH);
    CU_ASSERT_FATAL(f && keep && flush);
    for (int caller = 0; caller < 2; caller++) {
        uint64_t before = jx__fpenv_enter(caller == 1), mine = jx__fpenv_get();
        jx_array *o = run_vec(f, NULL, JX_F32, 4, 1.0);
        CU_ASSERT(jx__fpenv_get() == mine);
        jx_array_release(o);
        o = run_vec(f, keep, JX_F32, 4, 1.0);
        CU_ASSERT(jx__fpenv_get() == mine);
        jx_array_release(o);
        o = run_vec(f, flush, JX_F32, 4, 1.0);
        CU_ASSERT(jx__fpenv_get() == mine);
        jx_array_release(o);
        jx_array *bad = jx_array_full(JX_F32, JX_INTS(3), 1.0);
        CU_ASSERT_EQUAL(jx_exec_run(flush, 1, &bad, 1, &o), JX_ERR_SHAPE); /* an error path too */
        CU_ASSERT(jx__fpenv_get() == mine);
        jx_array_release(bad);
        jx__fpenv_leave(before);
    }
    jx_exec_release(keep);
    jx_exec_release(flush);
    jx_fn_release(f);
}

static void test_bad_option(void) {
    jx_aval av = JX_AVAL(JX_F32, 4);
    jx_fn *f = jx_trace("twice", b_twice, NULL, 1, &av, 1);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.subnormals = 7;
    int line = __LINE__ + 1;
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    CU_ASSERT_PTR_NULL(x);
    char want[256];
    snprintf(want, sizeof want, "%s:%d: jit: twice: subnormals is 7, want JX_SUBNORMALS_DEFAULT, _FLUSH or _KEEP",
             __FILE__, line);
    if (strcmp(jx_errmsg(), want) != 0) fprintf(stderr, "\n  got '%s'\n", jx_errmsg());
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), want);
    jx_exec_release(x);
    jx_fn_release(f);
}

/* The child: prints what the interpreter and a default executable give for 1e-40f * 2. */
static int child(void) {
    jx_aval av = JX_AVAL(JX_F32, 1);
    jx_fn *f = jx_trace("twice", b_twice, NULL, 1, &av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
    jx_array *a = run_vec(f, NULL, JX_F32, 1, 1e-40), *b = x ? run_vec(f, x, JX_F32, 1, 1e-40) : NULL;
    printf("interp=%s jit=%s\n", a && jx_array_get(a, 0) == 0 ? "0" : "kept",
           b && jx_array_get(b, 0) == 0 ? "0" : "kept");
    jx_array_release(a);
    jx_array_release(b);
    jx_exec_release(x);
    jx_fn_release(f);
    return 0;
}

static const char *run_child(const char *env) { return ju_run_child("-u JX_FLUSH_SUBNORMALS", env); }

static void test_env(void) {
    const char *flushed = JX__FPENV_CAN_FLUSH ? "interp=0 jit=0\n" : "interp=kept jit=kept\n";
    CU_ASSERT_STRING_EQUAL(run_child(""), flushed);
    CU_ASSERT_STRING_EQUAL(run_child("JX_FLUSH_SUBNORMALS=on"), flushed);
    CU_ASSERT_STRING_EQUAL(run_child("JX_FLUSH_SUBNORMALS=0"), "interp=kept jit=kept\n");
    char want[256];
    snprintf(want, sizeof want, "jx: warning: JX_FLUSH_SUBNORMALS=maybe is not 1, true, on, yes, 0, false, off "
             "or no; using on\n%s", flushed);
    CU_ASSERT_STRING_EQUAL(run_child("JX_FLUSH_SUBNORMALS=maybe"), want);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    if (!ju_self()[0]) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    CU_TestInfo tests[] = {
        {"interpreter and jit flush, KEEP keeps, on every worker", test_flush_and_keep},
        {"interpreter and jit agree bit for bit at subnormals", test_bits_agree},
        {"constant folding flushes as the executors do", test_fold},
        {"the caller's floating-point mode is restored", test_restored},
        {"a bad subnormals option is an error", test_bad_option},
        {"JX_FLUSH_SUBNORMALS", test_env},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_subnormals", tests);
}
