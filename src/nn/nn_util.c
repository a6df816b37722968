/* nn_util.c: argument checks and small helpers shared by the layers and losses. */
#include <stdarg.h>
#include <stdio.h>

#include "nn_util.h"

const char *jx__nn_avs(jx_val v) {
    static _Thread_local char buf[8][96];
    static _Thread_local int i;
    char *b = buf[i++ & 7];
    jx_aval a = jx_aval_of(v);
    if (a.rank < 0) return "(invalid value)";
    return jx_aval_str(&a, b, sizeof buf[0]);
}

int jx__nn_given(jx_val p) { return !(p.trace == JX_NONE.trace && p.id == JX_NONE.id); }

int jx__nn_valid(jx_loc loc, const char *what, const char *name, jx_val x) {
    if (jx_trace_status() != JX_OK) return 0;
    if (jx_val_ok(x)) return 1;
    jx__nn_fail(loc, JX_ERR_ARG, what, "%s is not a valid traced value", name);
    return 0;
}

int jx__nn_float(jx_loc loc, const char *what, const char *name, jx_val x) {
    if (!jx__nn_valid(loc, what, name, x)) return 0;
    jx_dtype t = jx_dtype_of(x);
    if (t == JX_F32 || t == JX_F64) return 1;
    jx__nn_fail(loc, JX_ERR_DTYPE, what, "%s %s must be f32 or f64", name, jx__nn_avs(x));
    return 0;
}

int jx__nn_rank(jx_loc loc, const char *what, const char *name, jx_val x, int rank) {
    if (!jx__nn_float(loc, what, name, x)) return 0;
    int r = jx_rank(x);
    if (rank >= 0 ? r == rank : r >= -rank) return 1;
    jx__nn_fail(loc, JX_ERR_SHAPE, what, "%s %s must have rank %s%d", name, jx__nn_avs(x),
                      rank >= 0 ? "" : "at least ", rank >= 0 ? rank : -rank);
    return 0;
}

int jx__nn_param(jx_loc loc, const char *what, const char *name, jx_val p, jx_val like,
                 jx_ints shape) {
    if (!jx__nn_given(p)) return jx_trace_status() == JX_OK;
    if (!jx__nn_float(loc, what, name, p)) return 0;
    jx_aval a = jx_aval_of(p);
    int same = a.rank == shape.n;
    for (int i = 0; same && i < shape.n; i++) same = a.shape[i] == shape.v[i];
    if (!same) {
        jx_aval want = jx_aval_make(a.dtype, shape);
        char wb[96];
        jx__nn_fail(loc, JX_ERR_SHAPE, what, "%s %s should be %s for input %s", name,
                          jx__nn_avs(p), jx_aval_str(&want, wb, sizeof wb), jx__nn_avs(like));
        return 0;
    }
    if (a.dtype != jx_dtype_of(like)) {
        jx__nn_fail(loc, JX_ERR_DTYPE, what, "%s %s and input %s differ in dtype", name,
                          jx__nn_avs(p), jx__nn_avs(like));
        return 0;
    }
    return 1;
}

jx_val jx__nn_affine(jx_loc loc, jx_val x, jx_val s, jx_val b) {
    if (jx__nn_given(s)) x = jx_mul_at(loc, x, s);
    if (jx__nn_given(b)) x = jx_add_at(loc, x, b);
    return x;
}

void jx__nn_same_pads(int64_t n, int64_t k, int64_t stride, int64_t *lo, int64_t *hi) {
    int64_t out = (n + stride - 1) / stride;
    int64_t total = (out - 1) * stride + k - n;
    if (total < 0) total = 0;
    *lo = total / 2;
    *hi = total - *lo;
}

jx_val jx__nn_fail(jx_loc loc, jx_status code, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    jx_verror_at(loc, code, what, fmt, ap);
    va_end(ap);
    return JX_NONE;
}

jx_array *jx__nn_eval1(jx_loc loc, const char *name, jx_body body, void *user, int nin, jx_array *const *in) {
    jx_aval avals[8];
    if (nin > 8) {
        jx_error_at(loc, JX_ERR_INTERNAL, name, "too many inputs");
        return NULL;
    }
    for (int i = 0; i < nin; i++) {
        if (!in[i]) {
            jx_error_at(loc, JX_ERR_ARG, name, "input %d is NULL", i);
            return NULL;
        }
        avals[i] = jx_array_aval(in[i]);
    }
    jx_fn *f = jx_trace_at(loc, name, body, user, nin, avals, 1);
    if (!f) return NULL;
    jx_array *out = NULL;
    jx_status st = jx_eval(f, nin, in, 1, &out);
    jx_fn_release(f);
    return st == JX_OK ? out : NULL;
}
