/* test_jit_exec_dump.c: JX_DUMP=all with JX_DUMP_DIR (set by main before anything
 * reads them): compiling writes the IR, pass, fusion and plan dumps as files there. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "jit_util.h"

static char dir[] = "/tmp/jx_dump_XXXXXX";

static void body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_sum(jx_exp(jx_mul(in[0], in[0])), JX_INTS(1));
}

/* The contents of the first file in dir whose name contains what (malloc'd), or NULL. */
static char *read_dump(const char *what) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char *text = NULL;
    while (d && !text && (de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, what)) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        text = calloc(1, 1 << 16);
        size_t got = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
        (void)got;
        fclose(f);
    }
    if (d) closedir(d);
    return text;
}

static void test_dump_files(void) {
    jx_aval a = JX_AVAL(JX_F32, 8, 16);
    jx_fn *f = jx_trace("dumped", body, NULL, 1, &a, 1);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    const char *kinds[] = {"dumped.ir-given", "dumped.ir-compiled", "dumped.after-simplify", "dumped.plan",
                           "dumped.fusion"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char *t = read_dump(kinds[i]);
        if (!t) fprintf(stderr, "\n  no dump file for %s in %s\n", kinds[i], dir);
        CU_ASSERT_PTR_NOT_NULL(t);
        if (t && strstr(kinds[i], "ir")) CU_ASSERT_PTR_NOT_NULL(strstr(t, "reduce_sum"));
        if (t && strstr(kinds[i], "plan")) CU_ASSERT_PTR_NOT_NULL(strstr(t, "plan of dumped"));
        free(t);
    }
    jx_exec_release(x);
    jx_fn_release(f);
}

/* removes the dump directory */
static void cleanup(void) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
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
    cleanup();
    return rc;
}
