/* nn_util.c: see nn_util.h. */
#include <stdarg.h>
#include <stdio.h>

#include "nn_util.h"

jx_val jx__nn_fail(jx_loc loc, jx_status code, const char *what, const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jx_error_at(loc, code, what, "%s", msg);
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
