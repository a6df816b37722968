/* lower_conv.c: a conv the backend declines because of its lhs dilation or its padding,
 * for a backend that asks for it (conv_explicit_pads: the CUDA backend, whose cuDNN
 * forward takes neither a dilated input nor padding that differs between the ends),
 * becomes an explicit pad and a conv with neither: conv(x, w) with lhs dilation l and
 * padding lo/hi is conv(pad(x, 0, lo, hi, interior l - 1), w), as lax defines them (the
 * padding applies to the dilated input). The pad is a loop kernel (codegen_loop.c), so the
 * input gradient of a strided conv, which grad emits lhs-dilated, runs on the device: at
 * the price of a pass over the dilated input and cuDNN multiplying its zeros (the CUDA
 * backend takes grad's form, whose kernel is rev(transpose(w)), as cuDNN's backward data
 * instead, which skips them: such convs are not declined). Same sums as the conv, the
 * pad's zeros adding +0.0 products. The jit's pipeline applies it after simplify
 * (pipeline.c), once the kernels' form is final. */
#include "plan.h"

/* The high padding of spatial dim s: what the output's last window needs past the dilated input. */
static int64_t high_pad(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa, const jx_aval *ya, int s) {
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    int64_t in = (xa->shape[2 + s] - 1) * ld.v[s] + 1, ek = (wa->shape[2 + s] - 1) * rd.v[s] + 1;
    return (ya->shape[2 + s] - 1) * ws.v[s] + ek - in - lo.v[s];
}

/* lhs dilation, or padding at either end of any dim. */
static bool has_padding(const jx_fn *f, const jx__eqn *e) {
    jx_aval xa = jx__atom_aval(f, &e->in[0]), wa = jx__atom_aval(f, &e->in[1]);
    jx_ints lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO), ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    for (int s = 0; s < lo.n; s++)
        if (lo.v[s] != 0 || ld.v[s] != 1 || high_pad(e, &xa, &wa, &f->vars[e->out[0]], s) != 0) return true;
    return false;
}

bool jx__conv_lowerable(const jx__backend *be, const jx_fn *f, const jx__eqn *e) {
    if (!be->conv_explicit_pads || e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1) return false;
    jx_aval xa = jx__atom_aval(f, &e->in[0]);
    int nsp = xa.rank - 2;
    if (nsp < 1 || jx_aval_size(&xa) == 0 || jx__attr_ints(e->nattr, e->attrs, JX_A_LO).n != nsp ||
        jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION).n != nsp || !has_padding(f, e))
        return false;
    return !be->conv_ok(f, e);
}

jx_status jx__conv_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out) {
    jx_aval xa = jx__atom_aval(f, &e->in[0]), wa = jx__atom_aval(f, &e->in[1]), ya = f->vars[e->out[0]];
    int r = xa.rank, nsp = r - 2;
    jx_ints lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO), ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    int64_t plo[JX_MAX_RANK] = {0}, phi[JX_MAX_RANK] = {0}, gap[JX_MAX_RANK] = {0}, zero[JX_MAX_RANK] = {0},
            one[JX_MAX_RANK];
    for (int s = 0; s < nsp; s++) {
        plo[2 + s] = lo.v[s], phi[2 + s] = high_pad(e, &xa, &wa, &ya, s), gap[2 + s] = ld.v[s] - 1;
        one[s] = 1;
    }
    jx_val xp = jx_pad_at(loc, in[0], jx_scalar_like_at(loc, in[0], 0), (jx_ints){plo, r}, (jx_ints){phi, r},
                          (jx_ints){gap, r});
    jx_conv_opts o = {jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), {zero, nsp}, {zero, nsp}, {one, nsp},
                      jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION),
                      jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1)};
    out[0] = jx_conv_at(loc, xp, in[1], &o);
    return jx_errcode();
}
