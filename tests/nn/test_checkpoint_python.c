/* test_checkpoint_python.c: a checkpoint written by jx, read by Python's safetensors and
 * by numpy (data/read_safetensors.py), whose report is compared with what was saved.
 * Skipped (exit 77) where python3 or its safetensors package is absent. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "jx/nn.h"

static char path[64], report[4096];
static int status;

static void test_python_reads_jx(void) {
    const char *want = "opt.count int32 [] 7.0\n"
                       "params.dense.b float32 [3] 1.5\n"
                       "params.dense.w float32 [2, 3] -0.75\n"
                       "params.layers.0.scale float64 [2] 5.0\n"
                       "params.mask bool [4] 4.0\n"
                       "params.steps int64 [] 12345678901.0\n"
                       "meta 42 3 0,42\n";
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(report, want);
    if (strcmp(report, want)) fprintf(stderr, "\n%s", report);
}

int main(void) {
    double w[6] = {-1, -0.5, 0, 0.25, 0.25, 0.25}, b[3] = {1, 0, 0.5};
    jx_tree *p = jx_tree_dict(), *o = jx_tree_dict(), *l = jx_tree_list(), *d = jx_tree_dict();
    jx_tree_set_array(p, "dense.w", jt_array(JX_F32, JX_INTS(2, 3), w));
    jx_tree_set_array(p, "dense.b", jt_array(JX_F32, JX_INTS(3), b));
    jx_tree_set_array(d, "scale", jx_array_full(JX_F64, JX_INTS(2), 2.5));
    jx_tree_append(l, d);
    jx_tree_set(p, "layers", l);
    jx_tree_set_array(p, "steps", jx_array_scalar(JX_I64, 12345678901LL));
    jx_tree_set_array(p, "mask", jx_array_ones(JX_BOOL, JX_INTS(4)));
    jx_tree_set_array(o, "count", jx_array_scalar(JX_I32, 7));
    const char *names[2] = {"params", "opt"};
    const jx_tree *trees[2] = {p, o};
    jx_ckpt_meta m = {42, 3, {0, 42}};
    snprintf(path, sizeof path, "/tmp/jx_ckpt_py_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    if (jx_checkpoint_save(path, 2, names, trees, &m) != JX_OK) {
        fprintf(stderr, "%s\n", jx_errmsg());
        return 1;
    }
    jx_tree_free(p), jx_tree_free(o);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 nn/data/read_safetensors.py %s", path);
    FILE *f = popen(cmd, "r");
    size_t n = f ? fread(report, 1, sizeof report - 1, f) : 0;
    report[n] = 0;
    int rc = f ? pclose(f) : -1;
    status = rc == -1 ? -1 : WEXITSTATUS(rc);
    if (status == 77 || status == 127) {
        unlink(path);
        printf("SKIP: python3 with the safetensors package is not installed (pip install safetensors numpy)\n");
        return 77;
    }
    int r = jt_run("nn/checkpoint_python", (CU_TestInfo[]){{"python safetensors reads jx", test_python_reads_jx},
                                                          CU_TEST_INFO_NULL});
    unlink(path);
    return r;
}
