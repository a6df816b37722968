/* test_jit_exec_dump.c: JX_DUMP=all with JX_DUMP_DIR (set by main before anything
 * reads them): compiling writes the IR, pass, fusion and plan dumps as files there. */
#include "dump_dir.h"
#include "jit_util.h"

static char dir[] = "/tmp/jx_dump_XXXXXX";

static void body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_sum(jx_exp(jx_mul(in[0], in[0])), JX_INTS(1));
}

static void test_dump_files(void) {
    jx_aval a = JX_AVAL(JX_F32, 8, 16);
    jx_fn *f = jx_trace("dumped", body, NULL, 1, &a, 1);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    const char *kinds[] = {"dumped.ir-given", "dumped.ir-compiled", "dumped.after-simplify", "dumped.plan",
                           "dumped.fusion"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char *t = dump_read(dir, kinds[i], 1 << 16);
        if (!t) fprintf(stderr, "\n  no dump file for %s in %s\n", kinds[i], dir);
        CU_ASSERT_PTR_NOT_NULL(t);
        if (t && strstr(kinds[i], "ir")) CU_ASSERT_PTR_NOT_NULL(strstr(t, "reduce_sum"));
        if (t && strstr(kinds[i], "plan")) CU_ASSERT_PTR_NOT_NULL(strstr(t, "plan of dumped"));
        free(t);
    }
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    setenv("JX_DUMP", "all", 1);
    setenv("JX_DUMP_DIR", dir, 1);
    CU_TestInfo tests[] = {
        {"JX_DUMP_DIR receives the dumps as files", test_dump_files},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_dump", tests);
    jx_jit_cache_clear();
    dump_remove(dir);
    return rc;
}
