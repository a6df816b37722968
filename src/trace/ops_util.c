/* ops_util.c: helpers shared by the public op wrappers (see ops_util.h). */
#include <stdarg.h>
#include <string.h>

#include "ops_util.h"


jx__trace *jx__ops_trace(jx_loc loc, const char *what) {
    jx__trace *t = jx__trace_top();
    if (!t) jx__fail(JX_ERR_TRACE, loc, what, "called outside of a trace");
    return t;
}

jx_val jx__ops_invalid(void) {
    jx__trace *t = jx__trace_top();
    return (jx_val){t ? t->id : 0, -1};
}

jx_val jx__ops_fail(jx_loc loc, jx_status code, const char *what, const char *fmt, ...) {
    jx__trace *t = jx__trace_top();
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t)
        jx__trace_fail(t, code, loc, what, "%s", msg);
    else
        jx__fail(code, loc, what, "%s", msg);
    return jx__ops_invalid();
}

bool jx__ops_failed(void) {
    jx__trace *t = jx__trace_top();
    return t && t->status != JX_OK;
}

bool jx__ops_aval(jx_loc loc, const char *what, jx_val x, jx_aval *out) {
    jx__trace *t = jx__ops_trace(loc, what);
    if (!t) return false;
    *out = jx__val_aval(x);
    if (out->rank >= 0) return true;
    jx__atom unused;
    jx__resolve(t, loc, what, x, &unused); /* records why x is invalid */
    return false;
}

bool jx__broadcast_shapes(const jx_aval *a, const jx_aval *b, jx_aval *out) {
    jx_aval r;
    memset(&r, 0, sizeof r);
    r.dtype = a->dtype;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) { /* i counts from the last dim */
        int64_t da = i < a->rank ? a->shape[a->rank - 1 - i] : 1;
        int64_t db = i < b->rank ? b->shape[b->rank - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) return false;
        r.shape[r.rank - 1 - i] = da == 1 ? db : da;
    }
    *out = r;
    return true;
}

jx_val jx__broadcast_to_aval(jx_loc loc, jx_val x, const jx_aval *to) {
    jx_aval a = jx__val_aval(x);
    if (a.rank < 0) return x; /* the op that uses x reports it */
    bool same = a.rank == to->rank;
    for (int i = 0; same && i < a.rank; i++) same = a.shape[i] == to->shape[i];
    if (same) return x;
    int64_t dims[JX_MAX_RANK];
    for (int i = 0; i < a.rank; i++) dims[i] = to->rank - a.rank + i;
    jx_ints shape = {to->shape, to->rank}, d = {dims, a.rank};
    return jx_broadcast_in_dim_at(loc, x, shape, d);
}


jx_val jx__wrap_index(jx_loc loc, jx_val s, int64_t n) {
    jx__trace *t = jx__trace_top();
    jx_aval a = jx__val_aval(s);
    if (!t || t->status != JX_OK || (a.dtype != JX_I32 && a.dtype != JX_I64) || a.rank < 0) return s;
    jx__atom at;
    if (!jx__resolve(t, loc, "index", s, &at)) return s;
    if (at.var < 0 && a.rank == 0) /* a literal: wrapped now */
        return at.lit.i < 0 ? jx__lit_val(t, jx__lit_make(a.dtype, (double)(at.lit.i + n))) : s;
    jx_val z = jx_scalar_at(loc, a.dtype, 0);
    return jx_select_at(loc, jx_lt_at(loc, s, z), jx_add_at(loc, s, jx_scalar_at(loc, a.dtype, (double)n)), s);
}
