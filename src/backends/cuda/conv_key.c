/* conv_key.c: jx's conv equations mapped onto cuDNN's calls (conv_key.h): a forward
 * conv as cudnnConvolutionForward (jx's padding, strides and rhs dilation as cuDNN's, a
 * 1-D conv as a 2-D one of height 1, NHWC views through strides), grad's input gradient
 * as backward data of its kernel's own conv, grad's kernel gradient as backward filter.
 * Each checks that cuDNN's symmetric padding and output-size formula give jx's windows. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../interp/strided.h"
#include "conv_key.h"

static bool fits(int64_t v) { return v > 0 && v <= INT_MAX; }

void jx__dnn_packed_strides(int nd, const int *dims, int *st) {
    st[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) st[d] = st[d + 1] * dims[d + 1];
}

/* k's strides of x and y: st[0] and st[2] (a 2-D conv's view, jx__conv_view; the filter
 * packed, cuDNN's filters having no strides), or packed when st is NULL. */
static bool key_strides(jx__dnn_key *k, const int64_t (*st)[4]) {
    jx__dnn_packed_strides(k->nd, k->x, k->xs);
    jx__dnn_packed_strides(k->nd, k->y, k->ys);
    if (!st) return true;
    int ws[5];
    jx__dnn_packed_strides(k->nd, k->w, ws);
    for (int d = 0; d < 4; d++)
        if (k->nd != 4 || st[1][d] != ws[d] || !fits(st[0][d]) || !fits(st[2][d])) return false;
    for (int d = 0; d < 4; d++) k->xs[d] = (int)st[0][d], k->ys[d] = (int)st[2][d];
    return true;
}

/* Maps e (operand avals xa, wa; result ya; st: strides of a view, or NULL) onto cuDNN's
 * forward conv; false when it does not fit. */
static bool key_make(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa, const jx_aval *ya, bool tf32,
                     const int64_t (*st)[4], jx__dnn_key *k) {
    if (xa->dtype != wa->dtype || (xa->dtype != JX_F32 && xa->dtype != JX_F64)) return false;
    int r = xa->rank, nsp = r - 2;
    if (r < 3 || r > 5 || wa->rank != r || ya->rank != r) return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    int64_t groups = jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
    if (ws.n != nsp || lo.n != nsp || ld.n != nsp || rd.n != nsp || !fits(groups)) return false;
    memset(k, 0, sizeof *k);
    k->dtype = xa->dtype;
    k->tf32 = tf32 && xa->dtype == JX_F32;
    k->groups = (int)groups;
    k->nd = r == 3 ? 4 : r; /* a 1-D conv as a 2-D one of height 1 */
    int skip = k->nd - r;   /* the inserted dim */
    for (int i = 0; i < k->nd - 2; i++) k->pad[i] = 0, k->stride[i] = k->dil[i] = 1;
    for (int d = 0; d < r; d++) {
        int at = d < 2 ? d : d + skip;
        if (!fits(xa->shape[d]) || !fits(wa->shape[d]) || !fits(ya->shape[d])) return false;
        k->x[at] = (int)xa->shape[d], k->w[at] = (int)wa->shape[d], k->y[at] = (int)ya->shape[d];
    }
    for (int i = 0; i < skip; i++) k->x[2 + i] = k->w[2 + i] = k->y[2 + i] = 1;
    for (int s = 0; s < nsp; s++) {
        int64_t in = xa->shape[2 + s], kk = wa->shape[2 + s], out = ya->shape[2 + s];
        int64_t ek = (kk - 1) * rd.v[s] + 1, hi = (out - 1) * ws.v[s] + ek - in - lo.v[s];
        /* cuDNN pads both sides by lo: the same windows as jx's when no high padding
         * beyond lo is needed and cuDNN's output count is jx's */
        if (ld.v[s] != 1 || lo.v[s] < 0 || hi > lo.v[s] || !fits(ws.v[s]) || !fits(rd.v[s]) || lo.v[s] > INT_MAX)
            return false;
        if (in + 2 * lo.v[s] < ek || (in + 2 * lo.v[s] - ek) / ws.v[s] + 1 != out) return false;
        k->pad[s + skip] = (int)lo.v[s], k->stride[s + skip] = (int)ws.v[s], k->dil[s + skip] = (int)rd.v[s];
    }
    return (int64_t)k->w[1] * k->groups == k->x[1] && k->w[0] % k->groups == 0 && key_strides(k, st);
}

bool jx__dnn_key_fwd(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], jx__dnn_key *k) {
    if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1 || e->in[0].var < 0 || e->in[1].var < 0) return false;
    return key_make(e, &f->vars[e->in[0].var], &f->vars[e->in[1].var], &f->vars[e->out[0]], tf32, st, k);
}

/* Maps e, an input gradient's conv (jx__conv_bwd_chain: its lhs dy, w behind its kernel,
 * its result dx), onto cuDNN's backward data of w's forward conv dx (N,C,H,W) ->
 * dy (N,O,Ho,Wo): padding d(k-1) - lo on both sides, stride e's lhs dilation, dilation
 * e's rhs dilation (e's own strides 1). Its adjoint sums dy[o] w[t] into dx[o s - p + t d],
 * which is e whatever e's high padding, when cuDNN's forward maps H to Ho. st: the view's
 * strides of dy, w, dx (jx__conv_view), or NULL. */
bool jx__dnn_key_bwd_data(const jx_fn *f, const jx__eqn *e, int32_t w, bool tf32, const int64_t (*st)[4],
                          jx__dnn_key *k) {
    if (w < 0 || e->nin != 2 || e->in[0].var < 0) return false;
    const jx_aval *ya = &f->vars[e->in[0].var], *wa = &f->vars[w], *xa = &f->vars[e->out[0]];
    if (xa->dtype != wa->dtype || ya->dtype != wa->dtype || (wa->dtype != JX_F32 && wa->dtype != JX_F64)) return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    if (ws.n != 2 || lo.n != 2 || ld.n != 2 || rd.n != 2) return false;
    if (ya->shape[0] != xa->shape[0] || ya->shape[1] != wa->shape[0] || xa->shape[1] != wa->shape[1]) return false;
    memset(k, 0, sizeof *k);
    k->dtype = wa->dtype, k->tf32 = tf32 && wa->dtype == JX_F32, k->groups = 1, k->nd = 4, k->mode = JX__DNN_BWD_DATA;
    for (int d = 0; d < 4; d++) {
        if (!fits(xa->shape[d]) || !fits(wa->shape[d]) || !fits(ya->shape[d])) return false;
        k->x[d] = (int)xa->shape[d], k->w[d] = (int)wa->shape[d], k->y[d] = (int)ya->shape[d];
    }
    for (int s = 0; s < 2; s++) {
        int64_t ek = (wa->shape[2 + s] - 1) * rd.v[s] + 1, pad = ek - 1 - lo.v[s], in = xa->shape[2 + s];
        if (ws.v[s] != 1 || pad < 0 || pad > INT_MAX || !fits(ld.v[s]) || !fits(rd.v[s])) return false;
        if (in + 2 * pad < ek || (in + 2 * pad - ek) / ld.v[s] + 1 != ya->shape[2 + s]) return false;
        k->pad[s] = (int)pad, k->stride[s] = (int)ld.v[s], k->dil[s] = (int)rd.v[s];
    }
    if (!st) return key_strides(k, NULL);
    const int64_t sw[3][4] = {{st[2][0], st[2][1], st[2][2], st[2][3]}, {st[1][0], st[1][1], st[1][2], st[1][3]},
                              {st[0][0], st[0][1], st[0][2], st[0][3]}}; /* cuDNN's x is jx's result */
    return key_strides(k, sw);
}

/* Maps e, whose result is read through a transpose (1,0,2,3) in its group, onto cuDNN's
 * backward filter: jx's conv L (A,B,H,W) * R (D,B,Ho,Wo) -> (A,D,kh,kw) sums
 * L[a, b, r S - lo + y Dl] R[d, b, y] over b and y, which is the kernel gradient
 * dw[d, a, r] of a forward conv of x = L^T (B,A,H,W) giving dy = R^T (B,D,Ho,Wo) with
 * padding lo on both sides, stride Dl (e's rhs dilation) and dilation S (e's strides), when
 * cuDNN's forward maps H to Ho (positions past H are zeros either way). x and dy are read
 * through the view's strides (any), dw written packed (O,C,kh,kw): the transposed result.
 * st NULL: whether it could be (the result's one reader such a transpose), for operands
 * packed in their own dims. grad writes a
 * conv's kernel gradient so, with an image-sized "kernel" R. */
bool jx__dnn_key_bwd_filter(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], jx__dnn_key *k) {
    if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1 || e->in[0].var < 0 ||
        e->in[1].var < 0 || jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1) != 1)
        return false;
    const jx_aval *la = &f->vars[e->in[0].var], *ra = &f->vars[e->in[1].var], *oa = &f->vars[e->out[0]];
    if (la->rank != 4 || ra->rank != 4 || oa->rank != 4 || la->dtype != ra->dtype ||
        (la->dtype != JX_F32 && la->dtype != JX_F64) || la->shape[1] != ra->shape[1])
        return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    if (ws.n != 2 || lo.n != 2 || ld.n != 2 || rd.n != 2) return false;
    memset(k, 0, sizeof *k);
    k->dtype = la->dtype, k->tf32 = tf32 && la->dtype == JX_F32, k->groups = 1, k->nd = 4, k->mode = JX__DNN_BWD_FILTER;
    static const int swap[4] = {1, 0, 2, 3}; /* jx's (A,B,..) is cuDNN's (B,A,..) */
    int64_t lp[4], rp[4];
    jx__row_strides(4, la->shape, lp);
    jx__row_strides(4, ra->shape, rp);
    for (int d = 0; d < 4; d++) {
        int64_t xs = st ? st[0][swap[d]] : lp[swap[d]], ys = st ? st[1][swap[d]] : rp[swap[d]];
        if (!fits(la->shape[swap[d]]) || !fits(ra->shape[swap[d]]) || !fits(oa->shape[swap[d]]) || !fits(xs) ||
            !fits(ys))
            return false;
        k->x[d] = (int)la->shape[swap[d]], k->y[d] = (int)ra->shape[swap[d]], k->w[d] = (int)oa->shape[swap[d]];
        k->xs[d] = (int)xs, k->ys[d] = (int)ys;
    }
    if (st) { /* the result stored as packed (D,A,kh,kw) */
        int ws4[4];
        jx__dnn_packed_strides(4, k->w, ws4);
        for (int d = 0; d < 4; d++)
            if (st[2][swap[d]] != ws4[d]) return false;
    } else { /* the result read by a transpose (1,0,2,3) alone */
        const jx__eqn *t = jx__conv_result_transpose(f, e);
        jx_ints perm = t ? jx__attr_ints(t->nattr, t->attrs, JX_A_PERM) : (jx_ints){NULL, 0};
        for (int d = 0; d < 4; d++)
            if (perm.n != 4 || perm.v[d] != swap[d]) return false;
    }
    for (int s = 0; s < 2; s++) {
        int64_t in = la->shape[2 + s], kk = oa->shape[2 + s], ek = (kk - 1) * ws.v[s] + 1, pad = lo.v[s];
        if (ld.v[s] != 1 || pad < 0 || pad > INT_MAX || !fits(ws.v[s]) || !fits(rd.v[s])) return false;
        if (in + 2 * pad < ek || (in + 2 * pad - ek) / rd.v[s] + 1 != ra->shape[2 + s]) return false;
        k->pad[s] = (int)pad, k->stride[s] = (int)rd.v[s], k->dil[s] = (int)ws.v[s];
    }
    return true;
}
