/* impl_collective.c: the interpreter's rules for pmap and the collectives (psum, pmax,
 * pmin, all_gather, ppermute, all_to_all, axis_index). A vmap_named binding the axis
 * name replaces the collectives with ordinary operations; under a pmap they run in the
 * devices' threads through src/backends/collective.c (the jit's OPAQUE steps come here
 * too). Anywhere else the axis name is unbound: the user's error at its line. */
#include "../collective.h"

static jx_status impl_collective(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    return jx__collective_run(e, e->nin ? in[0] : NULL, &oav[0], out);
}

/* One device's run of the body: the interpreter itself. */
static jx_status run_body(void *ctx, int device, jx_array *const *in, jx_array **out) {
    (void)device;
    return jx__interp_eval(ctx, in, out);
}

static jx_status impl_pmap(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_fn *f = jx__eqn_fn(e, JX_A_FN, 0);
    if (!f) return jx__fail(JX_ERR_INTERNAL, e->loc, "pmap", "nested function missing");
    return jx__pmap_run(e, in, oav, out, run_body, (void *)f);
}

void jx__impl_register_collective(jx__impl_rule *t) {
    t[JX_PRIM_PSUM] = impl_collective;
    t[JX_PRIM_PMAX] = impl_collective;
    t[JX_PRIM_PMIN] = impl_collective;
    t[JX_PRIM_AXIS_INDEX] = impl_collective;
    t[JX_PRIM_ALL_GATHER] = impl_collective;
    t[JX_PRIM_PPERMUTE] = impl_collective;
    t[JX_PRIM_ALL_TO_ALL] = impl_collective;
    t[JX_PRIM_PMAP] = impl_pmap;
}
