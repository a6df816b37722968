/* host_alloc.c: storage of host arrays, with a small cache of large blocks. A fresh
 * large block from malloc is mmap'd (or brk-grown) memory whose every page faults on
 * first write: for a 64 MiB array that costs more than the kernel computing it, and the
 * MNIST MLP step's 256 KiB activations, freed and taken again each step, cost it 15%
 * (1.99 -> 1.69 ms on one Zen 5 thread, bench_mlp_step). Freed blocks of 64 KiB or more
 * are kept (up to 32 blocks and 1 GiB) and handed out again to an allocation of the same
 * size, so a jitted step run in a loop reuses warm memory. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/ir.h"

enum { CACHE_SLOTS = 32 };
#define CACHE_MIN ((size_t)1 << 16)
#define CACHE_MAX_TOTAL ((size_t)1 << 30)

static struct {
    pthread_mutex_t lock;
    void *block[CACHE_SLOTS];
    size_t size[CACHE_SLOTS];
    size_t total;
    unsigned next; /* round-robin eviction */
} cache = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0, 0};

void *jx__host_alloc(size_t bytes) {
    if (bytes >= CACHE_MIN) {
        void *p = NULL;
        pthread_mutex_lock(&cache.lock);
        for (int i = 0; i < CACHE_SLOTS && !p; i++)
            if (cache.block[i] && cache.size[i] == bytes) {
                p = cache.block[i];
                cache.block[i] = NULL;
                cache.total -= bytes;
            }
        pthread_mutex_unlock(&cache.lock);
        if (p) return p;
    }
    return aligned_alloc(64, bytes ? bytes : 64);
}

void jx__host_free(void *p, size_t bytes) {
    if (!p) return;
    if (bytes >= CACHE_MIN && bytes <= CACHE_MAX_TOTAL) {
        void *evict = NULL;
        pthread_mutex_lock(&cache.lock);
        int slot = -1;
        for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
            if (!cache.block[i]) slot = i;
        if (slot < 0) { /* full: evict round-robin */
            slot = (int)(cache.next++ % CACHE_SLOTS);
            evict = cache.block[slot];
            cache.total -= cache.size[slot];
            cache.block[slot] = NULL;
        }
        /* keep within the total by evicting others as needed */
        for (int i = 0; i < CACHE_SLOTS && cache.total + bytes > CACHE_MAX_TOTAL; i++)
            if (cache.block[i]) {
                free(cache.block[i]);
                cache.total -= cache.size[i];
                cache.block[i] = NULL;
            }
        cache.block[slot] = p;
        cache.size[slot] = bytes;
        cache.total += bytes;
        pthread_mutex_unlock(&cache.lock);
        free(evict);
        return;
    }
    free(p);
}

void jx__host_cache_trim(void) {
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache.block[i]);
        cache.block[i] = NULL;
    }
    cache.total = 0;
    pthread_mutex_unlock(&cache.lock);
}

/* Leak checkers see an empty cache at exit. */
__attribute__((destructor)) static void host_cache_at_exit(void) { jx__host_cache_trim(); }
