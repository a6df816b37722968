/* cuda_kernels.c: the CUDA backend's kernels on the GPU, timed on the device alone (no
 * host transfers): device-to-device copy bandwidth (the ceiling), the fused 8-op
 * elementwise chain (bench_chain8: 2 reads + 1 write per element), a row sum and a column
 * sum of a square f32 matrix, an embedding gradient's scatter_add, a sort of 1024 rows
 * (lowered: comparisons and a gather), a stride-2 conv's gradient with and without
 * cuDNN's backward calls, and what compiling costs (PTX generation with LLVM, loading
 * by the driver, a jx_jit of the chain end to end). Prints `cuda <figure> <value>` lines.
 * Built only with JX_CUDA; exits 77 without a GPU.
 *   usage: bench_cuda_kernels [log2 elements]   (default 26: 256 MiB per f32 array) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/backends/cuda/cuda.h"
#include "../src/jit/jit.h"
#include "bench_util.h"

static void row_sum(jx_val *out, const jx_val *in, void *u) { out[0] = jx_reduce_sum(in[0], JX_INTS(1)); }
static void col_sum(jx_val *out, const jx_val *in, void *u) { out[0] = jx_reduce_sum(in[0], JX_INTS(0)); }
static void sort_rows(jx_val *out, const jx_val *in, void *u) { out[0] = jx_sort(in[0], 1); }
static void scatter_rows(jx_val *out, const jx_val *in, void *u) { out[0] = jx_scatter_add(in[0], in[1], in[2], 0, 0); }
static void conv_s2(jx_val *out, const jx_val *in, void *u) {
    jx_conv_opts o = {.strides = JX_INTS(2, 2), .pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    out[0] = jx_conv(in[0], in[1], &o);
}

/* The best of 5 runs of x on device arrays in[] (after one), synchronised; -1 on error. */
static double best_run(const char *what, jx_exec *x, int nin, jx_array **in, int nout) {
    const jx__cu_dev *d = jx__cu_get();
    double best = 1e30;
    for (int r = 0; x && r < 6; r++) {
        jx_array *out[4] = {NULL};
        double s0 = bench_now();
        if (jx_exec_run(x, nin, in, nout, out) != JX_OK || d->api->CtxSynchronize() != CUDA_SUCCESS) {
            fprintf(stderr, "%s: %s\n", what, jx_errmsg());
            return -1;
        }
        double e = bench_now() - s0;
        if (r > 0 && e < best) best = e;
        for (int i = 0; i < nout; i++) jx_array_release(out[i]);
    }
    return x ? best : -1;
}

/* Compiles f's LOOP groups; times the last one's `reps` launches on bufs (after one warm-up). */
static double time_kernel(const char *what, jx_body body, int nin, const jx_aval *av, CUdeviceptr *bufs, int reps,
                          double bytes) {
    const jx__cu_dev *d = jx__cu_get();
    jx_fn *f = jx_trace(what, body, NULL, nin, av, 1);
    jx__fusion *fu = f ? jx__fuse(f, true, &jx__cuda_backend) : NULL;
    jx__cuda_module *m = fu ? jx__cuda_module_new(2) : NULL;
    jx__kernel *k = NULL;
    for (int g = 0; m && g < fu->ngroups; g++)
        if (fu->groups[g].kind == JX__G_LOOP) k = jx__cuda_kernel_add(m, f, &fu->groups[g]);
    double ptx_ms = 0, t0 = bench_now();
    if (k) jx__cuda_module_ptx(m, &ptx_ms);
    double t1 = bench_now();
    if (!k || jx__cuda_module_compile(m) != JX_OK) {
        fprintf(stderr, "%s: %s\n", what, jx_errmsg());
        return -1;
    }
    double load_ms = (bench_now() - t1) * 1e3;
    (void)t0;
    jx__cuda_kernel_launch(k, bufs);
    d->api->CtxSynchronize();
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double s = bench_now();
        jx__cuda_kernel_launch(k, bufs);
        d->api->CtxSynchronize();
        double e = bench_now() - s;
        if (e < best) best = e;
    }
    printf("cuda %s_ms %.4f\ncuda %s_GBps %.1f\ncuda %s_ptx_ms %.2f\ncuda %s_load_ms %.2f\n", what, best * 1e3, what,
           bytes / best / 1e9, what, ptx_ms, what, load_ms);
    jx__cuda_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(f);
    return best;
}

int main(int argc, char **argv) {
    int lg = argc > 1 ? atoi(argv[1]) : 26;
    const jx__cu_dev *d = jx__cu_get();
    if (!d) {
        printf("cuda skipped: %s\n", jx_errmsg());
        return 77;
    }
    printf("cuda device %s sm_%d%d sms %d\n", d->name, d->cc_major, d->cc_minor, d->sms);
    int64_t n = (int64_t)1 << lg;
    size_t bytes = (size_t)n * 4;
    CUdeviceptr a = 0, b = 0, c = 0;
    if (d->api->MemAlloc(&a, bytes) || d->api->MemAlloc(&b, bytes) || d->api->MemAlloc(&c, bytes)) {
        printf("cuda skipped: cannot allocate 3 x %zu bytes\n", bytes);
        return 77;
    }
    float *h = malloc(bytes);
    for (int64_t i = 0; i < n; i++) h[i] = (float)(i % 1000) * 0.001f;
    d->api->MemcpyHtoD(a, h, bytes);
    d->api->MemcpyHtoD(b, h, bytes);
    free(h);
    double best = 1e30;
    for (int r = 0; r < 10; r++) {
        double s = bench_now();
        d->api->MemcpyDtoD(c, a, bytes);
        d->api->CtxSynchronize();
        double e = bench_now() - s;
        if (e < best) best = e;
    }
    printf("cuda elements %lld\ncuda copy_ms %.4f\ncuda copy_GBps %.1f\n", (long long)n, best * 1e3, 2.0 * (double)bytes / best / 1e9);
    jx_aval av[2] = {JX_AVAL(JX_F32, n), JX_AVAL(JX_F32, n)};
    CUdeviceptr bufs[3] = {a, b, c};
    time_kernel("chain8", bench_chain8, 2, av, bufs, 10, 3.0 * (double)bytes);
    int64_t side = (int64_t)1 << (lg / 2);
    jx_aval sq[1] = {JX_AVAL(JX_F32, side, side)};
    CUdeviceptr rb[2] = {a, c};
    time_kernel("row_sum", row_sum, 1, sq, rb, 5, (double)side * (double)side * 4);
    time_kernel("col_sum", col_sum, 1, sq, rb, 5, (double)side * (double)side * 4);
    /* an embedding's gradient, a table of 8192 x 128 and 4096 ids: scatter_add's loop
     * kernel (each element folds all 4096 updates' indices: 2^32 steps, fuse.c's bound) */
    CUdeviceptr ids = 0;
    if (lg >= 20 && !d->api->MemAlloc(&ids, 4096 * 4)) {
        static int32_t hid[4096];
        for (int i = 0; i < 4096; i++) hid[i] = (i * 7919) % 8192;
        d->api->MemcpyHtoD(ids, hid, sizeof hid);
        jx_aval sv[3] = {JX_AVAL(JX_F32, 8192, 128), JX_AVAL(JX_I32, 4096), JX_AVAL(JX_F32, 4096, 128)};
        CUdeviceptr sb[4] = {a, ids, b, c};
        time_kernel("scatter_add", scatter_rows, 3, sv, sb, 5, (8192.0 * 128 * 2 + 4096.0 * 128) * 4);
        d->api->MemFree(ids);
    }
    /* a whole jit of the chain, from a cleared cache */
    jx_fn *f = jx_trace("chain8_jit", bench_chain8, NULL, 2, av, 1);
    jx_jit_cache_clear();
    double s = bench_now();
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    printf("cuda chain8_jit_compile_ms %.2f\n", (bench_now() - s) * 1e3);
    if (!x) fprintf(stderr, "jit: %s\n", jx_errmsg());
    /* one run of it on host arrays of 2^22 elements: uploads, the kernel, the download */
    jx_aval hv[2] = {JX_AVAL(JX_F32, (int64_t)1 << 22), JX_AVAL(JX_F32, (int64_t)1 << 22)};
    jx_fn *fh = jx_trace("chain8_host", bench_chain8, NULL, 2, hv, 1);
    jx_exec *xh = fh ? jx_jit(fh, JX_DEVICE_CUDA, NULL) : NULL;
    jx_array *hin[2] = {jx_array_full(JX_F32, JX_INTS((int64_t)1 << 22), 0.5),
                        jx_array_full(JX_F32, JX_INTS((int64_t)1 << 22), 1.5)}, *hout = NULL;
    double hbest = 1e30;
    for (int r = 0; xh && r < 5; r++) {
        double s0 = bench_now();
        if (jx_exec_run(xh, 2, hin, 1, &hout) != JX_OK) fprintf(stderr, "run: %s\n", jx_errmsg());
        double e = bench_now() - s0;
        if (e < hbest) hbest = e;
        jx_array_release(hout);
        hout = NULL;
    }
    printf("cuda chain8_host_2p22_run_ms %.3f\n", hbest * 1e3);
    jx_array_release(hin[0]), jx_array_release(hin[1]);
    jx_exec_release(xh);
    jx_fn_release(fh);
    jx_exec_release(x);
    jx_fn_release(f);
    /* a sort of 1024 rows of 1024 f32 on a device array (lower_sort.c: 2^30 comparisons
     * twice, then a gather) */
    jx_aval rv[1] = {JX_AVAL(JX_F32, 1024, 1024)};
    jx_fn *fs = jx_trace("sort_rows", sort_rows, NULL, 1, rv, 1);
    jx_exec *xs = fs ? jx_jit(fs, JX_DEVICE_CUDA, NULL) : NULL;
    jx_array *rh = jx_array_zeros(JX_F32, JX_INTS(1024, 1024));
    for (int64_t i = 0; i < 1024 * 1024; i++) ((float *)jx_array_data_mut(rh))[i] = (float)((i * 7919) % 100003);
    jx_array *rd = jx_array_to(rh, JX_DEVICE_CUDA);
    printf("cuda sort_1024x1024_ms %.3f\n", best_run("sort", xs, 1, &rd, 1) * 1e3);
    jx_array_release(rd), jx_array_release(rh);
    jx_exec_release(xs);
    jx_fn_release(fs);
    /* the gradient of an NCHW conv of stride 2 (batch 64, 64 -> 64 channels, 3x3, 56x56):
     * its input gradient on cuDNN's backward data and its kernel gradient on backward
     * filter, then both as forward convs (JX_CUDA_BWD_DATA=0, JX_CUDA_BWD_FILTER=0: a pad
     * kernel and transposes) */
    for (int fwd_only = 0; fwd_only < 2; fwd_only++) {
        setenv("JX_CUDA_BWD_DATA", fwd_only ? "0" : "1", 1), setenv("JX_CUDA_BWD_FILTER", fwd_only ? "0" : "1", 1);
        jx_jit_cache_clear(); /* the same function again: compiled anew under the switches */
        jx_aval cv[2] = {JX_AVAL(JX_F32, 64, 64, 56, 56), JX_AVAL(JX_F32, 64, 64, 3, 3)};
        jx_fn *fc = jx_trace("conv_s2", conv_s2, NULL, 2, cv, 1), *gc = fc ? jx_vjp(fc) : NULL;
        jx_exec *xc = gc ? jx_jit(gc, JX_DEVICE_CUDA, NULL) : NULL;
        jx_array *cin[3];
        for (int i = 0; i < 3 && gc; i++) {
            const jx_aval *ca = &gc->vars[gc->in[i]];
            jx_array *ch = jx_array_zeros(JX_F32, (jx_ints){ca->shape, ca->rank});
            for (int64_t j = 0; j < jx_array_size(ch); j++) ((float *)jx_array_data_mut(ch))[j] = (float)(j % 17) / 16;
            cin[i] = jx_array_to(ch, JX_DEVICE_CUDA);
            jx_array_release(ch);
        }
        printf("cuda conv_s2_vjp%s_ms %.3f\n", fwd_only ? "_forward_convs" : "",
               gc ? best_run("conv vjp", xc, 3, cin, 3) * 1e3 : -1.0);
        for (int i = 0; i < 3 && gc; i++) jx_array_release(cin[i]);
        jx_exec_release(xc);
        jx_fn_release(gc), jx_fn_release(fc);
    }
    unsetenv("JX_CUDA_BWD_DATA"), unsetenv("JX_CUDA_BWD_FILTER");
    jx_device_mem_stats ms;
    if (jx_device_mem_stats_get(JX_DEVICE_CUDA, &ms) == JX_OK)
        printf("cuda mem_in_use %lld\ncuda mem_reserved %lld\ncuda mem_peak %lld\n", (long long)ms.in_use,
               (long long)ms.reserved, (long long)ms.peak);
    d->api->MemFree(a), d->api->MemFree(b), d->api->MemFree(c);
    return 0;
}
