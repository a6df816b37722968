/* test_cuda_run.c: the CUDA jit on a GPU, against the interpreter: a fused elementwise
 * chain over 2^20 elements, row/column/full reductions and argmax bit-identical to the
 * interpreter (sequential folds, no FMA contraction, no atomics), an embedding gradient's
 * scatter_add (a loop kernel) bit-identical too, dot_general on cuBLAS,
 * steps that fall back to the host (digamma) mixed with device steps (sort and cumsum kernels), while and scan
 * driven on the device (control.c),
 * results bit-identical run to run, device arrays (jx_array_to, an executable given a
 * device input returns device outputs, never read back while a loop runs, with the same
 * bits as the host-array run), a step on device arrays run as a CUDA graph with the
 * bits of the step-by-step run, and every device buffer back in the allocator's cache
 * after a run. Where no GPU (or no driver) is found, jx_jit must fail with the
 * clear "cuda: no CUDA ..." error, and the suite then reports itself skipped (77). */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/trace/ir.h"
#include "harness.h"

static jx_array *ramp(jx_dtype t, jx_ints shape, double scale, double off) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = scale * (double)((i * 7919) % 1000) / 1000.0 + off;
    jx_array *a = jt_array(t, shape, v);
    free(v);
    return a;
}

/* Runs f on the GPU and with the interpreter; exact: bit equality, else within tol
 * relative to max(1, |want|). Returns the GPU outputs' first array (new reference). */
static jx_array *check(const jx_fn *f, int nin, jx_array *const *in, bool exact, double tol) {
    int nout = jx_fn_num_outputs(f);
    jx_array *got[8] = {0}, *want[8] = {0};
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_status st = jx_exec_run(x, nin, in, nout, got);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, in, nout, want), JX_OK);
    for (int o = 0; o < nout; o++) {
        jx_aval ga = jx_array_aval(got[o]), wa = jx_array_aval(want[o]);
        CU_ASSERT_TRUE_FATAL(jx_aval_equal(&ga, &wa));
        if (exact) {
            bool same = memcmp(jx_array_data(got[o]), jx_array_data(want[o]), jx_array_nbytes(want[o])) == 0;
            if (!same) fprintf(stderr, "\n  %s output %d not bit-identical\n", jx_fn_name(f), o);
            CU_ASSERT_TRUE(same);
        } else {
            double worst = 0;
            for (int64_t i = 0; i < jx_array_size(want[o]); i++) {
                double g = jx_array_get(got[o], i), w = jx_array_get(want[o], i);
                double d = fabs(g - w) / (fabs(w) > 1 ? fabs(w) : 1);
                if (!(d <= worst)) worst = d;
            }
            if (!(worst <= tol)) fprintf(stderr, "\n  %s output %d: error %g\n", jx_fn_name(f), o, worst);
            CU_ASSERT_TRUE(worst <= tol);
        }
    }
    for (int o = 1; o < nout; o++) jx_array_release(got[o]);
    for (int o = 0; o < nout; o++) jx_array_release(want[o]);
    jx_exec_release(x);
    return got[0];
}

static void chain(jx_val *out, const jx_val *in, void *u) {
    jx_val y = jx_add(jx_mul(in[0], in[1]), in[1]);
    y = jx_max(jx_sub(y, in[0]), jx_div(in[1], jx_add(in[0], jx_scalar_like(in[0], 3))));
    out[0] = jx_add(jx_mul(y, jx_tanh(y)), jx_exp(jx_neg(jx_abs(in[0]))));
}
static void reductions(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_reduce_sum(in[0], JX_INTS(1));
    out[1] = jx_reduce_sum(jx_mul(in[0], in[0]), JX_INTS(0));
    out[2] = jx_reduce_sum(in[0], JX_INTS(0, 1));
    out[3] = jx_argmax(in[0], 1, JX_I32);
    out[4] = jx_reduce_max(in[0], JX_INTS(0));
}
static void matmul_relu(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_relu(jx_add(jx_matmul(in[0], in[1]), in[2]));
    out[1] = jx_dot_general(in[1], in[0], JX_INTS(0), JX_INTS(1), JX_NOINTS, JX_NOINTS); /* w^T x^T */
}
static void plain_matmul(jx_val *out, const jx_val *in, void *u) { out[0] = jx_matmul(in[0], in[1]); }
static void w_cond(jx_val *out, const jx_val *in, void *u) { out[0] = jx_lt(jx_reduce_sum(in[0], JX_NOINTS), jx_scalar_like(in[0], 100)); }
static void w_body(jx_val *out, const jx_val *in, void *u) { out[0] = jx_add(jx_mul(in[0], jx_scalar_like(in[0], 1.5)), jx_scalar_like(in[0], 1)); }
static void fallback(jx_val *out, const jx_val *in, void *u) {
    jx_val s = jx_sort(jx_mul(in[0], jx_scalar_like(in[0], -1)), 0); /* device (lower_sort.c) */
    jx_val c = jx_cumsum(jx_exp(s), 0, 0);                             /* device (owner fold) */
    jx_val h = jx_digamma(jx_add(c, jx_scalar_like(c, 1)));            /* host: no digamma in libdevice */
    jx_val w;
    jx_while(w_cond, w_body, NULL, 1, &in[0], &w);                     /* device, predicate read back */
    out[0] = jx_add(jx_add(c, h), w);                                  /* device */
}

/* a convolution (host, on the CPU backend's GEMM path) between device steps */
static void conv_relu(jx_val *out, const jx_val *in, void *u) {
    jx_val x = jx_mul(in[0], jx_scalar_like(in[0], 2));                 /* device */
    out[0] = jx_relu(jx_conv2d_nhwc(x, in[1], 1, 1, JX_PADDING_SAME)); /* host, device */
}

static jx_fn *trace(const char *name, jx_body b, int nin, const jx_aval *av, int nout) {
    jx_fn *f = jx_trace(name, b, NULL, nin, av, nout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

static void test_chain(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 1 << 20), JX_AVAL(JX_F32, 1 << 20)};
    jx_fn *f = trace("chain", chain, 2, av, 1);
    jx_array *in[2] = {ramp(JX_F32, JX_INTS(1 << 20), 4, -2), ramp(JX_F32, JX_INTS(1 << 20), 3, 0.5)};
    jx_array *a = check(f, 2, in, false, 2e-6), *b = check(f, 2, in, false, 2e-6);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(a), jx_array_data(b), jx_array_nbytes(a)), 0); /* run to run */
    jx_array_release(a), jx_array_release(b);
    jx_array_release(in[0]), jx_array_release(in[1]);
    jx_fn_release(f);
}

static void test_reductions(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 300, 257)};
    jx_fn *f = trace("reductions", reductions, 1, av, 5);
    jx_array *in[1] = {ramp(JX_F32, JX_INTS(300, 257), 2, -1)};
    jx_array_release(check(f, 1, in, true, 0));
    jx_aval d[1] = {JX_AVAL(JX_F64, 31, 9)};
    jx_fn *g = trace("reductions64", reductions, 1, d, 5);
    jx_array *in2[1] = {ramp(JX_F64, JX_INTS(31, 9), 2, -1)};
    jx_array_release(check(g, 1, in2, true, 0));
    jx_array_release(in[0]), jx_array_release(in2[0]);
    jx_fn_release(f), jx_fn_release(g);
}

/* an embedding's gradient: scatter_add as a loop kernel (codegen_owner.c), each row
 * hit by many updates, indices wrapped and dropped: the interpreter's bits, run to run */
static void scatter_rows(jx_val *out, const jx_val *in, void *u) { out[0] = jx_scatter_add(in[0], in[1], in[2], 0, 0); }
static void test_scatter(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 1000, 64), JX_AVAL(JX_I32, 32, 50), JX_AVAL(JX_F32, 32, 50, 64)};
    jx_fn *f = trace("scatter_rows", scatter_rows, 3, av, 1);
    jx_array *in[3] = {ramp(JX_F32, JX_INTS(1000, 64), 2, -1), ramp(JX_I32, JX_INTS(32, 50), 1100, -1050),
                       ramp(JX_F32, JX_INTS(32, 50, 64), 3, -1.5)};
    jx_array *a = check(f, 3, in, true, 0), *b = check(f, 3, in, true, 0);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(a), jx_array_data(b), jx_array_nbytes(a)), 0);
    jx_array_release(a), jx_array_release(b);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_fn_release(f);
}

static void test_dot(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 128, 784), JX_AVAL(JX_F32, 784, 512), JX_AVAL(JX_F32, 512)};
    jx_fn *f = trace("matmul_relu", matmul_relu, 3, av, 2);
    jx_array *in[3] = {ramp(JX_F32, JX_INTS(128, 784), 1, 0), ramp(JX_F32, JX_INTS(784, 512), 0.02, -0.01),
                       ramp(JX_F32, JX_INTS(512), 0.1, 0)};
    jx_array_release(check(f, 3, in, false, 1e-5));
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_fn_release(f);
    /* an empty contraction gives zeros (cuBLAS itself rejects it) */
    jx_aval ev[2] = {JX_AVAL(JX_F32, 2, 0), JX_AVAL(JX_F32, 0, 3)};
    jx_fn *g = trace("empty_dot", plain_matmul, 2, ev, 1);
    jx_array *ein[2] = {ramp(JX_F32, JX_INTS(2, 0), 1, 0), ramp(JX_F32, JX_INTS(0, 3), 1, 0)};
    jx_array *z = check(g, 2, ein, true, 0);
    CU_ASSERT_EQUAL(jx_array_size(z), 6);
    CU_ASSERT_EQUAL(jx_array_get(z, 5), 0.0);
    jx_array_release(z);
    jx_array_release(ein[0]), jx_array_release(ein[1]);
    jx_fn_release(g);
}

static void test_fallback(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 100)};
    jx_fn *f = trace("fallback", fallback, 1, av, 1);
    jx_array *in[1] = {ramp(JX_F32, JX_INTS(100), 1, 0)};
    jx_array_release(check(f, 1, in, false, 1e-5));
    jx_array_release(in[0]);
    jx_fn_release(f);
    jx_aval cv[2] = {JX_AVAL(JX_F32, 4, 12, 12, 3), JX_AVAL(JX_F32, 3, 3, 3, 8)};
    jx_fn *g = trace("conv_relu", conv_relu, 2, cv, 1);
    jx_array *cin[2] = {ramp(JX_F32, JX_INTS(4, 12, 12, 3), 1, -0.5), ramp(JX_F32, JX_INTS(3, 3, 3, 8), 0.2, -0.1)};
    jx_array_release(check(g, 2, cin, false, 1e-5));
    jx_array_release(cin[0]), jx_array_release(cin[1]);
    jx_fn_release(g);
}

/* scan body: c' = tanh(c + x) . 0.9, y = c' * x */
static void s_body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_mul(jx_tanh(jx_add(in[0], in[1])), jx_scalar_like(in[0], 0.9));
    out[1] = jx_mul(out[0], in[1]);
}
static void control(jx_val *out, const jx_val *in, void *u) {
    jx_val w, c = jx_zeros_like(in[1]);
    jx_while(w_cond, w_body, NULL, 1, &in[1], &w);
    jx_scan(s_body, NULL, 6, 1, 1, &c, 1, &in[0], 1, &out[1]); /* reversed */
    out[0] = w;
}

/* while and scan on the device (control.c), given device arrays: outputs on the device,
 * the interpreter's values */
static void test_control(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 6, 64), JX_AVAL(JX_F32, 64)};
    jx_fn *f = trace("control", control, 2, av, 3);
    jx_array *host[2] = {ramp(JX_F32, JX_INTS(6, 64), 2, -1), ramp(JX_F32, JX_INTS(64), 0.1, 0)};
    jx_array *dev[2] = {jx_array_to(host[0], JX_DEVICE_CUDA), jx_array_to(host[1], JX_DEVICE_CUDA)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(dev[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dev[1]);
    jx_array *a = check(f, 2, dev, false, 1e-5);
    CU_ASSERT_EQUAL(jx_array_device(a), JX_DEVICE_CUDA);
    jx_array_release(a);
    for (int i = 0; i < 2; i++) jx_array_release(dev[i]), jx_array_release(host[i]);
    jx_fn_release(f);
}

/* one training-like step: w' = w - 0.01 w x, its sum, and x passed through */
static void step_body(jx_val *out, const jx_val *in, void *u) {
    jx_val w = jx_sub(in[0], jx_mul(jx_scalar_like(in[0], 0.01), jx_mul(in[0], in[1])));
    out[0] = w;
    out[1] = jx_reduce_sum(w, JX_INTS(0));
    out[2] = in[1];
}

static void test_device_arrays(void) {
    enum { N = 100000, STEPS = 5 };
    jx_aval av[2] = {JX_AVAL(JX_F32, N), JX_AVAL(JX_F32, N)};
    jx_fn *f = trace("step", step_body, 2, av, 3);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *w0 = ramp(JX_F32, JX_INTS(N), 1, 0), *xs = ramp(JX_F32, JX_INTS(N), 3, -1);
    /* the round trip keeps the bits */
    jx_array *d = jx_array_to(w0, JX_DEVICE_CUDA), *back = d ? jx_array_to(d, JX_DEVICE_CPU) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(jx_array_device(d), JX_DEVICE_CUDA);
    CU_ASSERT_PTR_EQUAL(jx_array_to(d, JX_DEVICE_CUDA), d); /* already there: the same array */
    jx_array_release(d);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(back), jx_array_data(w0), 4 * N), 0);
    jx_array_release(back);
    /* host arrays in: host arrays out */
    jx_array *wh = jx_array_retain(w0), *wd = jx_array_to(w0, JX_DEVICE_CUDA), *o[3];
    double sum_h = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(wd);
    for (int s = 0; s < STEPS; s++) {
        jx_array *in[2] = {wh, xs};
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 3, o), JX_OK);
        CU_ASSERT_EQUAL(jx_array_device(o[0]), JX_DEVICE_CPU);
        sum_h = jx_array_get(o[1], 0);
        jx_array_release(wh), jx_array_release(o[1]), jx_array_release(o[2]);
        wh = o[0];
    }
    /* a device input: every output on the device, nothing read back during the loop */
    for (int s = 0; s < STEPS; s++) {
        jx_array *in[2] = {wd, xs};
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 3, o), JX_OK);
        for (int k = 0; k < 3; k++) {
            CU_ASSERT_EQUAL(jx_array_device(o[k]), JX_DEVICE_CUDA);
            CU_ASSERT_PTR_NULL(o[k]->data);
        }
        CU_ASSERT_PTR_NULL(wd->data);
        jx_array_release(wd);
        if (s < STEPS - 1) jx_array_release(o[1]), jx_array_release(o[2]);
        wd = o[0];
    }
    CU_ASSERT_EQUAL(memcmp(jx_array_data(wd), jx_array_data(wh), 4 * N), 0); /* the same bits */
    CU_ASSERT_EQUAL(memcmp(jx_array_data(o[2]), jx_array_data(xs), 4 * N), 0);
    CU_ASSERT_EQUAL(jx_array_get(o[1], 0), sum_h);
    jx_array_release(o[1]), jx_array_release(o[2]);
    jx_array_release(wd), jx_array_release(wh), jx_array_release(w0), jx_array_release(xs);
    jx_exec_release(x);
    jx_fn_release(f);
}

/* A training-like step on device arrays only (an MLP layer's GEMM, elementwise update,
 * a reduction) runs as a CUDA graph from its first run (graph.c): STEPS steps with the
 * graph give the bits of the same steps run step by step (JX_CUDA_GRAPHS=0), and each
 * step's outputs stay as they were after later steps. */
static void graph_body(jx_val *out, const jx_val *in, void *u) {
    jx_val h = jx_relu(jx_matmul(in[1], in[0]));
    jx_val w = jx_sub(in[0], jx_mul(jx_scalar_like(in[0], 0.001), jx_matmul(jx_transpose(in[1], JX_INTS(1, 0)), h)));
    out[0] = w;
    out[1] = jx_reduce_sum(h, JX_NOINTS);
}
static jx_array *graph_steps(bool graphs, jx_array **first_loss) {
    enum { STEPS = 6 };
    if (!graphs) setenv("JX_CUDA_GRAPHS", "0", 1);
    jx_jit_cache_clear();
    jx_aval av[2] = {JX_AVAL(JX_F32, 256, 128), JX_AVAL(JX_F32, 64, 256)};
    jx_fn *f = trace(graphs ? "graph_step" : "graph_step_off", graph_body, 2, av, 2);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *wh = ramp(JX_F32, JX_INTS(256, 128), 0.02, -0.01), *xh = ramp(JX_F32, JX_INTS(64, 256), 1, 0);
    jx_array *w = jx_array_to(wh, JX_DEVICE_CUDA), *xs = jx_array_to(xh, JX_DEVICE_CUDA), *o[2];
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    *first_loss = NULL;
    for (int s = 0; s < STEPS; s++) {
        jx_array *in[2] = {w, xs};
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 2, o), JX_OK);
        CU_ASSERT_EQUAL(jx_array_device(o[0]), JX_DEVICE_CUDA);
        jx_array_release(w);
        w = o[0];
        if (s == 0) *first_loss = o[1]; /* read after the later steps */
        else jx_array_release(o[1]);
    }
    unsetenv("JX_CUDA_GRAPHS");
    jx_array_release(wh), jx_array_release(xh), jx_array_release(xs);
    jx_exec_release(x);
    jx_fn_release(f);
    return w;
}
static void test_graphs(void) {
    jx_array *l_on, *l_off, *on = graph_steps(true, &l_on), *off = graph_steps(false, &l_off);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(on), jx_array_data(off), jx_array_nbytes(on)), 0);
    CU_ASSERT_EQUAL(jx_array_get(l_on, 0), jx_array_get(l_off, 0));
    CU_ASSERT_TRUE(jx_array_get(l_on, 0) > 0);
    jx_array_release(on), jx_array_release(off), jx_array_release(l_on), jx_array_release(l_off);
    jx_jit_cache_clear();
}

static void test_memory(void) {
    jx_device_mem_stats s;
    CU_ASSERT_EQUAL_FATAL(jx_device_mem_stats_get(JX_DEVICE_CUDA, &s), JX_OK);
    CU_ASSERT_EQUAL(s.in_use, 0); /* every buffer of the runs above given back */
    CU_ASSERT_TRUE(s.peak >= 4 << 20);  /* the chain's inputs and output were on the device */
    CU_ASSERT_TRUE(s.reserved >= s.in_use);
}

int main(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 4)};
    jx_fn *f = jx_trace("probe", w_body, NULL, 1, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    jx_fn_release(f);
    if (!x) { /* no GPU here: the error must say so clearly */
        const char *m = jx_errmsg();
        bool clear = strncmp(m, "cuda: no CUDA driver", 20) == 0 || strncmp(m, "cuda: no CUDA device", 20) == 0;
        printf("cuda_run: %s: %s\n", clear ? "skipped" : "unexpected error", m);
        return clear && jx_errcode() == JX_ERR_UNSUPPORTED ? 77 : 1;
    }
    jx_exec_release(x);
    CU_TestInfo tests[] = {
        {"fused elementwise chain, 2^20 elements, deterministic", test_chain},
        {"reductions bit-identical to the interpreter", test_reductions},
        {"scatter_add in a loop kernel: the interpreter's bits", test_scatter},
        {"dot_general on cuBLAS", test_dot},
        {"host steps (digamma, while's predicate, conv) between device steps; sort and cumsum kernels", test_fallback},
        {"while and scan on the device", test_control},
        {"device arrays: jx_array_to, device-resident steps", test_device_arrays},
        {"CUDA graphs: the bits of the step-by-step run", test_graphs},
        {"device memory statistics", test_memory},
        CU_TEST_INFO_NULL,
    };
    return jt_run("cuda_run", tests);
}
