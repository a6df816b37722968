/* test_jit_env.c: the environment switches read by the jit and the CPU pool. Each case runs
 * this program again as a child with one variable set (JX_NUM_THREADS, JX_DUMP,
 * JX_DEBUG_NANS, JX_GEMM, JX_JIT_SMALL_KERNEL) and checks what the child read and that an invalid value gave exactly one
 * warning on stderr, however often the value is read; with JX_DUMP=profile the child runs
 * an executable three times and the table it prints is checked. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "../../src/backends/cpu/blas.h"
#include "../../src/jit/jit.h"
#include "child_util.h"
#include "jit_util.h"

static void prof_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_relu(jx_matmul(in[0], in[1]));
}

/* The child under JX_DUMP=profile: an executable of a DOT and a LOOP step run three
 * times; clearing the cache frees it, which prints its table. */
static void child_profile(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 3, 2)};
    jx_fn *f = jx_trace("prof", prof_body, NULL, 2, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
    jx_array *in[2] = {jx_array_full(JX_F32, JX_INTS(4, 3), 1), jx_array_full(JX_F32, JX_INTS(3, 2), -1)};
    for (int r = 0; r < 3 && x; r++) {
        jx_array *o = NULL;
        if (jx_exec_run(x, 2, in, 1, &o) != JX_OK) printf("run failed: %s\n", jx_errmsg());
        jx_array_release(o);
    }
    jx_exec_release(x);
    jx_jit_cache_clear();
    jx_fn_release(f);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

/* The child: reads every switch twice and prints what it got. */
static int child(void) {
    int t1 = jx__default_threads(), t2 = jx__default_threads();
    unsigned d1 = jx__dump_flags(), d2 = jx__dump_flags();
    bool n1 = jx__debug_nans(), n2 = jx__debug_nans();
    bool g1 = jx__cpu_gemm_onednn(), g2 = jx__cpu_gemm_onednn();
    int64_t s1 = jx__jit_small_kernel(), s2 = jx__jit_small_kernel();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("threads=%s dump=%u nans=%d%s", t1 == t2 ? (t1 == cores ? "cores" : "set") : "differ",
           d1 == d2 ? d1 : 999, n1 == n2 ? n1 : 9, g1 != g2 ? " gemm=differ" : g1 ? "" : " gemm=openblas");
    if (s1 != s2) printf(" small=differ");
    else if (s1 != JX__SMALL_KERNEL_DEFAULT) printf(" small=%lld", (long long)s1);
    printf("\n");
    fflush(stdout);
    if (d1 & JX__DUMP_PROFILE) child_profile();
    return 0;
}

/* Runs `env self child` with only env set among the switches read here. */
static const char *run_child(const char *env) {
    return ju_run_child("-u JX_NUM_THREADS -u JX_DUMP -u JX_DEBUG_NANS -u JX_GEMM -u JX_JIT_SMALL_KERNEL", env);
}

#define ASSERT_OUT(env, want)                                                        \
    do {                                                                             \
        const char *got_ = run_child(env);                                           \
        if (strcmp(got_, (want)) != 0)                                               \
            fprintf(stderr, "\n  %s: got\n%s  wanted\n%s", (env), got_, (want));     \
        CU_ASSERT_STRING_EQUAL(got_, (want));                                        \
    } while (0)

static void test_valid(void) {
    ASSERT_OUT("", "threads=cores dump=0 nans=0\n");
    ASSERT_OUT(sysconf(_SC_NPROCESSORS_ONLN) == 3 ? "JX_NUM_THREADS=4" : "JX_NUM_THREADS=3",
               "threads=set dump=0 nans=0\n");
    ASSERT_OUT("JX_DUMP=", "threads=cores dump=0 nans=0\n");
    ASSERT_OUT("JX_DEBUG_NANS=on", "threads=cores dump=0 nans=1\n");
    ASSERT_OUT("JX_DEBUG_NANS=0", "threads=cores dump=0 nans=0\n");
}

static void test_num_threads(void) {
    char want[256];
    snprintf(want, sizeof want, "jx: warning: JX_NUM_THREADS=%%s is not a whole number from 1 to "
             "256; using %ld (the online cores)\nthreads=cores dump=0 nans=0\n",
             sysconf(_SC_NPROCESSORS_ONLN));
    char w[300];
    const char *bad[] = {"abc", "0", "3x", "999"};
    for (int i = 0; i < 4; i++) {
        char env[64];
        snprintf(env, sizeof env, "JX_NUM_THREADS=%s", bad[i]);
        snprintf(w, sizeof w, want, bad[i]);
        ASSERT_OUT(env, w);
    }
}

static void test_dump(void) {
    ASSERT_OUT("JX_DUMP=bogus", "jx: warning: JX_DUMP: unknown key 'bogus' ignored (known: ir, "
               "passes, fusion, plan, llvm, asm, profile, all)\nthreads=cores dump=0 nans=0\n");
    /* known keys still count beside an unknown one */
    char want[256];
    snprintf(want, sizeof want, "jx: warning: JX_DUMP: unknown key 'fuse' ignored (known: ir, "
             "passes, fusion, plan, llvm, asm, profile, all)\nthreads=cores dump=%d nans=0\n",
             JX__DUMP_PLAN);
    ASSERT_OUT("JX_DUMP=fuse,plan", want);
}

static void test_profile(void) {
    const char *got = run_child("JX_DUMP=profile");
    char head[64];
    snprintf(head, sizeof head, "threads=cores dump=%d nans=0\n", JX__DUMP_PROFILE);
    CU_ASSERT(strncmp(got, head, strlen(head)) == 0);
    const char *t = strstr(got, "profile of prof: 3 runs, ");
    CU_ASSERT_PTR_NOT_NULL(t);
    double ms = -1;
    CU_ASSERT(t && sscanf(t, "profile of prof: 3 runs, %lf ms per run", &ms) == 1 && ms > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "  step kind      ms/run      %  first output      equations\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\n     0 DOT "));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, " f32[4,2]          dot_general\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "dot_general\n     1 LOOP "));
    CU_ASSERT_PTR_NULL(strstr(got, "\n     2 ")); /* two steps */
    if (!t) fprintf(stderr, "\n  child printed:\n%s", got);
}

static void test_gemm(void) {
    ASSERT_OUT("JX_GEMM=onednn", "threads=cores dump=0 nans=0\n");
    ASSERT_OUT("JX_GEMM=openblas", "threads=cores dump=0 nans=0 gemm=openblas\n");
    ASSERT_OUT("JX_GEMM=mkl", "jx: warning: JX_GEMM=mkl is not onednn or openblas; using onednn\n"
               "threads=cores dump=0 nans=0\n");
}

static void test_small_kernel(void) {
    ASSERT_OUT("JX_JIT_SMALL_KERNEL=4096", "threads=cores dump=0 nans=0\n");
    ASSERT_OUT("JX_JIT_SMALL_KERNEL=0", "threads=cores dump=0 nans=0 small=0\n");
    ASSERT_OUT("JX_JIT_SMALL_KERNEL=100000", "threads=cores dump=0 nans=0 small=100000\n");
    const char *bad[] = {"-1", "many", "12k", "99999999999999999999"};
    for (int i = 0; i < 4; i++) {
        char env[64], want[256];
        snprintf(env, sizeof env, "JX_JIT_SMALL_KERNEL=%s", bad[i]);
        snprintf(want, sizeof want, "jx: warning: JX_JIT_SMALL_KERNEL=%s is not a whole number from 0 to "
                 "9223372036854775807; using 4096\nthreads=cores dump=0 nans=0\n", bad[i]);
        ASSERT_OUT(env, want);
    }
}

static void test_debug_nans(void) {
    ASSERT_OUT("JX_DEBUG_NANS=maybe", "jx: warning: JX_DEBUG_NANS=maybe is not 1, true, on, yes, "
               "0, false, off or no; using off\nthreads=cores dump=0 nans=0\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    if (!ju_self()[0]) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    CU_TestInfo tests[] = {
        {"valid values are read without a word", test_valid},
        {"JX_NUM_THREADS not a count: one warning", test_num_threads},
        {"JX_DUMP with an unknown key: one warning", test_dump},
        {"JX_DEBUG_NANS neither yes nor no: one warning", test_debug_nans},
        {"JX_GEMM: onednn, openblas, else one warning", test_gemm},
        {"JX_JIT_SMALL_KERNEL: a count, else one warning", test_small_kernel},
        {"JX_DUMP=profile: a table of step times", test_profile},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_env", tests);
}
