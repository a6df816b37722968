/* pmap_run.c: runs a pmap equation on the CPU devices: one thread per device (device 0
 * on the caller's own thread, the others parked in the devices' pool between calls, see
 * pool.c), each with its slices of the mapped inputs and the axis name bound to its
 * index, then the per-device outputs stacked along the out_axes. A
 * slice that is a contiguous block of its input (mapped axis 0, or one device) is a
 * view, not a copy; with one device an output the device alone holds becomes the
 * stacked output as it is. The interpreter and the jit's executor both come here; they
 * differ only in how a device runs the body. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "collective.h"
#include "control_util.h"
#include "fpenv.h"

/* Copies slice i of x along axis a into s (x's aval without axis a) or, with `put`, s
 * into slice i of x: outer blocks of `inner` bytes, as in a row-major array. */
static void slice_copy(jx_array *x, int a, int64_t i, jx_array *s, bool put) {
    int64_t outer = 1, n = x->aval.shape[a];
    for (int d = 0; d < a; d++) outer *= x->aval.shape[d];
    size_t inner = outer && n ? x->nbytes / (size_t)(outer * n) : 0;
    for (int64_t o = 0; o < outer && inner; o++) {
        char *xp = (char *)x->data + (size_t)(o * n + i) * inner, *sp = (char *)s->data + (size_t)o * inner;
        if (put) memcpy(xp, sp, inner);
        else memcpy(sp, xp, inner);
    }
}

/* Whether each slice along axis a of an array of aval x is one block of its bytes. */
static bool contiguous(jx_aval x, int a) {
    for (int d = 0; d < a; d++)
        if (x.shape[d] != 1) return false;
    return true;
}

static jx_aval without_axis(jx_aval a, int ax) {
    for (int d = ax; d + 1 < a.rank; d++) a.shape[d] = a.shape[d + 1];
    a.rank--;
    return a;
}

typedef struct device {
    int index;
    const jx__axis_bind *outer;
    jx__axis_bind bind;
    jx_array **in, **out;
    jx__pmap_body_fn body;
    void *ctx;
    jx_status st;
    bool aborted;
    uint64_t fpmode; /* the caller's subnormal mode (fpenv.h) */
    char msg[1024];
} device;

static void *device_main(void *arg) {
    device *d = arg;
    jx__fpenv_enter(d->fpmode != 0); /* a pool worker takes the caller's mode per job */
    const jx__axis_bind *prev = jx__axis_push(&d->bind);
    d->st = d->body(d->ctx, d->index, d->in, d->out);
    if (d->st != JX_OK) {
        d->aborted = jx__comm_is_abort_error();
        strncpy(d->msg, jx_errmsg(), sizeof d->msg - 1);
        jx__comm_abort(d->bind.comm, d->index);
    }
    jx__axis_restore(prev);
    return NULL;
}

/* The devices' pool runs device c on worker c (device 0 on the caller's thread). */
static void device_chunk(void *ctx, int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; d++) device_main((device *)ctx + d);
}

jx_status jx__pmap_run(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out,
                       jx__pmap_body_fn body, void *ctx) {
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    int n = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, 0);
    jx_ints ia = jx__attr_ints(e->nattr, e->attrs, JX_A_IN_AXES), oa = jx__attr_ints(e->nattr, e->attrs, JX_A_OUT_AXES);
    int nin = e->nin, nout = e->nout;
    device *dev = calloc((size_t)n + 1, sizeof *dev);
    pthread_t *th = calloc((size_t)n + 1, sizeof *th);
    bool *started = calloc((size_t)n + 1, sizeof *started);
    jx_array **args = calloc((size_t)n * (size_t)(nin + nout) + 1, sizeof *args);
    jx__comm *comm = dev && th && started && args ? jx__comm_new(n) : NULL;
    jx_status st = comm ? JX_OK : jx__fail(JX_ERR_NOMEM, e->loc, "pmap", "out of memory");
    for (int i = 0; i < nout; i++) out[i] = NULL;
    /* the slices of each device */
    for (int d = 0; d < n && st == JX_OK; d++) {
        dev[d] = (device){.index = d, .fpmode = jx__fpenv_mode(), .body = body, .ctx = ctx, .in = args + (size_t)d * (size_t)(nin + nout)};
        dev[d].out = dev[d].in + nin;
        /* across processes the axis numbers every process's devices (docs/pmap.md) */
        int p = jx__dist_active() ? jx_process_count() : 1, first = jx__dist_active() ? jx_process_index() * n : 0;
        dev[d].bind = (jx__axis_bind){name, first + d, n * p, d, n, comm, jx__axis_top()};
        for (int j = 0; j < nin && st == JX_OK; j++) {
            if (ia.v[j] < 0) {
                dev[d].in[j] = jx_array_retain(in[j]);
                continue;
            }
            jx_aval sa = without_axis(in[j]->aval, (int)ia.v[j]);
            size_t block = in[j]->nbytes / (size_t)n, off = (size_t)d * block;
            if (contiguous(in[j]->aval, (int)ia.v[j]) && in[j]->data && off % 64 == 0)
                dev[d].in[j] = jx__array_view(in[j], &sa, off); /* read only: it never leaves here */
            else if ((dev[d].in[j] = jx__array_alloc_uninit(&sa)))
                slice_copy(in[j], (int)ia.v[j], d, dev[d].in[j], false);
            if (!dev[d].in[j]) st = jx_errcode();
        }
    }
    /* the parked threads of the devices' pool; a thread per device where that pool is
     * busy (a pmap inside a device's body, or pmaps called from several threads at once) */
    bool pooled = st == JX_OK && n > 1 && jx__pool_try_each(jx__pool_devices(n), device_chunk, dev);
    for (int d = 1; d < n && st == JX_OK && !pooled; d++) {
        if (pthread_create(&th[d], NULL, device_main, &dev[d]) != 0) {
            st = jx__fail(JX_ERR_RUNTIME, e->loc, "pmap", "cannot start the thread of device %d", d);
            jx__comm_abort(comm, d);
            break;
        }
        started[d] = true;
    }
    if (st == JX_OK && !pooled) device_main(&dev[0]); /* on this thread: no thread to start for one device */
    else if (comm) jx__comm_abort(comm, 0);
    for (int d = 1; d < n; d++)
        if (started[d]) pthread_join(th[d], NULL);
    /* the first device's own error, rather than the "stopped" of those it stopped */
    int bad = -1;
    for (int d = 0; d < n && dev && st == JX_OK; d++)
        if (dev[d].st != JX_OK && (bad < 0 || (dev[bad].aborted && !dev[d].aborted))) bad = d;
    if (bad >= 0) st = jx__fail(dev[bad].st, jx__noloc, NULL, "%s", dev[bad].msg);
    /* stacking */
    for (int j = 0; j < nout && st == JX_OK; j++) {
        if (oa.v[j] < 0) { /* not mapped: device 0's (every device has the same) */
            out[j] = jx_array_retain(dev[0].out[j]);
            continue;
        }
        jx_array *y = dev[0].out[j];
        if (n == 1 && atomic_load(&y->refs) == 1 && !y->base && y->data && !y->dev && y->nbytes == (size_t)jx_aval_size(&oav[j]) * jx_dtype_size(oav[j].dtype)) {
            y->aval = oav[j]; /* the same bytes with the axis of size 1 added */
            out[j] = y, dev[0].out[j] = NULL;
            continue;
        }
        if (!(out[j] = jx__array_alloc_uninit(&oav[j]))) st = jx_errcode();
        for (int d = 0; d < n && st == JX_OK; d++) slice_copy(out[j], (int)oa.v[j], d, dev[d].out[j], true);
    }
    if (st != JX_OK) jx__release_all(nout, out);
    if (args) jx__release_all(n * (nin + nout), args);
    jx__comm_free(comm);
    free(dev);
    free(th);
    free(started);
    free(args);
    return st;
}
