/* ops_loop.c: jx_fori_loop, a counted loop lowered to a scan so reverse mode works
 * (as jax.lax.fori_loop does with concrete bounds). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

/* What the scan body needs to call the user's body. */
typedef struct fori_user {
    jx_body body;
    void *user;
    jx_loc loc;
} fori_user;

/* The scan body: carry (i, c...) -> (i + 1, body(i, c...)). The user's body reads the
 * same input list (i first), so it is passed through unchanged. */
static void fori_body(jx_val *out, const jx_val *in, void *u) {
    const fori_user *f = u;
    f->body(out + 1, in, f->user);
    out[0] = jx_add_at(f->loc, in[0], jx_scalar_at(f->loc, JX_I32, 1));
}

/* Records a user mistake on the trace t. */
static void fori_fail(jx__trace *t, jx_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fori_fail(jx__trace *t, jx_loc loc, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    jx__trace_fail(t, JX_ERR_ARG, loc, "fori_loop", "%s", buf);
}

void jx_fori_loop_at(jx_loc loc, int64_t lower, int64_t upper, jx_body body, void *user, int n,
                     const jx_val *init, jx_val *out) {
    jx__trace *t = jx__trace_top();
    for (int i = 0; out && i < n; i++) out[i] = (jx_val){t ? t->id : 0, -1};
    if (!t) {
        jx__fail(JX_ERR_TRACE, loc, "fori_loop", "called outside of a trace (use jx_trace)");
        return;
    }
    if (t->status != JX_OK) return; /* errors are sticky */
    if (n < 0 || (n > 0 && (!init || !out))) {
        fori_fail(t, loc, "bad carry or output list (%d carries)", n);
        return;
    }
    if (!body) {
        fori_fail(t, loc, "body is NULL");
        return;
    }
    /* the counter is an i32 that ends at upper, so both bounds must be i32 values */
    if (lower < INT32_MIN || lower > INT32_MAX || upper < INT32_MIN || upper > INT32_MAX ||
        upper - lower > INT32_MAX) {
        fori_fail(t, loc, "bounds [%lld, %lld) do not fit an i32 counter", (long long)lower, (long long)upper);
        return;
    }
    jx_val *vals = malloc(sizeof *vals * (size_t)(2 * n + 2));
    if (!vals) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "fori_loop", "out of memory");
        return;
    }
    jx_val *ini = vals, *res = vals + n + 1;
    ini[0] = jx_scalar_at(loc, JX_I32, (double)lower);
    for (int i = 0; i < n; i++) ini[i + 1] = init[i];
    fori_user fu = {body, user, loc};
    int64_t trips = upper > lower ? upper - lower : 0;
    jx_scan_at(loc, fori_body, &fu, trips, 0, n + 1, ini, 0, NULL, 0, res);
    for (int i = 0; i < n; i++) out[i] = res[i + 1];
    free(vals);
}
