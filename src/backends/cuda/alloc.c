/* alloc.c: the caching device allocator. Requests are rounded to size classes
 * (jx__dev_round); a freed block goes to the cache and the next request of its class
 * takes it back without asking the provider. Nothing is reserved up front: memory is
 * taken from the provider when a request finds no cached block, and when the provider
 * (or the JX_GPU_MEM_LIMIT cap) refuses, the cache is given back and the request tried
 * once more before it fails with an error naming the request and the usage. Blocks are
 * kept in one array (in use or cached); executables hold tens of live buffers, so a
 * linear search costs less than a launch. Thread-safe (one mutex). The logic is tested
 * on the CPU through a fake provider (tests/cuda/test_cuda_alloc.c).
 *
 * Streams: a block released is free for the next work on the stream that used it (all
 * of jx's compute work is on one stream), but not for another stream's, which could run
 * before the work already queued that still reads it. So the allocator counts epochs: a
 * released block remembers the epoch it was released in, the uploads' stream closes an
 * epoch with an event on the compute stream (upload.c) and asks only for blocks released
 * in epochs whose event has completed (jx__dev_malloc_settled), or fresh ones. */
#include <pthread.h>
#include <stdlib.h>

#include "cuda.h"

typedef struct block {
    uint64_t p;
    size_t size; /* its class */
    bool used;
    uint64_t epoch; /* when cached: the epoch it was released in (0: never used) */
} block;

struct jx__dev_alloc {
    jx__mem_provider pv;
    size_t limit;
    pthread_mutex_t mu;
    block *b;
    int n, cap;
    int64_t in_use, reserved, peak;
    uint64_t epoch; /* the current epoch, from 1 */
};

size_t jx__dev_round(size_t bytes) {
    size_t q = bytes <= (1u << 20) ? 512 : (size_t)2 << 20;
    if (bytes == 0) bytes = 1;
    return (bytes + q - 1) / q * q;
}

jx__dev_alloc *jx__dev_alloc_new(jx__mem_provider pv, size_t limit) {
    jx__dev_alloc *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->pv = pv;
    a->limit = limit;
    a->epoch = 1;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

/* Gives the cached blocks back to the provider. Under the lock. */
static void trim(jx__dev_alloc *a) {
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->b[i].used) {
            a->b[k++] = a->b[i];
            continue;
        }
        a->pv.release(a->pv.ctx, a->b[i].p);
        a->reserved -= (int64_t)a->b[i].size;
    }
    a->n = k;
}

void jx__dev_alloc_free(jx__dev_alloc *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) a->pv.release(a->pv.ctx, a->b[i].p);
    pthread_mutex_destroy(&a->mu);
    free(a->b);
    free(a);
}

/* A new block of class size from the provider, or 0. Under the lock. */
static uint64_t grow(jx__dev_alloc *a, size_t size) {
    if (a->limit && (size_t)a->reserved + size > a->limit) return 0;
    if (a->n == a->cap) {
        int cap = 2 * a->cap + 16;
        block *nb = realloc(a->b, sizeof *nb * (size_t)cap);
        if (!nb) return 0;
        a->b = nb, a->cap = cap;
    }
    uint64_t p = 0;
    if (a->pv.alloc(a->pv.ctx, size, &p) != 0 || !p) return 0;
    a->b[a->n++] = (block){p, size, true, 0};
    a->reserved += (int64_t)size;
    return p;
}

/* A block of at least bytes: a cached one released in an epoch up to settled, else a
 * new one. */
static uint64_t take(jx__dev_alloc *a, size_t bytes, uint64_t settled) {
    size_t size = jx__dev_round(bytes);
    pthread_mutex_lock(&a->mu);
    uint64_t p = 0;
    for (int i = 0; i < a->n && !p; i++)
        if (!a->b[i].used && a->b[i].size == size && a->b[i].epoch <= settled) a->b[i].used = true, p = a->b[i].p;
    if (!p) p = grow(a, size);
    if (!p) { /* out of memory: give the cache back and try once more */
        trim(a);
        p = grow(a, size);
    }
    if (p) {
        a->in_use += (int64_t)size;
        if (a->in_use > a->peak) a->peak = a->in_use;
    }
    int64_t in_use = a->in_use, reserved = a->reserved, peak = a->peak;
    bool capped = a->limit && (size_t)reserved + size > a->limit;
    pthread_mutex_unlock(&a->mu);
    if (!p)
        jx__fail(JX_ERR_NOMEM, jx__noloc, "cuda",
                 "out of device memory allocating %zu bytes (%lld in use, %lld reserved, peak %lld%s)", bytes,
                 (long long)in_use, (long long)reserved, (long long)peak, capped ? ", JX_GPU_MEM_LIMIT reached" : "");
    return p;
}

uint64_t jx__dev_malloc(jx__dev_alloc *a, size_t bytes) { return take(a, bytes, UINT64_MAX); }

uint64_t jx__dev_malloc_settled(jx__dev_alloc *a, size_t bytes, uint64_t settled) { return take(a, bytes, settled); }

uint64_t jx__dev_epoch_close(jx__dev_alloc *a) {
    pthread_mutex_lock(&a->mu);
    uint64_t e = a->epoch++;
    pthread_mutex_unlock(&a->mu);
    return e;
}

void jx__dev_release(jx__dev_alloc *a, uint64_t p) {
    if (!p) return;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->n; i++)
        if (a->b[i].p == p && a->b[i].used) {
            a->b[i].used = false;
            a->b[i].epoch = a->epoch;
            a->in_use -= (int64_t)a->b[i].size;
            break;
        }
    pthread_mutex_unlock(&a->mu);
}

void jx__dev_trim(jx__dev_alloc *a) {
    pthread_mutex_lock(&a->mu);
    trim(a);
    pthread_mutex_unlock(&a->mu);
}

void jx__dev_stats(jx__dev_alloc *a, int64_t *in_use, int64_t *reserved, int64_t *peak) {
    pthread_mutex_lock(&a->mu);
    *in_use = a->in_use, *reserved = a->reserved, *peak = a->peak;
    pthread_mutex_unlock(&a->mu);
}
