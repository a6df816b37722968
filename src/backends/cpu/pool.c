/* pool.c: the CPU thread pool (see cpu.h): process-wide pools of pthreads, one per worker
 * count and use (the kernels' pools; pmap's CPU devices, whose threads park here between
 * calls instead of being started per call), running parallel-for loops with a static
 * split. The split of [0, n) depends only on n, the grain and the pool size, never on
 * timing, so kernels give the same bits whatever the scheduling; a kernels' pool already
 * busy (another thread's run) runs the same chunks one after another on the calling
 * thread, a devices' pool says so (jx__pool_try_each) and pmap starts threads instead.
 * Workers run each job in the subnormal mode (fpenv.h) of the thread that handed it to
 * them. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "../fpenv.h"

struct jx__pool {
    int n;                  /* workers, the calling thread included */
    pthread_t *threads;     /* n - 1 */
    pthread_mutex_t run;    /* held by the caller of a parallel-for for its duration */
    pthread_mutex_t mu;     /* guards the fields below */
    pthread_cond_t wake, done;
    _Atomic uint64_t gen;   /* incremented per job (also read unlocked while spinning) */
    _Atomic int pending;    /* chunks of the current job not yet finished by workers (same) */
    bool stop;
    int use;                /* JX__POOL_KERNELS or JX__POOL_DEVICES: pools of one use are shared */
    bool spin;              /* polls before sleeping (not devices' pools, nor more workers than cores) */
    /* the current job */
    void (*fn)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
    int64_t total;
    int nchunks;
    uint64_t fpmode;        /* the caller's subnormal mode (fpenv.h), taken by the workers */
    struct jx__pool *next;  /* the process's list of pools */
};

/* Kernel pools' threads poll for the next job, or for the workers to finish, for up to
 * SPIN_NS before sleeping on the condition variable: a training step hands its pool a
 * few dozen short jobs back to back, and a futex wake-up per job cost more than some of
 * the jobs (docs/jit.md, "The executor"). Each poll yields the core (sched_yield), so a
 * loaded machine's other threads run meanwhile. Devices' pools, and pools with more
 * workers than online cores, always sleep. */
enum { SPIN_NS = 50000 };

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Poll until the job counter moves on from seen / no chunk is pending, or SPIN_NS pass. */
static void poll_gen(_Atomic uint64_t *v, uint64_t seen) {
    for (int64_t end = now_ns() + SPIN_NS; atomic_load_explicit(v, memory_order_relaxed) == seen && now_ns() < end;)
        sched_yield();
}
static void poll_pending(_Atomic int *v) {
    for (int64_t end = now_ns() + SPIN_NS; atomic_load_explicit(v, memory_order_relaxed) > 0 && now_ns() < end;)
        sched_yield();
}

static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static jx__pool *pools;
static bool atexit_set;

/* Chunk c of [0, total) split into nchunks contiguous ranges. */
static void chunk_range(int64_t total, int nchunks, int c, int64_t *b, int64_t *e) {
    *b = (int64_t)((__int128)total * c / nchunks);
    *e = (int64_t)((__int128)total * (c + 1) / nchunks);
}

typedef struct worker_arg {
    jx__pool *p;
    int index; /* 1 .. n-1: the chunk it runs */
} worker_arg;

static void *worker(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    jx__pool *p = wa.p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->spin && !p->stop && p->gen == seen) {
            pthread_mutex_unlock(&p->mu);
            poll_gen(&p->gen, seen);
            pthread_mutex_lock(&p->mu);
        }
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        if (wa.index >= p->nchunks) continue;
        void (*fn)(void *, int64_t, int64_t) = p->fn;
        void *ctx = p->ctx;
        uint64_t fpmode = p->fpmode;
        int64_t b, e;
        chunk_range(p->total, p->nchunks, wa.index, &b, &e);
        pthread_mutex_unlock(&p->mu);
        if (jx__fpenv_mode() != fpmode) jx__fpenv_enter(fpmode != 0);
        fn(ctx, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_destroy(jx__pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n - 1; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->run);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

/* Stops every pool's workers at exit, so leak checkers see a clean process. */
static void pools_shutdown(void) {
    pthread_mutex_lock(&pools_mu);
    jx__pool *p = pools;
    pools = NULL;
    pthread_mutex_unlock(&pools_mu);
    while (p) {
        jx__pool *next = p->next;
        pool_destroy(p);
        p = next;
    }
}

/* A new pool of n workers; NULL when out of memory or threads. */
static jx__pool *pool_create(int n, int use) {
    jx__pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    p->use = use;
    p->spin = use == JX__POOL_KERNELS && n <= sysconf(_SC_NPROCESSORS_ONLN);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->run, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){p, i};
        if (!wa || pthread_create(&p->threads[i - 1], NULL, worker, wa) != 0) {
            free(wa);
            p->n = i; /* the workers started so far are joined by pool_destroy */
            pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

/* The process's pool of n workers for `use`, created on first use. */
static jx__pool *pool_find(int n, int use) {
    pthread_mutex_lock(&pools_mu);
    jx__pool *p = pools;
    while (p && (p->n != n || p->use != use)) p = p->next;
    if (!p && (p = pool_create(n, use)) != NULL) {
        p->next = pools;
        pools = p;
        if (!atexit_set) atexit_set = atexit(pools_shutdown) == 0;
    }
    pthread_mutex_unlock(&pools_mu);
    return p;
}

jx__pool *jx__pool_get(int n) {
    if (n < 1) n = jx__default_threads();
    if (n > 256) n = 256;
    jx__pool *p = pool_find(n, JX__POOL_KERNELS);
    if (!p) jx__fail(JX_ERR_RUNTIME, jx__noloc, "jit", "cannot start a pool of %d threads", n);
    return p;
}

jx__pool *jx__pool_devices(int n) { return n >= 2 && n <= 1024 ? pool_find(n, JX__POOL_DEVICES) : NULL; }

int jx__pool_size(const jx__pool *p) { return p ? p->n : 1; }

/* Runs the job on the pool (p->run held by the caller, released here): chunk 0 on this
 * thread, chunk c on worker c, all at once. */
static void dispatch(jx__pool *p, int64_t n, int nchunks, void (*fn)(void *ctx, int64_t begin, int64_t end),
                     void *ctx) {
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->total = n;
    p->nchunks = nchunks;
    p->fpmode = jx__fpenv_mode();
    p->pending = nchunks - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    chunk_range(n, nchunks, 0, &b, &e);
    fn(ctx, b, e);
    if (p->spin) poll_pending(&p->pending);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run);
}

void jx__pool_for(jx__pool *p, int64_t n, int64_t grain, void (*fn)(void *ctx, int64_t begin, int64_t end),
                  void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int size = jx__pool_size(p);
    int64_t most = n / grain;
    int nchunks = most < 1 ? 1 : most < size ? (int)most : size;
    if (nchunks == 1) {
        fn(ctx, 0, n);
        return;
    }
    if (pthread_mutex_trylock(&p->run) != 0) {
        /* busy (another run, or a kernel calling back in): the same chunks, serially */
        for (int c = 0; c < nchunks; c++) {
            int64_t b, e;
            chunk_range(n, nchunks, c, &b, &e);
            fn(ctx, b, e);
        }
        return;
    }
    dispatch(p, n, nchunks, fn, ctx);
}

bool jx__pool_try_each(jx__pool *p, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx) {
    if (!p || pthread_mutex_trylock(&p->run) != 0) return false;
    dispatch(p, p->n, p->n, fn, ctx);
    return true;
}

/* The default is found once per process (sysconf alone cost ~3.5 us, half of a cache
 * hit of a small function); JX_NUM_THREADS is read then too, like every jit switch. */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int default_n, online_cores;

static void default_init(void) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    int cores = c >= 1 ? (c > 256 ? 256 : (int)c) : 1;
    default_n = online_cores = cores;
    const char *e = getenv("JX_NUM_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (v >= 1 && v <= 256 && *end == 0) default_n = (int)v;
        else fprintf(stderr, "jx: warning: JX_NUM_THREADS=%s is not a whole number from 1 to 256; "
                     "using %d (the online cores)\n", e, cores);
    }
}

int jx__default_threads(void) {
    pthread_once(&default_once, default_init);
    return default_n;
}

int jx__online_cores(void) {
    pthread_once(&default_once, default_init);
    return online_cores;
}
