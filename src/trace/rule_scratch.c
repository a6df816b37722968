/* rule_scratch.c: the scratch state of grad's and vmap's rules that build nested
 * functions (see rule_scratch.h). */
#include <string.h>

#include "rule_scratch.h"

void jx__rs_init(jx__rs *r, const jx__eqn *e, const char *who, const void *cx) {
    memset(r, 0, sizeof *r);
    r->t = jx__trace_top();
    r->loc = e->loc;
    r->who = who;
    r->cx = cx;
}

jx_status jx__rs_done(jx__rs *r) {
    jx_status st = r->t->status;
    jx__arena_free(&r->s);
    return st;
}

void *jx__rs_alloc(jx__rs *r, size_t n) {
    void *p = jx__arena_alloc(&r->s, n ? n : 1);
    if (!p) jx__trace_fail(r->t, JX_ERR_NOMEM, r->loc, r->who, "out of memory");
    return p;
}

void jx__rs_pass_error(jx__rs *r) {
    if (jx__rs_ok(r))
        jx__trace_fail(r->t, jx_errcode() ? jx_errcode() : JX_ERR_INTERNAL, jx__noloc, NULL, "%s", jx_errmsg());
}

jx_fn *jx__rs_own(jx__rs *r, jx_fn *f) {
    if (!f) {
        jx__rs_pass_error(r);
        return NULL;
    }
    if (!jx__arena_keep_fn(&r->s, f)) jx__trace_fail(r->t, JX_ERR_NOMEM, r->loc, r->who, "out of memory");
    jx_fn_release(f);
    return jx__rs_ok(r) ? f : NULL;
}

jx__trace *jx__rs_begin(jx__rs *r, const char *name, int n, const jx_aval *av, jx_val *in) {
    if (!jx__rs_ok(r)) return NULL;
    jx__trace *t = jx__trace_begin(r->loc, name, n, av, in, false);
    if (!t) jx__rs_pass_error(r);
    return t;
}

jx_fn *jx__rs_end(jx__rs *r, jx__trace *t, int n, const jx_val *out) {
    return jx__rs_own(r, jx__trace_end(t, n, out, NULL, NULL));
}
