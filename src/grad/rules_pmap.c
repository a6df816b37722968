/* rules_pmap.c: jvp and transpose rules of pmap. As for cond, the jvp emits two pmaps
 * over the same devices: a primal one running the known part of the body's jvp, which
 * also returns the residuals (each device's, stacked along axis 0), and a tangent one
 * running the linear part on (residuals, tangents). The tangent pmap's transpose is the
 * pmap of the transposed body: cotangents enter mapped as the outputs were, and leave
 * mapped as the inputs were; an input every device saw whole (not mapped) gets the sum
 * of the devices' cotangents, and an output taken from device 0 sends its cotangent to
 * device 0 alone. Collectives inside the body keep their own rules (psum's transpose is
 * psum), so grad of a pmap equals grad of the vmap it means. */
#include "grad.h"
#include "rule_scratch.h"

typedef struct pm {
    const jx_fn *f;
    const char *name;
    int64_t n;
    jx_ints ia, oa;
} pm;

static pm pm_of(const jx__eqn *e) {
    pm p = {jx__eqn_fn(e, JX_A_FN, 0), jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME),
            jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, 1), jx__attr_ints(e->nattr, e->attrs, JX_A_IN_AXES),
            jx__attr_ints(e->nattr, e->attrs, JX_A_OUT_AXES)};
    return p;
}

static jx_status jvp_pmap(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rs c;
    jx__rs_init(&c, e, "grad", NULL);
    pm p = pm_of(e);
    int n = e->nin, m = e->nout, nt = 0, nw = 0;
    bool *has = JX_RS_NEW(&c, bool, n), *want = JX_RS_NEW(&c, bool, m);
    int *wj = JX_RS_NEW(&c, int, m);
    jx__split s;
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < n; i++) nt += has[i] = !jx__is_zero(dx[i]);
    for (int j = 0; j < m; j++) {
        dy[j] = JX_ZERO;
        if ((want[j] = jx__differentiable(jx__atom_aval(p.f, &p.f->out[j]).dtype))) wj[nw++] = j;
    }
    jx_fn *J = jx__grad_jvp_fn(&c, p.f, has, want, NULL);
    if (!J || !jx__grad_split_fn(&c, J, n, &s) || !jx__grad_primal_known(&c, &s, m)) return jx__rs_done(&c);
    /* the primal pmap: (x...) -> (known outputs..., residuals...) */
    int nk = s.known->nout, nl = s.lin->nout, k = 0;
    jx_val *kout = JX_RS_NEW(&c, jx_val, nk), *ops = JX_RS_NEW(&c, jx_val, s.nres + nt), *lout = JX_RS_NEW(&c, jx_val, nl);
    int *dims = JX_RS_NEW(&c, int, n + nk + s.nres + nt + nl);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    int *kin = dims, *kod = dims + n, *lin = kod + nk, *lod = lin + s.nres + nt;
    for (int i = 0; i < n; i++) kin[i] = (int)p.ia.v[i];
    for (int q = 0; q < J->nout; q++) /* J's output q: y_q, or the tangent of y_wj[q - m] */
        if (s.ok[q]) kod[k++] = (int)p.oa.v[q < m ? q : wj[q - m]];
    for (int r = 0; r < s.nres; r++) kod[k++] = 0;
    jx__pmap_bind(e->loc, s.known, p.name, p.n, kin, kod, x, kout);
    /* the tangent pmap: (residuals..., dx...) -> (the other tangents...) */
    k = 0;
    for (int r = 0; r < s.nres; r++) ops[k] = kout[s.nko + r], lin[k++] = 0;
    for (int i = 0; i < n; i++)
        if (has[i]) ops[k] = dx[i], lin[k++] = (int)p.ia.v[i];
    for (int q = m, l = 0; q < J->nout; q++)
        if (!s.ok[q]) lod[l++] = (int)p.oa.v[wj[q - m]];
    if (nl && jx__rs_ok(&c)) jx__pmap_bind(e->loc, s.lin, p.name, p.n, lin, lod, ops, lout);
    for (int q = 0, a = 0, l = 0; q < J->nout && jx__rs_ok(&c); q++) {
        jx_val v = s.ok[q] ? kout[a++] : lout[l++];
        if (q < m) y[q] = v;
        else dy[wj[q - m]] = v;
    }
    return jx__rs_done(&c);
}

/* ct of an output taken from device 0, as the mapped cotangent [ct, 0, ..., 0]. */
static jx_val to_device0(jx_loc loc, jx_val ct, int64_t n) {
    int64_t zero = 0;
    jx_val first = jx_expand_dims_at(loc, ct, (jx_ints){&zero, 1});
    if (n == 1) return first;
    jx_aval a = jx__val_aval(first);
    a.shape[0] = n - 1;
    jx_val parts[2] = {first, jx_broadcast_to_at(loc, jx_zeros_like_at(loc, first), (jx_ints){a.shape, a.rank})};
    return jx_concatenate_at(loc, 2, parts, 0);
}

static jx_status tr_pmap(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct,
                         jx_val *ct_in) {
    (void)av;
    jx__rs c;
    jx__rs_init(&c, e, "grad", NULL);
    pm p = pm_of(e);
    int n = e->nin, m = e->nout, k = 0, nl = 0;
    bool *ctm = JX_RS_NEW(&c, bool, m);
    int *dims = JX_RS_NEW(&c, int, n + m + 1);
    jx_val *ops = JX_RS_NEW(&c, jx_val, n + m), *outs = JX_RS_NEW(&c, jx_val, n);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int j = 0; j < m; j++) ctm[j] = !jx__is_zero(ct[j]);
    jx_fn *tf = jx__grad_transpose_fn(&c, p.f, lin, ctm);
    if (!tf) return jx__rs_done(&c);
    for (int i = 0; i < n; i++)
        if (!lin[i]) ops[k] = x[i], dims[k++] = (int)p.ia.v[i];
    for (int j = 0; j < m; j++) {
        if (!ctm[j]) continue;
        bool mapped = p.oa.v[j] >= 0;
        ops[k] = mapped ? ct[j] : to_device0(e->loc, ct[j], p.n);
        dims[k++] = mapped ? (int)p.oa.v[j] : 0;
    }
    int *od = dims + k;
    for (int i = 0; i < n; i++)
        if (lin[i]) od[nl++] = p.ia.v[i] >= 0 ? (int)p.ia.v[i] : 0;
    jx__pmap_bind(e->loc, tf, p.name, p.n, dims, od, ops, outs);
    for (int i = 0, q = 0; i < n && jx__rs_ok(&c); i++) {
        if (!lin[i]) continue;
        jx_val v = outs[q++];
        if (p.ia.v[i] < 0) { /* every device's cotangent of the input they all saw */
            int64_t zero = 0;
            v = jx_reduce_sum_at(e->loc, v, (jx_ints){&zero, 1});
        }
        ct_in[i] = v;
    }
    return jx__rs_done(&c);
}

void jx__grad_register_pmap(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_PMAP] = jvp_pmap;
    tr[JX_PRIM_PMAP] = tr_pmap;
}
