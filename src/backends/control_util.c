/* control_util.c: helpers shared by the interpreter's, the jit's and the CUDA backend's
 * control primitives, the while and scan loops among them (see control_util.h). */
#include <stdlib.h>
#include <string.h>

#include "control_util.h"

int64_t jx__scalar_i64(const jx_array *x) {
    switch (x->aval.dtype) {
    case JX_BOOL:
    case JX_U8: return *(const uint8_t *)x->data;
    case JX_I32: return *(const int32_t *)x->data;
    case JX_U32: return *(const uint32_t *)x->data;
    case JX_I64: return *(const int64_t *)x->data;
    default: return (int64_t)jx_array_get(x, 0);
    }
}

void jx__release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) {
        jx_array_release(a[i]);
        a[i] = NULL;
    }
}

jx__scan_attrs jx__scan_attrs_of(const jx__eqn *e) {
    jx__scan_attrs s;
    s.len = jx__attr_int(e->nattr, e->attrs, JX_A_LENGTH, 0);
    s.rev = jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0) != 0;
    s.nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    s.nk = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, 0);
    s.nx = e->nin - s.nc - s.nk;
    s.ny = e->nout - s.nc;
    return s;
}

jx_status jx__scalar_read(jx_array *x, int64_t *v) {
    if (!jx__array_host(x)) return jx_errcode();
    *v = jx__scalar_i64(x);
    return JX_OK;
}

jx_status jx__branch_index(jx_array *x, int n, int *branch) {
    int64_t i = 0;
    jx_status st = jx__scalar_read(x, &i);
    *branch = i < 0 ? 0 : i >= n ? n - 1 : (int)i;
    return st;
}

static jx_status oom(const jx__eqn *e) {
    return jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
}

/* Marks the first n of args donated where the loop holds the only reference. */
static void donate_owned(int n, jx_array *const *args, bool *don) {
    for (int i = 0; i < n; i++) don[i] = atomic_load(&args[i]->refs) == 1;
}

jx_status jx__while_run(const jx__eqn *e, jx_array *const *in, jx_array **out, const jx__loop_ops *ops) {
    int nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    jx_array **args = calloc((size_t)e->nin + 1, sizeof *args), **next = calloc((size_t)nc + 1, sizeof *next);
    bool *don = calloc((size_t)e->nin + 1, sizeof *don);
    jx_status st = args && next && don ? JX_OK : oom(e);
    for (int i = 0; args && i < e->nin; i++) args[i] = i < nc ? jx_array_retain(in[i]) : in[i];
    while (st == JX_OK) { /* args[]: the carry (owned), then the consts (borrowed) */
        jx_array *pred = NULL;
        int64_t go = 0;
        st = ops->run(ops->ctx, 0, args, NULL, &pred);
        if (st == JX_OK) st = jx__scalar_read(pred, &go); /* on a device: read back */
        jx_array_release(pred);
        if (st != JX_OK || !go) break;
        donate_owned(nc, args, don);
        if ((st = ops->run(ops->ctx, 1, args, don, next)) != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, next, sizeof *args * (size_t)nc);
    }
    if (st == JX_OK) memcpy(out, args, sizeof *args * (size_t)nc);
    else if (args) jx__release_all(nc, args);
    free(args);
    free(next);
    free(don);
    return st;
}

/* Host arrays: *slot (reused when only the loop holds it) gets block i of x. */
static jx_status host_slice(void *ctx, jx_array **slot, const jx_array *x, const jx_aval *av, int64_t i,
                            int64_t len) {
    (void)ctx;
    if (*slot && atomic_load(&(*slot)->refs) != 1) {
        jx_array_release(*slot);
        *slot = NULL;
    }
    if (!*slot && !(*slot = jx__array_alloc_uninit(av))) return jx_errcode();
    (*slot)->aval = *av;
    size_t block = x->nbytes / (size_t)len;
    if (block) memcpy((*slot)->data, (const char *)x->data + (size_t)i * block, block);
    return JX_OK;
}

static jx_array *host_stack(void *ctx, const jx_aval *av) {
    (void)ctx;
    return jx__array_alloc_uninit(av);
}

static jx_status host_store(void *ctx, jx_array *y, jx_array *ys, int64_t i) {
    (void)ctx;
    if (y->nbytes) memcpy((char *)ys->data + (size_t)i * y->nbytes, y->data, y->nbytes);
    return JX_OK;
}

jx_status jx__scan_run(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out,
                       const jx__loop_ops *ops) {
    jx__scan_attrs at = jx__scan_attrs_of(e);
    int nc = at.nc, nx = at.nx, ny = at.ny;
    jx_status (*slice)(void *, jx_array **, const jx_array *, const jx_aval *, int64_t, int64_t) =
        ops->slice ? ops->slice : host_slice;
    jx_array *(*stack_new)(void *, const jx_aval *) = ops->stack_new ? ops->stack_new : host_stack;
    jx_status (*store)(void *, jx_array *, jx_array *, int64_t) = ops->store ? ops->store : host_store;
    jx_array **args = calloc((size_t)e->nin + 1, sizeof *args), **res = calloc((size_t)e->nout + 1, sizeof *res);
    bool *don = calloc((size_t)e->nin + 1, sizeof *don);
    jx_status st = args && res && don ? JX_OK : oom(e);
    /* args[]: the carry (owned), the x slices (owned) and the consts (borrowed) */
    for (int i = 0; args && i < e->nin; i++) args[i] = i < nc ? jx_array_retain(in[i]) : i < nc + nx ? NULL : in[i];
    for (int j = 0; j < ny && st == JX_OK; j++)
        if (!(out[nc + j] = stack_new(ops->ctx, &oav[nc + j]))) st = jx_errcode();
    for (int64_t step = 0; step < at.len && st == JX_OK; step++) {
        int64_t i = at.rev ? at.len - 1 - step : step;
        for (int j = 0; j < nx && st == JX_OK; j++) {
            const jx_array *x = in[nc + j];
            jx_aval sa = jx_aval_make(x->aval.dtype, (jx_ints){x->aval.shape + 1, x->aval.rank - 1});
            st = slice(ops->ctx, &args[nc + j], x, &sa, i, at.len);
        }
        if (st != JX_OK) break;
        donate_owned(nc + nx, args, don);
        if ((st = ops->run(ops->ctx, 0, args, don, res)) != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, res, sizeof *res * (size_t)nc);
        for (int j = 0; j < ny && st == JX_OK; j++) st = store(ops->ctx, res[nc + j], out[nc + j], i);
        jx__release_all(ny, res + nc);
    }
    if (args) jx__release_all(nx, args + nc);
    if (st == JX_OK) {
        memcpy(out, args, sizeof *args * (size_t)nc);
    } else {
        if (args) jx__release_all(nc, args);
        jx__release_all(ny, out + nc);
    }
    free(args);
    free(res);
    free(don);
    return st;
}
