/* test_cuda_alloc.c: the caching device allocator's logic on the CPU, over a fake memory
 * provider that hands out fake addresses from a budget and records every call: size
 * classes, reuse of cached blocks without asking the provider, statistics (in use,
 * reserved, peak), the cap, and out of memory: the cache given back and the request
 * retried once, then a clear error naming the request and the usage, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "../../src/backends/cuda/cuda.h"
#include "harness.h"

typedef struct fake {
    size_t budget, used;
    uint64_t next;
    int allocs, releases;
} fake;

static int fake_alloc(void *ctx, size_t bytes, uint64_t *p) {
    fake *f = ctx;
    if (f->used + bytes > f->budget) return 1;
    f->used += bytes;
    f->allocs++;
    *p = f->next;
    f->next += bytes + 4096;
    return 0;
}
static void fake_release(void *ctx, uint64_t p) {
    fake *f = ctx;
    (void)p;
    f->releases++;
}
/* the fake cannot know a block's size from its address; tests that need the budget back
 * use fake_release_sized through this table of (address, size) */
static uint64_t addrs[64];
static size_t sizes[64];
static int naddr;
static int sized_alloc(void *ctx, size_t bytes, uint64_t *p) {
    if (fake_alloc(ctx, bytes, p)) return 1;
    addrs[naddr] = *p, sizes[naddr++] = bytes;
    return 0;
}
static void sized_release(void *ctx, uint64_t p) {
    fake *f = ctx;
    for (int i = 0; i < naddr; i++)
        if (addrs[i] == p) f->used -= sizes[i], addrs[i] = 0;
    f->releases++;
}

static void test_round(void) {
    CU_ASSERT_EQUAL(jx__dev_round(0), 512);
    CU_ASSERT_EQUAL(jx__dev_round(1), 512);
    CU_ASSERT_EQUAL(jx__dev_round(512), 512);
    CU_ASSERT_EQUAL(jx__dev_round(513), 1024);
    CU_ASSERT_EQUAL(jx__dev_round(1 << 20), 1 << 20);
    CU_ASSERT_EQUAL(jx__dev_round((1 << 20) + 1), 2 << 20);
    CU_ASSERT_EQUAL(jx__dev_round((size_t)5 << 20), (size_t)6 << 20);
}

static void test_reuse_and_stats(void) {
    fake f = {1 << 30, 0, 0x10000, 0, 0};
    jx__dev_alloc *a = jx__dev_alloc_new((jx__mem_provider){&f, fake_alloc, fake_release}, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    uint64_t p = jx__dev_malloc(a, 1000), q = jx__dev_malloc(a, 3000);
    CU_ASSERT(p != 0 && q != 0 && p != q);
    CU_ASSERT_EQUAL(f.allocs, 2);
    int64_t in_use, reserved, peak;
    jx__dev_stats(a, &in_use, &reserved, &peak);
    CU_ASSERT_EQUAL(in_use, 1024 + 3072);
    CU_ASSERT_EQUAL(reserved, 1024 + 3072);
    CU_ASSERT_EQUAL(peak, 1024 + 3072);
    jx__dev_release(a, p);
    jx__dev_stats(a, &in_use, &reserved, &peak);
    CU_ASSERT_EQUAL(in_use, 3072);
    CU_ASSERT_EQUAL(reserved, 1024 + 3072); /* cached, not given back */
    CU_ASSERT_EQUAL(peak, 1024 + 3072);
    uint64_t r = jx__dev_malloc(a, 900); /* same class: the cached block, no provider call */
    CU_ASSERT_EQUAL(r, p);
    CU_ASSERT_EQUAL(f.allocs, 2);
    uint64_t s = jx__dev_malloc(a, 2000); /* another class: a new block */
    CU_ASSERT(s != 0 && s != p && s != q);
    CU_ASSERT_EQUAL(f.allocs, 3);
    jx__dev_release(a, 0); /* ignored */
    jx__dev_release(a, q);
    jx__dev_release(a, r);
    jx__dev_release(a, s);
    jx__dev_stats(a, &in_use, &reserved, &peak);
    CU_ASSERT_EQUAL(in_use, 0);
    CU_ASSERT_EQUAL(peak, 1024 + 3072 + 2048);
    jx__dev_trim(a);
    jx__dev_stats(a, &in_use, &reserved, &peak);
    CU_ASSERT_EQUAL(reserved, 0);
    CU_ASSERT_EQUAL(f.releases, 3);
    jx__dev_alloc_free(a);
}

static void test_oom(void) {
    fake f = {8192, 0, 0x10000, 0, 0};
    naddr = 0;
    jx__dev_alloc *a = jx__dev_alloc_new((jx__mem_provider){&f, sized_alloc, sized_release}, 0);
    uint64_t p = jx__dev_malloc(a, 4096), q = jx__dev_malloc(a, 2048);
    CU_ASSERT(p && q);
    jx__dev_release(a, q); /* cached: 6144 of the 8192 held */
    /* 4096 more does not fit until the cached 2048 is given back: the retry succeeds */
    uint64_t r = jx__dev_malloc(a, 4000);
    CU_ASSERT(r != 0);
    CU_ASSERT_EQUAL(f.releases, 1);
    /* now nothing is cached and nothing fits: a clear error, no crash */
    uint64_t s = jx__dev_malloc(a, 1000);
    CU_ASSERT_EQUAL(s, 0);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_NOMEM);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "cuda: out of device memory allocating 1000 bytes (8192 in use, 8192 "
                                        "reserved, peak 8192)");
    jx_clear_error();
    jx__dev_release(a, p);
    jx__dev_release(a, r);
    jx__dev_alloc_free(a);
    CU_ASSERT_EQUAL(f.used, 0); /* every block given back */
}

static void test_limit(void) {
    fake f = {1 << 30, 0, 0x10000, 0, 0};
    jx__dev_alloc *a = jx__dev_alloc_new((jx__mem_provider){&f, fake_alloc, fake_release}, 4096);
    uint64_t p = jx__dev_malloc(a, 4096);
    CU_ASSERT(p != 0);
    CU_ASSERT_EQUAL(jx__dev_malloc(a, 1), 0);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "cuda: out of device memory allocating 1 bytes (4096 in use, 4096 reserved, "
                                        "peak 4096, JX_GPU_MEM_LIMIT reached)");
    CU_ASSERT_EQUAL(f.allocs, 1);
    jx_clear_error();
    jx__dev_alloc_free(a);
}

/* Another stream's allocation takes only blocks released in settled epochs (alloc.c). */
static void test_epochs(void) {
    fake f = {1 << 30, 0, 0x10000, 0, 0};
    jx__dev_alloc *a = jx__dev_alloc_new((jx__mem_provider){&f, fake_alloc, fake_release}, 0);
    uint64_t p = jx__dev_malloc(a, 1000), q = jx__dev_malloc(a, 1000);
    jx__dev_release(a, p);                  /* released in epoch 1 */
    CU_ASSERT_EQUAL(jx__dev_epoch_close(a), 1);
    jx__dev_release(a, q);                  /* in epoch 2 */
    CU_ASSERT_EQUAL(jx__dev_epoch_close(a), 2);
    uint64_t r = jx__dev_malloc_settled(a, 1000, 0); /* nothing settled: a new block */
    CU_ASSERT(r != p && r != q);
    CU_ASSERT_EQUAL(f.allocs, 3);
    CU_ASSERT_EQUAL(jx__dev_malloc_settled(a, 900, 1), p); /* epoch 1 settled: p, not q */
    CU_ASSERT_EQUAL(jx__dev_malloc(a, 1000), q);           /* the compute stream takes any */
    int64_t in_use, reserved, peak;
    jx__dev_stats(a, &in_use, &reserved, &peak);
    CU_ASSERT_EQUAL(in_use, 3 * 1024);
    jx__dev_release(a, p), jx__dev_release(a, q), jx__dev_release(a, r);
    jx__dev_alloc_free(a);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"epochs: another stream's blocks only from settled epochs", test_epochs},
        {"size classes", test_round},
        {"reuse and statistics", test_reuse_and_stats},
        {"out of memory: retry after trimming, then a clear error", test_oom},
        {"JX_GPU_MEM_LIMIT cap", test_limit},
        CU_TEST_INFO_NULL,
    };
    return jt_run("cuda_alloc", tests);
}
