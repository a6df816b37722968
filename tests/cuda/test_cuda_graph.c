/* test_cuda_graph.c: whole-program CUDA graphs (src/backends/cuda/graph.c) over the fake
 * driver (fake_cuda.c, loaded through JX_CUDA_DRIVER and JX_CUBLAS), so it runs without a
 * GPU. The fake computes GEMMs and copies but not generated kernels, so values are
 * checked on programs of dot_generals and host steps, and kernels by their launches.
 *
 * A program of device steps run on device arrays is captured once and replayed: the
 * second and third runs queue no kernel or GEMM of their own, only the graph, and still
 * compute on their own inputs; each run's outputs are new buffers that a later run
 * does not write over. Host inputs, a host step, JX_CUDA_GRAPHS=0 and a graph the driver
 * fails to instantiate all run step by step with the same values. No capture ever does
 * work the driver refuses inside one (the fake counts it), and freeing the executable
 * gives the graph and its buffers back. A layer's and an embedding's training steps
 * (the latter's scatter_add a loop kernel) are captured whole, with no host step. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "../../src/trace/ir.h"
#include "fake_load.h"
#include "harness.h"
#include "rel_err.h"

static jxfake_stats *fk;

static jx_array *ramp(jx_ints shape, double scale, double off) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    double *v = malloc(sizeof *v * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = scale * (double)((i * 37) % 11) + off;
    jx_array *a = jt_array(JX_F32, shape, v);
    free(v);
    return a;
}

static jx_array *on_gpu(jx_array *h) {
    jx_array *d = jx_array_to(h, JX_DEVICE_CUDA);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    jx_array_release(h);
    return d;
}


static void two_dots(jx_val *out, const jx_val *in, void *u) {
    jx_val h = jx_matmul(in[0], in[1]);
    out[0] = jx_matmul(h, in[2]);
    out[1] = h;
}
static void dot_relu(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_mul(jx_relu(jx_add(jx_matmul(in[0], in[1]), jx_scalar_like(in[0], 1))), jx_scalar_like(in[0], 2));
}
/* an MLP layer's training step: forward GEMM, relu, the weight gradient's GEMM through a
 * transpose, the update, a loss-like sum (test_cuda_run runs it on a GPU) */
static void lookup_loss(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_sum(jx_tanh(jx_gather(in[0], in[1], 0, 0)), JX_NOINTS);
}
static void layer_step(jx_val *out, const jx_val *in, void *u) {
    jx_val h = jx_relu(jx_matmul(in[1], in[0]));
    jx_val w = jx_sub(in[0], jx_mul(jx_scalar_like(in[0], 0.001), jx_matmul(jx_transpose(in[1], JX_INTS(1, 0)), h)));
    out[0] = w;
    out[1] = jx_reduce_sum(h, JX_NOINTS);
}
/* An embedding's SGD step: table (V, D), ids (B, L); its gradient is a scatter_add. */
static void lookup_step(jx_val *out, const jx_val *in, void *u) {
    jx_aval a[2] = {jx_aval_of(in[0]), jx_aval_of(in[1])};
    jx_fn *f = jx_trace("lookup_loss", lookup_loss, NULL, 2, a, 1), *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    jx_val grad;
    jx_call(g, 2, in, 1, &grad);
    out[0] = jx_sub(in[0], jx_mul(jx_scalar_like(in[0], 0.1), grad));
    jx_fn_release(g), jx_fn_release(f);
}
/* digamma's group is a host step: libdevice has no digamma (test_cuda_ptx) */
static void host_dot(jx_val *out, const jx_val *in, void *u) { out[0] = jx_matmul(jx_digamma(jx_exp(in[0])), in[1]); }

static jx_fn *trace_two_dots(const char *name) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 4, 6), JX_AVAL(JX_F32, 6, 5), JX_AVAL(JX_F32, 5, 3)};
    jx_fn *f = jx_trace(name, two_dots, NULL, 3, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

/* Runs x on in[] (nin inputs, 2 or fewer outputs) and checks each output against the
 * interpreter on host copies of in[]. */
static void run_check(jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **got) {
    jx_status st = jx_exec_run(x, nin, in, nout, got);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    jx_array *want[2] = {0}, *host[4] = {0};
    for (int i = 0; i < nin; i++) host[i] = jx_array_to(in[i], JX_DEVICE_CPU);
    CU_ASSERT_EQUAL_FATAL(jx_eval(jx_exec_fn(x), nin, host, nout, want), JX_OK);
    for (int o = 0; o < nout; o++) {
        CU_ASSERT_TRUE(rel_err(got[o], want[o]) <= 1e-6);
        jx_array_release(want[o]);
    }
    for (int i = 0; i < nin; i++) jx_array_release(host[i]);
}

static void test_replay(void) {
    jx_fn *f = trace_two_dots("two_dots");
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *w1 = on_gpu(ramp(JX_INTS(6, 5), 0.25, -1)), *w2 = on_gpu(ramp(JX_INTS(5, 3), -0.5, 2));
    jxfake_stats s0 = *fk;
    jx_array *outs[3][2], *xs[3];
    for (int k = 0; k < 3; k++) {
        xs[k] = on_gpu(ramp(JX_INTS(4, 6), 1.0 + k, -3.0 * k)); /* each run its own input */
        jx_array *in[3] = {xs[k], w1, w2};
        run_check(x, 3, in, 2, outs[k]);
        CU_ASSERT_EQUAL(jx_array_device(outs[k][0]), JX_DEVICE_CUDA);
        if (k == 0) { /* the first run captures, instantiates and launches the graph */
            CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1);
            CU_ASSERT_EQUAL(fk->instantiated - s0.instantiated, 1);
        }
    }
    CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1); /* never captured again */
    CU_ASSERT_EQUAL(fk->graph_launches - s0.graph_launches, 3);
    CU_ASSERT_EQUAL(fk->gemms - s0.gemms, 0);                   /* no GEMM queued outside the graph */
    CU_ASSERT_EQUAL(fk->gemms_replayed - s0.gemms_replayed, 6); /* two per run */
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    CU_ASSERT_EQUAL(fk->last_compute_type, 0); /* f32 GEMMs in full f32 by default, never TF32 */
    /* inputs in and outputs out, one batch of copies each per run (3 inputs, 2 outputs) */
    CU_ASSERT_EQUAL(fk->batches - s0.batches, 6);
    CU_ASSERT_EQUAL(fk->batched_copies - s0.batched_copies, 3 * (3 + 2));
    CU_ASSERT_EQUAL(fk->copies_async - s0.copies_async, 0);
    /* each run's outputs are buffers of their own, not written over by the later runs:
     * the first run's, read only now, still hold its values */
    CU_ASSERT_PTR_NOT_EQUAL(outs[0][0]->dev, outs[1][0]->dev);
    CU_ASSERT_PTR_NOT_EQUAL(outs[1][0]->dev, outs[2][0]->dev);
    jx_array *again[2];
    jx_array *in0[3] = {xs[0], w1, w2};
    jx_array *host0[3];
    for (int i = 0; i < 3; i++) host0[i] = jx_array_to(in0[i], JX_DEVICE_CPU);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 3, host0, 2, again), JX_OK);
    CU_ASSERT_TRUE(rel_err(outs[0][0], again[0]) <= 1e-6);
    CU_ASSERT_TRUE(rel_err(outs[0][1], again[1]) <= 1e-6);
    CU_ASSERT_TRUE(rel_err(outs[2][0], again[0]) > 0.1); /* a run with other inputs differs */
    for (int i = 0; i < 3; i++) jx_array_release(host0[i]);
    for (int o = 0; o < 2; o++) jx_array_release(again[o]);
    for (int k = 0; k < 3; k++) jx_array_release(xs[k]), jx_array_release(outs[k][0]), jx_array_release(outs[k][1]);
    jx_array_release(w1), jx_array_release(w2);
    /* freeing the executable gives the graph, its instance and its buffers back */
    jx_device_mem_stats m;
    CU_ASSERT_EQUAL(jx_device_mem_stats_get(JX_DEVICE_CUDA, &m), JX_OK);
    CU_ASSERT_TRUE(m.in_use > 0);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_jit_cache_clear();
    CU_ASSERT_EQUAL(fk->execs_live, 0);
    CU_ASSERT_EQUAL(fk->graphs_live, 0);
    CU_ASSERT_EQUAL(jx_device_mem_stats_get(JX_DEVICE_CUDA, &m), JX_OK);
    CU_ASSERT_EQUAL(m.in_use, 0);
}

/* Runs a fresh executable of two_dots twice on in[] (device or host arrays); returns the
 * GEMMs it queued directly. */
static long step_by_step(const char *name, bool device) {
    jx_fn *f = trace_two_dots(name);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[3] = {ramp(JX_INTS(4, 6), 1, 0), ramp(JX_INTS(6, 5), 0.5, -1), ramp(JX_INTS(5, 3), 2, -4)};
    for (int i = 0; device && i < 3; i++) in[i] = on_gpu(in[i]);
    long g0 = fk->gemms;
    for (int k = 0; k < 2; k++) {
        jx_array *out[2];
        run_check(x, 3, in, 2, out);
        CU_ASSERT_EQUAL(jx_array_device(out[0]), device ? JX_DEVICE_CUDA : JX_DEVICE_CPU);
        jx_array_release(out[0]), jx_array_release(out[1]);
    }
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_exec_release(x);
    jx_fn_release(f);
    return fk->gemms - g0;
}

static void test_not_captured(void) {
    jxfake_stats s0 = *fk;
    CU_ASSERT_EQUAL(step_by_step("host_inputs", false), 4); /* host arrays: step by step */
    setenv("JX_CUDA_GRAPHS", "0", 1);
    CU_ASSERT_EQUAL(step_by_step("graphs_off", true), 4); /* switched off */
    unsetenv("JX_CUDA_GRAPHS");
    CU_ASSERT_EQUAL(fk->captures_begun, s0.captures_begun);
    CU_ASSERT_EQUAL(fk->graph_launches, s0.graph_launches);

    /* a host step (digamma) between device steps: step by step, right values */
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 4), JX_AVAL(JX_F32, 4, 2)};
    jx_fn *f = jx_trace("host_dot", host_dot, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[2] = {on_gpu(ramp(JX_INTS(3, 4), -1, 5)), on_gpu(ramp(JX_INTS(4, 2), 0.5, 0))};
    for (int k = 0; k < 2; k++) {
        jx_array *out;
        run_check(x, 2, in, 1, &out);
        jx_array_release(out);
    }
    CU_ASSERT_EQUAL(fk->captures_begun, s0.captures_begun);
    CU_ASSERT_EQUAL(fk->gemms - s0.gemms, 4 + 4 + 2);
    jx_array_release(in[0]), jx_array_release(in[1]);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void test_instantiate_fails(void) {
    jxfake_stats s0 = *fk;
    fk->fail_instantiate = 1;
    /* captured once, refused, then step by step for good: the same values */
    CU_ASSERT_EQUAL(step_by_step("refused", true), 4);
    CU_ASSERT_EQUAL(fk->fail_instantiate, 0);
    CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1);
    CU_ASSERT_EQUAL(fk->graph_launches, s0.graph_launches);
    CU_ASSERT_EQUAL(fk->graphs_live, s0.graphs_live); /* the captured graph was destroyed */
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
}

/* a driver that refuses a batch of copies: one call per copy from then on, same values */
static void test_batch_refused(void) {
    jxfake_stats s0 = *fk;
    fk->fail_batch = 1;
    jx_fn *f = trace_two_dots("batch_refused");
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[3] = {on_gpu(ramp(JX_INTS(4, 6), 1, 0)), on_gpu(ramp(JX_INTS(6, 5), 0.5, -1)),
                       on_gpu(ramp(JX_INTS(5, 3), 2, -4))};
    for (int k = 0; k < 2; k++) {
        jx_array *out[2];
        run_check(x, 3, in, 2, out);
        jx_array_release(out[0]), jx_array_release(out[1]);
    }
    CU_ASSERT_EQUAL(fk->fail_batch, 0);
    CU_ASSERT_EQUAL(fk->batches, s0.batches);
    CU_ASSERT_EQUAL(fk->copies_async - s0.copies_async, 2 * (3 + 2));
    CU_ASSERT_EQUAL(fk->graph_launches - s0.graph_launches, 2);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void test_kernels(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 4, 6), JX_AVAL(JX_F32, 6, 8)};
    jx_fn *f = jx_trace("dot_relu", dot_relu, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[2] = {on_gpu(ramp(JX_INTS(4, 6), 1, 0)), on_gpu(ramp(JX_INTS(6, 8), 0.5, -1))};
    jxfake_stats s0 = *fk;
    jx_array *out[3];
    for (int k = 0; k < 3; k++) CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 1, &out[k]), JX_OK);
    long per_run = (fk->launches_replayed - s0.launches_replayed) / 3;
    CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1);
    CU_ASSERT_EQUAL(fk->launches - s0.launches, 0); /* every kernel from the graph */
    CU_ASSERT_TRUE(per_run >= 1);
    CU_ASSERT_EQUAL(fk->launches_replayed - s0.launches_replayed, 3 * per_run);
    CU_ASSERT_EQUAL(fk->gemms_replayed - s0.gemms_replayed, 3);
    /* the bias-relu kernel: input and output buffers, then its 32 elements */
    CU_ASSERT_TRUE(fk->last_nparams >= 3);
    CU_ASSERT_EQUAL(fk->last_params[fk->last_nparams - 1], 32);
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    for (int k = 0; k < 3; k++) jx_array_release(out[k]);
    jx_array_release(in[0]), jx_array_release(in[1]);
    jx_exec_release(x);
    jx_fn_release(f);

    /* a layer's training step is captured whole: nothing of it falls back to the host */
    jx_aval lv[2] = {JX_AVAL(JX_F32, 16, 8), JX_AVAL(JX_F32, 4, 16)};
    f = jx_trace("layer_step", layer_step, NULL, 2, lv, 2);
    x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *lin[2] = {on_gpu(ramp(JX_INTS(16, 8), 0.1, 0)), on_gpu(ramp(JX_INTS(4, 16), 1, -2))};
    s0 = *fk;
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, lin, 2, out), JX_OK);
        jx_array_release(out[0]), jx_array_release(out[1]);
    }
    CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1);
    CU_ASSERT_EQUAL(fk->graph_launches - s0.graph_launches, 2);
    CU_ASSERT_EQUAL(fk->launches + fk->gemms - s0.launches - s0.gemms, 0);
    jx_array_release(lin[0]), jx_array_release(lin[1]);
    jx_exec_release(x);
    jx_fn_release(f);

    /* so is an embedding's: its gradient's scatter_add is a loop kernel (fuse.c's
     * owner_folds), not a host step */
    jx_aval ev[2] = {JX_AVAL(JX_F32, 30, 8), JX_AVAL(JX_I32, 4, 5)};
    f = jx_trace("lookup_step", lookup_step, NULL, 2, ev, 1);
    x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *ids = jx_array_zeros(JX_I32, JX_INTS(4, 5));
    for (int i = 0; i < 20; i++) ((int32_t *)jx_array_data_mut(ids))[i] = (i * 7) % 30 - 3;
    jx_array *ein[2] = {on_gpu(ramp(JX_INTS(30, 8), 0.1, 0)), on_gpu(ids)};
    s0 = *fk;
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, ein, 1, out), JX_OK);
        CU_ASSERT_EQUAL(jx_array_device(out[0]), JX_DEVICE_CUDA);
        jx_array_release(out[0]);
    }
    CU_ASSERT_EQUAL(fk->captures_begun - s0.captures_begun, 1);
    CU_ASSERT_EQUAL(fk->graph_launches - s0.graph_launches, 2);
    CU_ASSERT_EQUAL(fk->copies_to_host - s0.copies_to_host, 0);
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    jx_array_release(ein[0]), jx_array_release(ein[1]);
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_graph", &h))) return 1;
    CU_TestInfo tests[] = {
        {"a program of device steps: captured once, replayed with new inputs", test_replay},
        {"host inputs, a host step, JX_CUDA_GRAPHS=0: step by step", test_not_captured},
        {"a graph the driver cannot instantiate: step by step from then on", test_instantiate_fails},
        {"generated kernels replayed from the graph; training steps captured whole", test_kernels},
        {"a driver refusing batched copies: one copy call each", test_batch_refused},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("cuda graphs (fake driver)", tests);
    jx_jit_cache_clear(); /* the executables (and their graphs) freed before the driver goes */
    if (fk->execs_live || fk->graphs_live) fprintf(stderr, "test_cuda_graph: graphs left alive\n"), rc = 1;
    dlclose(h);
    return rc;
}
