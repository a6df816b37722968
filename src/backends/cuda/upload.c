/* upload.c: jx_array_to(a, JX_DEVICE_CUDA) without waiting for the device. A synchronous
 * copy goes on the legacy stream, which waits for all the work queued on the compute
 * stream first, so a trainer that moves the next batch to the GPU while a step runs
 * would wait for the step. Instead the bytes are copied on the host into a pinned
 * staging buffer and from there by an asynchronous copy on a stream of their own (non
 * blocking: it waits for nothing queued elsewhere), and the compute stream waits for an
 * event recorded after the copy: every later kernel, graph or read-back (the legacy
 * stream waits for the compute stream's queue, that wait included) sees the data.
 *
 * Two hazards, both ordered by events:
 * - The destination: a block the allocator cached may still be read by work queued on
 *   the compute stream, which the upload stream does not wait for. Each upload closes an
 *   allocator epoch with an event on the compute stream (alloc.c) and takes only blocks
 *   released in epochs whose event has completed, or new ones: a trainer's batches
 *   settle into a few rotating buffers.
 * - The staging buffer: reused only once the copy out of it has completed (its event),
 *   else another one is taken (STAGES of them, grown to the largest upload), and when
 *   all are in flight the oldest is waited for.
 * Uploads larger than STAGE_MAX (and any where pinned memory cannot be had) take the
 * synchronous path instead. One mutex: uploads from several threads take turns. */
#include <pthread.h>
#include <string.h>

#include "cuda.h"

enum { STAGES = 4, EPOCHS = 64 };
static const size_t STAGE_MAX = (size_t)64 << 20;

typedef struct stage {
    void *host; /* pinned, cap bytes */
    size_t cap;
    CUevent done; /* recorded on the upload stream after the copy out of it (an event
                   * never recorded reads as complete) */
} stage;

static struct {
    pthread_mutex_t mu;
    bool made;
    CUstream copy;
    stage st[STAGES];
    int next; /* the stage to wait for when all are in flight */
    struct {
        uint64_t epoch;
        CUevent ev;
    } ring[EPOCHS]; /* epochs closed on the compute stream, oldest first from head */
    int head, count;
    CUevent spare[EPOCHS]; /* events of settled epochs, for reuse */
    int nspare;
    uint64_t settled; /* every epoch up to this one has passed on the compute stream */
} U = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The upload stream and the stages' events, made on first use. Under the lock. */
static jx_status make(const jx__cu_dev *d) {
    CUresult r__;
    if (U.made) return JX_OK;
    jx_status st = JX__CU(d->api->StreamCreate(&U.copy, CU_STREAM_NON_BLOCKING), "cuStreamCreate (uploads)");
    for (int i = 0; st == JX_OK && i < STAGES; i++)
        st = JX__CU(d->api->EventCreate(&U.st[i].done, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    U.made = st == JX_OK;
    return st;
}

/* Closes an allocator epoch with an event on the compute stream and moves `settled`
 * past every epoch whose event has completed. Under the lock. */
static jx_status close_epoch(const jx__cu_dev *d, jx__dev_alloc *a) {
    CUresult r__;
    jx_status st = JX_OK;
    if (U.count == EPOCHS) { /* the ring is full: the oldest epoch must pass first */
        int h = U.head;
        if ((st = JX__CU(d->api->EventSynchronize(U.ring[h].ev), "cuEventSynchronize")) != JX_OK) return st;
    }
    while (U.count > 0 && d->api->EventQuery(U.ring[U.head].ev) == CUDA_SUCCESS) {
        U.settled = U.ring[U.head].epoch;
        U.spare[U.nspare++] = U.ring[U.head].ev;
        U.head = (U.head + 1) % EPOCHS, U.count--;
    }
    CUevent ev = U.nspare ? U.spare[--U.nspare] : NULL;
    if (!ev && (st = JX__CU(d->api->EventCreate(&ev, CU_EVENT_DISABLE_TIMING), "cuEventCreate")) != JX_OK) return st;
    /* closed before the record: a block released up to now (by any thread) was last used
     * by work queued before it, so before the event */
    uint64_t e = jx__dev_epoch_close(a);
    if ((st = JX__CU(d->api->EventRecord(ev, d->stream), "cuEventRecord")) != JX_OK) {
        U.spare[U.nspare++] = ev; /* its blocks settle with a later epoch's event */
        return st;
    }
    int t = (U.head + U.count) % EPOCHS;
    U.ring[t].epoch = e;
    U.ring[t].ev = ev;
    U.count++;
    return JX_OK;
}

/* A stage of at least bytes whose last copy has completed; NULL when pinned memory
 * cannot be had (the caller copies synchronously). Under the lock. */
static stage *stage_for(const jx__cu_dev *d, size_t bytes) {
    stage *s = NULL;
    for (int i = 0; i < STAGES && !s; i++)
        if (d->api->EventQuery(U.st[i].done) == CUDA_SUCCESS) s = &U.st[i];
    if (!s) { /* all in flight: wait for the next in turn */
        s = &U.st[U.next];
        U.next = (U.next + 1) % STAGES;
        if (d->api->EventSynchronize(s->done) != CUDA_SUCCESS) return NULL;
    }
    if (s->cap < bytes) {
        size_t cap = bytes < ((size_t)1 << 20) ? (size_t)1 << 20 : bytes;
        void *h = NULL;
        if (d->api->MemHostAlloc(&h, cap, 0) != CUDA_SUCCESS) return NULL;
        if (s->host) d->api->MemFreeHost(s->host); /* its copy has completed (above) */
        s->host = h, s->cap = cap;
    }
    return s;
}

void *jx__cuda_upload(const void *host, size_t bytes) {
    const jx__cu_dev *d = jx__cu_get();
    jx__dev_alloc *a = d ? jx__cu_alloc() : NULL;
    if (!a) return NULL;
    CUresult r__;
    pthread_mutex_lock(&U.mu);
    jx_status st = make(d);
    stage *s = st == JX_OK && bytes && bytes <= STAGE_MAX ? stage_for(d, bytes) : NULL;
    uint64_t p = 0;
    if (s) { /* asynchronous, into a block the compute stream is done with */
        st = close_epoch(d, a);
        if (st == JX_OK && !(p = jx__dev_malloc_settled(a, bytes, U.settled))) st = jx_errcode();
        if (st == JX_OK) {
            memcpy(s->host, host, bytes);
            st = JX__CU(d->api->MemcpyHtoDAsync((CUdeviceptr)p, s->host, bytes, U.copy), "cuMemcpyHtoDAsync");
        }
        if (st == JX_OK) st = JX__CU(d->api->EventRecord(s->done, U.copy), "cuEventRecord");
        if (st == JX_OK) st = JX__CU(d->api->StreamWaitEvent(d->stream, s->done, 0), "cuStreamWaitEvent");
    } else if (st == JX_OK) { /* synchronous: the legacy stream waits for the compute stream */
        jx_clear_error(); /* stage_for found no pinned memory: not an error */
        if (!(p = jx__dev_malloc(a, bytes))) st = jx_errcode();
        else if (bytes) st = JX__CU(d->api->MemcpyHtoD((CUdeviceptr)p, host, bytes), "cuMemcpyHtoD");
    }
    pthread_mutex_unlock(&U.mu);
    if (st != JX_OK && p) jx__dev_release(a, p); /* a failed copy: the block was never the caller's */
    return st == JX_OK ? (void *)(uintptr_t)p : NULL;
}
