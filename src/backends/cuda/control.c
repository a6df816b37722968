/* control.c: cond, while and scan with their operands on the device. The loop is driven
 * from the host and the sub-programs run through jx__cuda_run on device arrays, so their
 * results stay on the device (a body whose steps all run there is replayed as a CUDA
 * graph, graph.c), and only cond's index and while's predicate come back to the host, a
 * scalar each per decision. scan's slices of xs and its stacked ys are device-to-device
 * copies on the compute stream: a carry never leaves the device. */
#include <stdlib.h>
#include <string.h>

#include "../control_util.h"
#include "cuda.h"

/* cond: the index read back (a scalar; the read waits for the work before it). */
static jx_status run_cond(const jx__step *s, jx_array *const *in, jx_array **out) {
    int i;
    jx_status st = jx__branch_index(in[0], s->nsubs, &i);
    return st == JX_OK ? jx__cuda_run(s->subs[i], in + 1, out) : st;
}

/* A loop's sub-program k on device arrays: its results are device arrays. */
static jx_status run_nested(void *ctx, int k, jx_array *const *args, const bool *don, jx_array **res) {
    const jx__step *s = ctx;
    (void)don; /* every variable has its own buffer on the device */
    return jx__cuda_run(s->subs[k], args, res);
}

/* A new device array of aval av, bytes copied from device address src (0 bytes: none). */
static jx_array *device_array(const jx_aval *av, CUdeviceptr src, size_t bytes) {
    const jx__cu_dev *d = jx__cu_get();
    void *p = d ? jx__cuda_backend.alloc(bytes ? bytes : 1) : NULL;
    jx_array *a = p ? jx__array_on_device(av, p, &jx__cuda_backend, JX_DEVICE_CUDA) : NULL;
    if (p && !a) jx__cuda_backend.free(p);
    CUresult r__;
    if (a && src && bytes &&
        JX__CU(d->api->MemcpyDtoDAsync((CUdeviceptr)(uintptr_t)p, src, bytes, d->stream), "cuMemcpyDtoDAsync (scan)") !=
            JX_OK)
        jx_array_release(a), a = NULL;
    return a;
}

/* scan's slice of x (a device array): a device-to-device copy of its block i. */
static jx_status slice(void *ctx, jx_array **slot, const jx_array *x, const jx_aval *av, int64_t i, int64_t len) {
    (void)ctx;
    size_t block = x->nbytes / (size_t)len;
    jx_array_release(*slot);
    *slot = device_array(av, (CUdeviceptr)(uintptr_t)x->dev + (size_t)i * block, block);
    return *slot ? JX_OK : jx_errcode();
}

static jx_array *stack_new(void *ctx, const jx_aval *av) {
    (void)ctx;
    return device_array(av, 0, (size_t)jx_aval_size(av) * jx_dtype_size(av->dtype));
}

/* Copies y (to the device first, were it on the host) into block i of ys. */
static jx_status store(void *ctx, jx_array *y, jx_array *ys, int64_t i) {
    const jx__cu_dev *d = jx__cu_get();
    jx_array *dy = d ? jx_array_to(y, JX_DEVICE_CUDA) : NULL;
    (void)ctx;
    if (!dy) return jx_errcode();
    CUresult r__;
    jx_status st = !y->nbytes ? JX_OK
                              : JX__CU(d->api->MemcpyDtoDAsync((CUdeviceptr)(uintptr_t)ys->dev + (size_t)i * y->nbytes,
                                                               (CUdeviceptr)(uintptr_t)dy->dev, y->nbytes, d->stream),
                                       "cuMemcpyDtoDAsync (scan)");
    jx_array_release(dy);
    return st;
}

bool jx__cuda_control_ok(const jx__step *s, const jx__eqn *e) {
    return (e->prim == JX_PRIM_COND && s->nsubs >= 1) || (e->prim == JX_PRIM_WHILE && s->nsubs == 2) ||
           (e->prim == JX_PRIM_SCAN && s->nsubs == 1);
}

jx_status jx__cuda_control(const jx__step *s, const jx__eqn *e, jx_array *const *in, const jx_aval *oav,
                           jx_array **out) {
    jx__loop_ops ops = {.ctx = (void *)s, .run = run_nested, .slice = slice, .stack_new = stack_new, .store = store};
    switch (e->prim) {
    case JX_PRIM_COND: return run_cond(s, in, out);
    case JX_PRIM_WHILE: return jx__while_run(e, in, out, &ops);
    case JX_PRIM_SCAN: return jx__scan_run(e, in, oav, out, &ops);
    default: return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "not a device control primitive");
    }
}
