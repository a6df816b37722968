/* impl_control.c: reference implementations of the control primitives (see prims.def):
 * each evaluates its nested functions with the interpreter itself. */
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"
#include "../control_util.h"

static jx_status no_fn(const jx__eqn *e) {
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "nested function missing");
}

static jx_status impl_call(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *f = jx__eqn_fn(e, JX_A_FN, 0);
    (void)oav;
    return f ? jx__interp_eval(f, in, out) : no_fn(e);
}

static jx_status impl_cond(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    (void)oav;
    if (!a || a->kind != JX_AK_FNS || a->n < 1) return no_fn(e);
    int64_t i = jx__scalar_i64(in[0]);
    i = i < 0 ? 0 : i >= a->n ? a->n - 1 : i; /* clamped, as lax.switch does */
    return jx__interp_eval(a->u.fns[i], in + 1, out);
}

/* while: args[] holds the carry (owned) followed by the consts (borrowed). */
static jx_status impl_while(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *c = jx__eqn_fn(e, JX_A_COND, 0), *b = jx__eqn_fn(e, JX_A_BODY, 0);
    int nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    (void)oav;
    if (!c || !b) return no_fn(e);
    jx_array **args = malloc(sizeof *args * (size_t)(e->nin + 1));
    jx_array **next = malloc(sizeof *next * (size_t)(nc + 1));
    if (!args || !next) {
        free(args);
        free(next);
        return jx__fail(JX_ERR_NOMEM, e->loc, "while", "out of memory");
    }
    for (int i = 0; i < e->nin; i++) args[i] = i < nc ? jx_array_retain(in[i]) : in[i];
    jx_status st = JX_OK;
    for (;;) {
        jx_array *pred = NULL;
        st = jx__interp_eval(c, args, &pred);
        bool go = st == JX_OK && jx__scalar_i64(pred) != 0;
        jx_array_release(pred);
        if (!go) break;
        if ((st = jx__interp_eval(b, args, next)) != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, next, sizeof *args * (size_t)nc);
    }
    if (st == JX_OK) memcpy(out, args, sizeof *args * (size_t)nc);
    else jx__release_all(nc, args);
    free(args);
    free(next);
    return st;
}

/* The contiguous block i of x along axis 0 (x has n blocks), as a new array of aval a. */
static jx_array *block_of(const jx_array *x, int64_t i, int64_t n, const jx_aval *a) {
    jx_array *s = jx__array_alloc(a);
    if (s && s->nbytes) memcpy(s->data, (const char *)x->data + (size_t)i * (x->nbytes / (size_t)n), s->nbytes);
    return s;
}

/* scan: per step, args[] holds the carry (owned), the x slices (owned) and the consts
 * (borrowed); res[] receives the body's carry and y for the step. */
static jx_status impl_scan(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *b = jx__eqn_fn(e, JX_A_BODY, 0);
    if (!b) return no_fn(e);
    jx__scan_attrs at = jx__scan_attrs_of(e);
    int nc = at.nc, nx = at.nx, ny = at.ny;
    jx_array **args = calloc((size_t)e->nin + 1, sizeof *args);
    jx_array **res = calloc((size_t)e->nout + 1, sizeof *res);
    if (!args || !res) {
        free(args);
        free(res);
        return jx__fail(JX_ERR_NOMEM, e->loc, "scan", "out of memory");
    }
    jx_status st = JX_OK;
    for (int i = 0; i < e->nin; i++) args[i] = i < nc ? jx_array_retain(in[i]) : i < nc + nx ? NULL : in[i];
    for (int j = 0; j < ny && st == JX_OK; j++)
        if (!(out[nc + j] = jx__array_alloc(&oav[nc + j]))) st = jx_errcode();
    for (int64_t step = 0; step < at.len && st == JX_OK; step++) {
        int64_t i = at.rev ? at.len - 1 - step : step;
        for (int j = 0; j < nx && st == JX_OK; j++) {
            const jx_array *x = in[nc + j];
            jx_aval sa = jx_aval_make(x->aval.dtype, (jx_ints){x->aval.shape + 1, x->aval.rank - 1});
            if (!(args[nc + j] = block_of(x, i, at.len, &sa))) st = jx_errcode();
        }
        if (st == JX_OK) st = jx__interp_eval(b, args, res);
        jx__release_all(nx, args + nc);
        if (st != JX_OK) break;
        jx__release_all(nc, args);
        memcpy(args, res, sizeof *res * (size_t)nc);
        jx__scan_store_ys(ny, res + nc, out + nc, i);
        jx__release_all(ny, res + nc);
    }
    if (st == JX_OK) {
        memcpy(out, args, sizeof *args * (size_t)nc);
    } else {
        jx__release_all(nc, args);
        jx__release_all(ny, out + nc);
    }
    free(args);
    free(res);
    return st;
}

void jx__impl_register_control(jx__impl_rule *t) {
    t[JX_PRIM_CALL] = impl_call;
    t[JX_PRIM_COND] = impl_cond;
    t[JX_PRIM_WHILE] = impl_while;
    t[JX_PRIM_SCAN] = impl_scan;
}
