/* ring.c: see ring.h. One lock guards the counters; parts are filled outside it. */
#define _POSIX_C_SOURCE 200809L
#include "ring.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"

typedef struct ring_slot {
    int parts, done;  /* parts of the item in this slot, parts finished */
    int err_part;     /* the lowest failed part, or INT32_MAX */
    jx_status err_code;
    char err[512];
} ring_slot;

struct jx__ring {
    const char *what;
    jx__ring_ops ops;
    void *ctx;
    int nslots, threads;
    ring_slot *slots;
    /* items are first..end-1; next_item/next_part is the next part to hand out; consumed
     * counts the items taken; low is the lowest item whose slot is in use (the one the
     * caller holds, until it asks for the next) */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    size_t first, end, next_item, consumed, low, in_flight;
    int next_part, started, quit;
    pthread_t *tids;
};

static ring_slot *slot_of(jx__ring *r, size_t item) { return &r->slots[(item - r->first) % (size_t)r->nslots]; }

/* Under the lock: the next (item, part) to fill, or 0 when none may start now. */
static int take(jx__ring *r, size_t *item, int *part) {
    if (!r->started || r->next_item >= r->end || r->next_item >= r->low + (size_t)r->nslots) return 0;
    ring_slot *s = slot_of(r, r->next_item);
    if (r->next_part == 0) {
        int n = r->ops.parts(r->ctx, r->next_item, (int)(s - r->slots));
        *s = (ring_slot){.parts = n < 1 ? 1 : n, .err_part = INT32_MAX};
    }
    *item = r->next_item, *part = r->next_part;
    if (++r->next_part == s->parts) r->next_item++, r->next_part = 0;
    r->in_flight++;
    return 1;
}

/* Fills one part without the lock, then records it; returns holding the lock. */
static void fill(jx__ring *r, size_t item, int part) {
    ring_slot *s = slot_of(r, item);
    jx_status st = r->ops.fill(r->ctx, item, part, (int)(s - r->slots));
    pthread_mutex_lock(&r->mu);
    if (st != JX_OK && part < s->err_part)
        s->err_part = part, s->err_code = st, snprintf(s->err, sizeof s->err, "%s", jx_errmsg());
    s->done++;
    r->in_flight--;
    pthread_cond_broadcast(&r->done);
}

static void *worker(void *arg) {
    jx__ring *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        size_t item;
        int part;
        while (!r->quit && !take(r, &item, &part)) pthread_cond_wait(&r->work, &r->mu);
        if (r->quit) break;
        pthread_mutex_unlock(&r->mu);
        fill(r, item, part);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

jx__ring *jx__ring_new(const char *what, int nslots, int threads, jx__ring_ops ops, void *ctx) {
    jx__ring *r = calloc(1, sizeof *r);
    if (!r || nslots < 1 || threads < 0) {
        free(r);
        if (r) jx__data_fail(JX_ERR_ARG, "%s: a ring of %d slots and %d threads", what, nslots, threads);
        else jx__data_nomem(what);
        return NULL;
    }
    *r = (jx__ring){.what = what, .ops = ops, .ctx = ctx, .nslots = nslots};
    r->slots = calloc((size_t)nslots, sizeof *r->slots);
    r->tids = calloc((size_t)threads + 1, sizeof *r->tids);
    if (!r->slots || !r->tids) {
        free(r->slots), free(r->tids), free(r);
        jx__data_nomem(what);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->done, NULL);
    for (; r->threads < threads; r->threads++)
        if (pthread_create(&r->tids[r->threads], NULL, worker, r) != 0) {
            int i = r->threads;
            jx__ring_free(r); /* joins the ones that started */
            jx__data_fail(JX_ERR_RUNTIME, "%s: cannot start thread %d", what, i);
            return NULL;
        }
    return r;
}

void jx__ring_pause(jx__ring *r) {
    pthread_mutex_lock(&r->mu);
    r->started = 0;
    while (r->in_flight) pthread_cond_wait(&r->done, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

void jx__ring_start(jx__ring *r, size_t first, size_t count) {
    jx__ring_pause(r);
    pthread_mutex_lock(&r->mu);
    r->first = r->next_item = r->consumed = r->low = first, r->end = first + count, r->next_part = 0;
    r->started = 1;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
}

int jx__ring_next(jx__ring *r, size_t *item, int *slot) {
    pthread_mutex_lock(&r->mu);
    if (!r->started) {
        pthread_mutex_unlock(&r->mu);
        return jx__data_fail(JX_ERR_ARG, "%s: not started", r->what), -1;
    }
    size_t b = r->consumed;
    if (b >= r->end) return pthread_mutex_unlock(&r->mu), 0;
    ring_slot *s = slot_of(r, b);
    r->low = b; /* the caller is done with the item before */
    pthread_cond_broadcast(&r->work);
    if (r->threads == 0) { /* no workers: fill this item here */
        size_t i;
        int part;
        while (r->next_item <= b && take(r, &i, &part)) {
            pthread_mutex_unlock(&r->mu);
            fill(r, i, part);
        }
    }
    while (!(r->next_item > b && s->done == s->parts)) pthread_cond_wait(&r->done, &r->mu);
    r->consumed = b + 1;
    int failed = s->err_part != INT32_MAX;
    pthread_mutex_unlock(&r->mu);
    *item = b, *slot = (int)(s - r->slots);
    if (failed) return jx__data_fail(s->err_code, "%s", s->err), -1;
    return 1;
}

void jx__ring_free(jx__ring *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->quit = 1;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->threads; i++) pthread_join(r->tids[i], NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->done);
    free(r->slots), free(r->tids), free(r);
}
