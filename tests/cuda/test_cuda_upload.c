/* test_cuda_upload.c: jx_array_to(a, JX_DEVICE_CUDA) as an asynchronous upload
 * (src/backends/cuda/upload.c) over the fake driver (fake_cuda.c), without a GPU. The fake
 * runs a non-blocking stream's copies only once something orders them, so an upload the
 * compute stream does not wait for reads back as stale data; and with compute_lag it
 * holds the compute stream's events back, as a GPU running behind the host, so a block
 * reused while queued work may still read it shows as an address handed out too soon.
 *
 * An upload reads back at once with its values, whatever its size, and through the
 * synchronous path when pinned memory is refused. While the GPU is behind, no upload
 * takes a block released since (each gets a new one); once it has caught up they take
 * the released ones back, a trainer's batches rotating through a few buffers. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "../../examples/common/device_batches.h"
#include "../../src/trace/ir.h"
#include "fake_load.h"
#include "harness.h"

static jxfake_stats *fk;

/* a host f32 array whose values depend on seed, exact in f32 */
static jx_array *host_f32(jx_ints shape, int seed) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    float *v = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) v[i] = (float)seed + (float)(i % 1000) / 8;
    return a;
}

/* whether device array d reads back as host's bytes */
static bool same(jx_array *d, const jx_array *host) {
    jx_array *back = jx_array_to(d, JX_DEVICE_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    bool eq = back->nbytes == host->nbytes && !memcmp(jx_array_data(back), jx_array_data(host), host->nbytes);
    jx_array_release(back);
    return eq;
}

static jx_array *upload(const jx_array *host) {
    jx_array *d = jx_array_to((jx_array *)host, JX_DEVICE_CUDA);
    if (!d) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(jx_array_device(d), JX_DEVICE_CUDA);
    return d;
}

static void test_read_back(void) {
    jx_ints shapes[] = {JX_INTS(16), JX_INTS(64, 64), JX_INTS(600, 600)}; /* the last grows a stage */
    for (int k = 0; k < 3; k++) {
        jx_array *h = host_f32(shapes[k], k + 1), *d = upload(h);
        CU_ASSERT_TRUE(same(d, h));
        jx_array_release(d), jx_array_release(h);
    }
    /* several uploads before any read: each its own values */
    jx_array *h[6], *d[6];
    for (int k = 0; k < 6; k++) h[k] = host_f32(JX_INTS(300, 7), 10 * k), d[k] = upload(h[k]);
    for (int k = 0; k < 6; k++) CU_ASSERT_TRUE(same(d[k], h[k]));
    for (int k = 0; k < 6; k++) jx_array_release(d[k]), jx_array_release(h[k]);
    CU_ASSERT_TRUE(fk->pinned_live >= 1 && fk->pinned_live <= 4);
    CU_ASSERT_EQUAL(fk->deferred_pending, 0);
}

static void test_pinned_refused(void) {
    long pinned = fk->pinned_live;
    fk->fail_pinned = 1; /* larger than every stage: a new one is asked for and refused */
    jx_array *h = host_f32(JX_INTS(1024, 1024), 3), *d = upload(h);
    CU_ASSERT_EQUAL(fk->fail_pinned, 0);
    CU_ASSERT_EQUAL(jx_errcode(), JX_OK); /* no error left behind */
    CU_ASSERT_TRUE(same(d, h));
    CU_ASSERT_EQUAL(fk->pinned_live, pinned);
    jx_array_release(d), jx_array_release(h);
}

static void dot(jx_val *out, const jx_val *in, void *u) { out[0] = jx_matmul(in[0], in[1]); }

/* a trainer's loop: upload batch k, run the step on it, release batch k-1; n steps from
 * seed, the uploads' addresses in at[] */
static void steps(jx_exec *x, jx_array *w, int n, int seed, uint64_t *at) {
    jx_array *prev = NULL;
    for (int k = 0; k < n; k++) {
        jx_array *h = host_f32(JX_INTS(64, 64), seed + k), *b = upload(h);
        at[k] = (uint64_t)(uintptr_t)b->dev;
        jx_array *in[2] = {b, w}, *out = NULL;
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 1, &out), JX_OK);
        /* row 0 of batch k times w (all ones): the sum of its 64 values */
        double want = 0;
        for (int j = 0; j < 64; j++) want += (double)jx_array_get(h, j);
        if (k == n - 1) CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out, 0), want, 1e-3);
        jx_array_release(out), jx_array_release(h);
        if (prev) jx_array_release(prev);
        prev = b;
    }
    jx_array_release(prev);
}

static int distinct(const uint64_t *at, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++) seen |= at[j] == at[i];
        c += !seen;
    }
    return c;
}

static void test_blocks_settle(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 64, 64), JX_AVAL(JX_F32, 64, 2)};
    jx_fn *f = jx_trace("upload_dot", dot, NULL, 2, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *wh = jx_array_zeros(JX_F32, JX_INTS(64, 2));
    float *wv = jx_array_data_mut(wh);
    for (int i = 0; i < 128; i++) wv[i] = 1;
    jx_array *w = upload(wh);
    uint64_t at[80];

    fk->compute_lag = 1000; /* the GPU far behind: nothing released since settles */
    steps(x, w, 6, 0, at);
    CU_ASSERT_EQUAL(distinct(at, 6), 6);
    /* a read-back waits for the GPU: everything released so far settles, and the next
     * upload takes a block back */
    CU_ASSERT_TRUE(same(w, wh));
    steps(x, w, 1, 6, at + 6);
    CU_ASSERT_TRUE(distinct(at, 7) == 6);

    /* a GPU keeping up: a few buffers in rotation */
    fk->compute_lag = 0;
    steps(x, w, 12, 7, at);
    CU_ASSERT_TRUE(distinct(at, 12) <= 3);

    /* behind for longer than the uploads remember (64 epochs): the oldest is waited for,
     * and blocks come back */
    fk->compute_lag = 1000;
    steps(x, w, 80, 19, at);
    CU_ASSERT_TRUE(distinct(at, 80) < 80);
    fk->compute_lag = 0;

    jx_array_release(w), jx_array_release(wh);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_jit_cache_clear();
    jx_device_mem_stats m;
    CU_ASSERT_EQUAL(jx_device_mem_stats_get(JX_DEVICE_CUDA, &m), JX_OK);
    CU_ASSERT_EQUAL(m.in_use, 0);
}

/* device_batches' preparation in the test: adds the step to every x; counts its calls. */
static int prepared;
static int add_step(void *ctx, jx_array **xy, int64_t step) {
    (void)ctx;
    float *v = jx_array_data_mut(xy[0]);
    for (int64_t i = 0; i < jx_array_size(xy[0]); i++) v[i] += (float)step;
    prepared++;
    return 0;
}

/* The MNIST trainers' batches on the GPU (examples/common/device_batches.c): take, queue
 * a step, prefetch the next step's, as mnist_mlp and mnist_cnn do; the same batches as
 * the iterator on the CPU, in the same order, each prepared on the host for its own step
 * (mnist_cnn's --shift), but device arrays, and the epoch's end after the last. A batch
 * taken for another step than it was prefetched for is an error, not a lost batch. */
static void test_trainer_batches(void) {
    jx_array *x = host_f32(JX_INTS(10, 3), 0), *y = jx_array_zeros(JX_I32, JX_INTS(10));
    int32_t *yv = jx_array_data_mut(y);
    for (int i = 0; i < 10; i++) yv[i] = i;
    jx_batch_field f[2] = {{x, JX_BATCH_COPY, JX_NOINTS, 0}, {y, JX_BATCH_I32, JX_NOINTS, 0}};
    jx_batches_opts o = {.batch = 4, .shuffle = 1, .seed = 5, .prefetch = 1};
    jx_batches *on_cpu, *on_gpu;
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(f, 2, 10, &o, &on_cpu), JX_OK);
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(f, 2, 10, &o, &on_gpu), JX_OK);
    device_batches db = {.it = on_gpu, .device = JX_DEVICE_CUDA, .prepare = add_step};
    prepared = 0;
    for (uint32_t epoch = 1; epoch <= 2; epoch++) {
        device_batches_drop(&db);
        CU_ASSERT_EQUAL(jx_batches_epoch(on_cpu, epoch, 0), JX_OK);
        CU_ASSERT_EQUAL(jx_batches_epoch(on_gpu, epoch, 0), JX_OK);
        for (int k = 0; k < 4; k++) { /* 4, 4, 2 rows, then the end */
            jx_array *want[2], *got[2];
            int64_t step = (epoch - 1) * 3 + k;
            CU_ASSERT_EQUAL_FATAL(jx_batches_next(on_cpu, want), JX_OK);
            if (want[0]) CU_ASSERT_EQUAL(add_step(NULL, want, step), 0);
            CU_ASSERT_EQUAL_FATAL(device_batches_take(&db, step, got), JX_OK);
            CU_ASSERT_EQUAL(db.have, 0);
            CU_ASSERT_EQUAL_FATAL(!want[0], !got[0]);
            if (k < 3) CU_ASSERT_EQUAL(device_batches_prefetch(&db, step + 1), JX_OK); /* after the step */
            CU_ASSERT_EQUAL(db.have, k < 3);
            for (int i = 0; want[0] && i < 2; i++) {
                CU_ASSERT_EQUAL(jx_array_device(got[i]), JX_DEVICE_CUDA);
                CU_ASSERT_TRUE(same(got[i], want[i]));
                jx_array_release(got[i]), jx_array_release(want[i]);
            }
        }
    }
    CU_ASSERT_EQUAL(prepared, 2 * 3 * 2); /* each batch once by the test, once by db */
    device_batches_drop(&db);
    CU_ASSERT_EQUAL(jx_batches_epoch(on_gpu, 3, 0), JX_OK);
    CU_ASSERT_EQUAL(device_batches_prefetch(&db, 5), JX_OK);
    jx_array *got[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(device_batches_take(&db, 6, got), JX_ERR_INTERNAL);
    CU_ASSERT_PTR_NULL(got[0]);
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), "device_batches: the batch prefetched for step 5 taken for step 6"));
    device_batches_drop(&db);
    jx_batches_free(on_cpu), jx_batches_free(on_gpu);
    jx_array_release(x), jx_array_release(y);
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_upload", &h))) return 1;
    CU_TestInfo tests[] = {
        {"an upload reads back at once with its values", test_read_back},
        {"pinned memory refused: the synchronous path", test_pinned_refused},
        {"blocks released while the GPU is behind are not reused until it catches up", test_blocks_settle},
        {"a trainer's batches uploaded a step ahead", test_trainer_batches},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("cuda uploads (fake driver)", tests);
    jx_jit_cache_clear();
    dlclose(h);
    return rc;
}
