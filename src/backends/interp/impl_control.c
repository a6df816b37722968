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
    int i;
    jx_status st = jx__branch_index(in[0], a->n, &i);
    return st == JX_OK ? jx__interp_eval(a->u.fns[i], in + 1, out) : st;
}

/* The interpreter's nested function k (while: cond, body; scan: body) on args. */
static jx_status run_nested(void *ctx, int k, jx_array *const *args, const bool *don, jx_array **res) {
    const jx_fn *const *fns = ctx;
    (void)don;
    return jx__interp_eval(fns[k], args, res);
}

static jx_status impl_while(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *fns[2] = {jx__eqn_fn(e, JX_A_COND, 0), jx__eqn_fn(e, JX_A_BODY, 0)};
    (void)oav;
    if (!fns[0] || !fns[1]) return no_fn(e);
    return jx__while_run(e, in, out, &(jx__loop_ops){.ctx = fns, .run = run_nested});
}

static jx_status impl_scan(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *fns[1] = {jx__eqn_fn(e, JX_A_BODY, 0)};
    if (!fns[0]) return no_fn(e);
    return jx__scan_run(e, in, oav, out, &(jx__loop_ops){.ctx = fns, .run = run_nested});
}

void jx__impl_register_control(jx__impl_rule *t) {
    t[JX_PRIM_CALL] = impl_call;
    t[JX_PRIM_COND] = impl_cond;
    t[JX_PRIM_WHILE] = impl_while;
    t[JX_PRIM_SCAN] = impl_scan;
}
