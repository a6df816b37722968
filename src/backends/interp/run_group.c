/* run_group.c: running a fusion group's equations one by one with the interpreter's impl
 * rules (the executors' OPAQUE steps, and kernels a code generator declined), and the
 * JX_DEBUG_NANS checks: when a step's float output holds a NaN, its equations run again
 * this way to name the first primitive, and the user's line, that produced it. */
#include <math.h>
#include <stdlib.h>

#include "run_group.h"

bool jx__array_has_nan(const jx_array *a) {
    if (!a || !jx_dtype_is_float(a->aval.dtype)) return false;
    int64_t n = jx_aval_size(&a->aval);
    switch (a->aval.dtype) {
    case JX_F32: {
        const float *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if (x[i] != x[i]) return true;
        return false;
    }
    case JX_F64: {
        const double *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if (x[i] != x[i]) return true;
        return false;
    }
    case JX_F16: { /* exponent all ones, mantissa non-zero */
        const uint16_t *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if ((x[i] & 0x7c00) == 0x7c00 && (x[i] & 0x03ff)) return true;
        return false;
    }
    case JX_BF16: {
        const uint16_t *x = a->data;
        for (int64_t i = 0; i < n; i++)
            if ((x[i] & 0x7f80) == 0x7f80 && (x[i] & 0x007f)) return true;
        return false;
    }
    default: return false;
    }
}

jx_status jx__nan_fail(const jx__eqn *e) {
    return jx__fail(JX_ERR_RUNTIME, e->loc, jx__prims[e->prim].name, "produced NaN (JX_DEBUG_NANS)");
}

/* Runs equation e of f on env; its outputs replace env's entries. */
static jx_status run_eqn(const jx_fn *f, const jx__eqn *e, jx_array **env, bool check_nan) {
    jx_status st = jx__interp_eqn(f, e, env);
    for (int i = 0; st == JX_OK && check_nan && i < e->nout; i++)
        if (jx__array_has_nan(env[e->out[i]])) st = jx__nan_fail(e);
    return st;
}

jx_status jx__run_eqns_interp(const jx_fn *f, const jx__group *g, jx_array **env, bool check_nan) {
    jx__impl_rules_init();
    jx_status st = JX_OK;
    for (int j = 0; j < g->neqn && st == JX_OK; j++) st = run_eqn(f, &f->eqns[g->eqns[j]], env, check_nan);
    return st;
}
