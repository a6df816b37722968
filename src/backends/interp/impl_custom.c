/* impl_custom.c: reference implementations of custom_jvp_call, custom_vjp_call and
 * checkpoint (each evaluates its function fn: the derivative attributes only matter to
 * transformations), and of the tangent primitives grad makes of them, which evaluate
 * fn's jvp: the function grad attached to them (attribute jvp), so that no backend
 * depends on a transformation. */
#include <stdlib.h>

#include "../../trace/ir.h"

static jx_status no_fn(const jx__eqn *e) {
    return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "nested function missing");
}

static jx_status impl_fn(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *f = jx__eqn_fn(e, JX_A_FN, 0);
    (void)oav;
    return f ? jx__interp_eval(f, in, out) : no_fn(e);
}

/* custom_vjp_tangent / checkpoint_tangent: (x..., dx..., residuals...) -> jvp(x...,
 * dx...)'s tangent half; the residuals (custom_vjp's) only serve the transpose. */
static jx_status impl_tangent(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *jf = jx__eqn_fn(e, JX_A_JVP, 0);
    (void)oav;
    if (!jf) return no_fn(e);
    int m = e->nout;
    jx_array *ob[16], **o = 2 * m <= 16 ? ob : calloc((size_t)(2 * m), sizeof *o);
    jx_status st = o ? jx__interp_eval(jf, in, o) : jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
    for (int i = 0; st == JX_OK && i < m; i++) {
        jx_array_release(o[i]);
        out[i] = o[m + i];
    }
    if (o != ob) free(o);
    return st;
}

void jx__impl_register_custom(jx__impl_rule *t) {
    t[JX_PRIM_CHECKPOINT] = impl_fn;
    t[JX_PRIM_CUSTOM_JVP] = impl_fn;
    t[JX_PRIM_CUSTOM_VJP] = impl_fn;
    t[JX_PRIM_CUSTOM_VJP_TAN] = impl_tangent;
    t[JX_PRIM_CHECKPOINT_TAN] = impl_tangent;
}
