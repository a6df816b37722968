/* ring.h: a prefetch ring, the machinery the data loaders share. Items (batches) numbered
 * first..first+count-1 are prepared ahead of the consumer into a ring of slots, each item
 * in parts (a COCO batch's samples, say) that worker threads fill in any order; the
 * consumer takes items strictly in order. Which slot an item lands in depends only on its
 * number, so what a loader writes is the same for any thread count.
 *
 * The item the consumer took keeps its slot until it asks for the next one, so the ring
 * has prefetch + 1 slots. A part that fails records its message in its item's slot; the
 * consumer gets the error of the item's lowest failing part when it reaches that item
 * (not before: the items before it are still good). With 0 threads nothing runs in the
 * background: jx__ring_next prepares the item itself. */
#ifndef JX_DATA_RING_H
#define JX_DATA_RING_H

#include <stddef.h>

#include <jx.h>

typedef struct jx__ring jx__ring;

typedef struct jx__ring_ops {
    /* How many parts (>= 1) item `item` has; called under the ring's lock when the item
     * starts in slot `slot`, before any of its parts is filled. */
    int (*parts)(void *ctx, size_t item, int slot);
    /* Fills part `part` of item `item` into slot `slot`; called without the lock, on a
     * worker thread or the consumer's. JX_OK, or a status with jx_errmsg() set. */
    jx_status (*fill)(void *ctx, size_t item, int part, int slot);
} jx__ring_ops;

/* A ring of nslots (>= 1) slots and `threads` (>= 0) workers, idle until jx__ring_start.
 * what names the caller in messages. NULL with jx_errmsg() set when out of memory or a
 * thread cannot start. ctx is borrowed; free with jx__ring_free. */
jx__ring *jx__ring_new(const char *what, int nslots, int threads, jx__ring_ops ops, void *ctx);

/* Stops handing out work and waits for what runs to finish: afterwards no worker touches
 * a slot or ctx until the next jx__ring_start, so the caller may change what the items
 * are (an epoch's order). */
void jx__ring_pause(jx__ring *r);

/* Pauses, then starts items first..first+count-1 from the first slot. */
void jx__ring_start(jx__ring *r, size_t first, size_t count);

/* Waits for the next item: 1 with *item and *slot set (the slot is the caller's until the
 * next call), 0 after the last item, or -1 with jx_errmsg() set: the item's failure, or
 * "what: not started" before jx__ring_start. After an error the ring goes on with the
 * next item. */
int jx__ring_next(jx__ring *r, size_t *item, int *slot);

/* Joins the workers and frees the ring (not ctx). NULL is fine. */
void jx__ring_free(jx__ring *r);

#endif
