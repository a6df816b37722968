/* impl_collective.c: the interpreter's rules for the collectives (psum, pmax, pmin,
 * axis_index, all_gather). A vmap_named binding the axis name replaces them with
 * ordinary operations, so one that reaches the interpreter (or the jit, which runs it
 * through these rules) names an axis that no map binds: that is the user's error. */
#include "../../trace/ir.h"

static jx_status impl_unbound(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    (void)in, (void)oav, (void)out;
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    return jx__fail(JX_ERR_ARG, e->loc, jx__prims[e->prim].name,
                    "axis name '%s' is not bound by any vmap or pmap", name ? name : "?");
}

void jx__impl_register_collective(jx__impl_rule *t) {
    t[JX_PRIM_PSUM] = impl_unbound;
    t[JX_PRIM_PMAX] = impl_unbound;
    t[JX_PRIM_PMIN] = impl_unbound;
    t[JX_PRIM_AXIS_INDEX] = impl_unbound;
    t[JX_PRIM_ALL_GATHER] = impl_unbound;
}
