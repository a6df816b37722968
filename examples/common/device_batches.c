/* device_batches.c: batches moved to the trainer's device one step ahead
 * (device_batches.h). */
#include "device_batches.h"

/* The iterator's next batch into xy, prepared for step and on db's device (xy all NULL
 * on failure or at the epoch's end). */
static jx_status fetch(device_batches *db, int64_t step, jx_array **xy) {
    jx_status st = jx_batches_next(db->it, xy);
    if (st != JX_OK || !xy[0]) return st;
    if (db->prepare && db->prepare(db->ctx, xy, step) != 0) {
        st = jx_errcode();
        jx_array_release(xy[0]), jx_array_release(xy[1]), xy[0] = xy[1] = NULL;
        return st;
    }
    if (db->device != JX_DEVICE_CUDA) return st;
    for (int i = 0; i < 2; i++) {
        jx_array *d = st == JX_OK ? jx_array_to(xy[i], db->device) : NULL;
        if (!d) st = jx_errcode();
        jx_array_release(xy[i]);
        xy[i] = d;
    }
    if (st != JX_OK) jx_array_release(xy[0]), jx_array_release(xy[1]), xy[0] = xy[1] = NULL;
    return st;
}

jx_status device_batches_take(device_batches *db, int64_t step, jx_array **xy) {
    if (db->have && db->next_step != step) /* a trainer's bug: that batch would be lost or reused */
        return xy[0] = xy[1] = NULL, jx_error_at(JX_HERE, JX_ERR_INTERNAL, "device_batches",
                                                 "the batch prefetched for step %lld taken for step %lld",
                                                 (long long)db->next_step, (long long)step);
    if (!db->have) return fetch(db, step, xy);
    xy[0] = db->next[0], xy[1] = db->next[1];
    db->next[0] = db->next[1] = NULL;
    db->have = 0;
    return JX_OK;
}

jx_status device_batches_prefetch(device_batches *db, int64_t step) {
    if (db->device != JX_DEVICE_CUDA || db->have) return JX_OK;
    jx_status st = fetch(db, step, db->next);
    db->have = st == JX_OK;
    db->next_step = step;
    return st;
}

void device_batches_drop(device_batches *db) {
    jx_array_release(db->next[0]), jx_array_release(db->next[1]);
    db->next[0] = db->next[1] = NULL;
    db->have = 0;
}
