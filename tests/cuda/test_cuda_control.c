/* test_cuda_control.c: cond and scan on the device (src/backends/cuda/control.c) over the
 * fake driver, which computes GEMMs but not generated kernels: the bodies here are
 * matrix products. A scan's carry and ys never come to the host during the run (the fake
 * counts copies to the host) and match the interpreter, forwards and reversed; a switch
 * reads back its index, a single scalar, and runs the branch it names. (while needs a
 * comparison kernel for its predicate: test_cuda_run checks it on a GPU.) */
#define _POSIX_C_SOURCE 200809L

#include "../../src/trace/ir.h"
#include "fake_load.h"
#include "harness.h"
#include "rel_err.h"

static jxfake_stats *fk;

static jx_array *small(jx_ints shape, int seed) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    float *v = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) v[i] = (float)(((i * 7 + seed * 3) % 11) - 5) / 16;
    return a;
}


/* Runs f on CUDA with device copies of host[] and checks every output against the
 * interpreter; returns the copies to the host the run itself made. */
static long run_on_device(jx_fn *f, int nin, jx_array **host, int nout) {
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *dev[4], *got[4], *want[4];
    for (int i = 0; i < nin; i++) CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    long before = fk->copies_to_host;
    jx_status st = jx_exec_run(x, nin, dev, nout, got);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    long copies = fk->copies_to_host - before;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, host, nout, want), JX_OK);
    for (int o = 0; o < nout; o++) {
        CU_ASSERT_EQUAL(jx_array_device(got[o]), JX_DEVICE_CUDA);
        CU_ASSERT_TRUE(rel_err(got[o], want[o]) <= 1e-5);
        jx_array_release(got[o]), jx_array_release(want[o]);
    }
    for (int i = 0; i < nin; i++) jx_array_release(dev[i]);
    jx_exec_release(x);
    return copies;
}

/* body(c, x) -> (c . x, (c . x) . w), w captured from the enclosing trace */
static void scan_body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_matmul(in[0], in[1]);
    out[1] = jx_matmul(out[0], *(const jx_val *)u);
}
static void scan_fwd(jx_val *out, const jx_val *in, void *u) {
    jx_val w = in[2];
    jx_scan(scan_body, &w, 5, u != NULL, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 4, 4), JX_AVAL(JX_F32, 5, 4, 4), JX_AVAL(JX_F32, 4, 2)};
    jx_array *host[3] = {small(JX_INTS(4, 4), 1), small(JX_INTS(5, 4, 4), 2), small(JX_INTS(4, 2), 3)};
    for (int rev = 0; rev < 2; rev++) {
        jx_fn *f = jx_trace(rev ? "scan_rev" : "scan", scan_fwd, rev ? (void *)1 : NULL, 3, av, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        long g0 = fk->gemms + fk->gemms_replayed;
        CU_ASSERT_EQUAL(run_on_device(f, 3, host, 2), 0); /* the carry stays on the device */
        CU_ASSERT_EQUAL(fk->gemms + fk->gemms_replayed - g0, 2 * 5);
        jx_fn_release(f);
    }
    for (int i = 0; i < 3; i++) jx_array_release(host[i]);
}

static void branch0(jx_val *out, const jx_val *in, void *u) { out[0] = jx_matmul(in[0], in[1]); }
static void branch1(jx_val *out, const jx_val *in, void *u) { out[0] = jx_matmul(in[1], in[0]); }
static void switch_fwd(jx_val *out, const jx_val *in, void *u) {
    jx_body b[2] = {branch0, branch1};
    jx_switch(in[0], 2, b, NULL, 2, in + 1, 1, out);
}

static void test_switch(void) {
    jx_aval av[3] = {JX_AVAL(JX_I32), JX_AVAL(JX_F32, 4, 4), JX_AVAL(JX_F32, 4, 4)};
    jx_fn *f = jx_trace("switch", switch_fwd, NULL, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int32_t k = -1; k <= 2; k++) { /* clamped into 0..1 */
        jx_array *host[3] = {jx_array_new(JX_I32, JX_NOINTS, &k), small(JX_INTS(4, 4), 4), small(JX_INTS(4, 4), 5)};
        CU_ASSERT_EQUAL(run_on_device(f, 3, host, 1), 1); /* the index, and nothing else */
        for (int i = 0; i < 3; i++) jx_array_release(host[i]);
    }
    jx_fn_release(f);
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_control", &h))) return 1;
    CU_TestInfo tests[] = {
        {"scan: the carry and ys stay on the device", test_scan},
        {"switch: the index read back, the branch run on the device", test_switch},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("cuda control flow (fake driver)", tests);
    jx_jit_cache_clear();
    dlclose(h);
    return rc;
}
