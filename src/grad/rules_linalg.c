/* rules_linalg.c: jvp and transpose rules for convolution and the windowed reductions
 * (conv_general_dilated, reduce_window_*, select_and_scatter_add, select_and_gather_add;
 * see prims.def). The conv transposes are JAX's _conv_general_dilated_transpose_lhs/_rhs
 * written for jx's fixed layout: lhs (N, C, spatial...), rhs (O, C/groups, spatial...). */
#include "grad.h"

/* e's primitive (or a sibling) on other operands with e's attributes: the window and
 * conv primitives all share theirs with their derivatives. */
static jx_val bind_same_attrs(const jx__eqn *e, jx_prim p, int nin, const jx_val *in) {
    return jx__bind_like(e, p, nin, in, e->nattr, e->attrs);
}

static jx_status fail_internal(const jx__eqn *e, const char *msg) {
    jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "%s", msg);
    return jx_trace_status();
}

/* Size of a dim of n elements with d-1 holes between neighbours (lax._dilate_shape). */
static int64_t dilate(int64_t n, int64_t d) { return n == 0 ? 0 : 1 + d * (n - 1); }

/* ------------------------------------------------------------------ convolution */

/* A conv equation's attributes, spatial lists padded to JX_MAX_RANK entries. */
typedef struct conv_attrs {
    int nsp;
    int64_t strides[JX_MAX_RANK], lo[JX_MAX_RANK], hi[JX_MAX_RANK], ldil[JX_MAX_RANK], rdil[JX_MAX_RANK];
    int64_t groups;
} conv_attrs;

static void conv_attrs_get(const jx__eqn *e, int nsp, conv_attrs *c) {
    static const jx__akey keys[5] = {JX_A_STRIDES, JX_A_LO, JX_A_HI, JX_A_LHS_DILATION, JX_A_RHS_DILATION};
    int64_t *dst[5] = {c->strides, c->lo, c->hi, c->ldil, c->rdil};
    c->nsp = nsp;
    for (int k = 0; k < 5; k++) {
        jx_ints v = jx__attr_ints(e->nattr, e->attrs, keys[k]);
        for (int d = 0; d < nsp; d++) dst[k][d] = d < v.n ? v.v[d] : (k == 1 || k == 2 ? 0 : 1);
    }
    c->groups = jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
}

static jx_val conv(jx_loc loc, jx_val lhs, jx_val rhs, int nsp, const int64_t *strides, const int64_t *lo,
                   const int64_t *hi, const int64_t *ldil, const int64_t *rdil, int64_t groups) {
    jx_conv_opts o = {{strides, nsp}, {lo, nsp}, {hi, nsp}, {ldil, nsp}, {rdil, nsp}, groups};
    return jx_conv_at(loc, lhs, rhs, &o);
}

/* Swaps dims 0 and 1 of x (rank r): batch <-> features, out <-> in channels. */
static jx_val swap01(jx_loc loc, jx_val x, int r) {
    int64_t perm[JX_MAX_RANK];
    for (int i = 0; i < r; i++) perm[i] = i;
    perm[0] = 1;
    perm[1] = 0;
    return jx_transpose_at(loc, x, (jx_ints){perm, r});
}

/* The group shuffles of the grouped transposes: x's dim `ax` (0 or 1, of g*a elements)
 * is split into (g, a), the first three axes are permuted by p3, and axes m, m+1 (m 0
 * or 1) merged. */
static jx_val regroup(jx_loc loc, jx_val x, int ax, int64_t g, const int64_t *p3, int m) {
    jx_aval a = jx__val_aval(x);
    int64_t s[JX_MAX_RANK + 1], perm[JX_MAX_RANK + 1], t[JX_MAX_RANK + 1], out[JX_MAX_RANK];
    int r = a.rank, k = 0;
    for (int i = 0; i < r; i++) {
        if (i == ax) {
            s[k++] = g;
            s[k++] = a.shape[i] / g;
        } else {
            s[k++] = a.shape[i];
        }
    }
    for (int i = 0; i <= r; i++) perm[i] = i < 3 ? p3[i] : i;
    for (int i = 0; i <= r; i++) t[i] = s[perm[i]];
    jx_val y = jx_transpose_at(loc, jx_reshape_at(loc, x, (jx_ints){s, r + 1}), (jx_ints){perm, r + 1});
    for (int i = 0, j = 0; i <= r; i++) {
        if (i == m + 1) continue;
        out[j++] = i == m ? t[m] * t[m + 1] : t[i];
    }
    return jx_reshape_at(loc, y, (jx_ints){out, r});
}

/* d lhs: conv of ct with the spatially reversed kernel whose in/out channels are swapped
 * within each group, strided by the forward's lhs dilation, dilated by its strides. */
static jx_val conv_transpose_lhs(const jx__eqn *e, const conv_attrs *c, jx_val ct, jx_val w,
                                 const jx_aval *lhs) {
    jx_loc loc = e->loc;
    jx_aval wa = jx__val_aval(w), ya = jx__val_aval(ct);
    int r = wa.rank, nsp = c->nsp;
    jx_val wt;
    if (c->groups == 1) {
        wt = swap01(loc, w, r);
    } else { /* (G*Og, Cg, k) -> (G, Og, Cg, k) -> (G, Cg, Og, k) -> (G*Cg, Og, k) */
        static const int64_t p3[3] = {0, 2, 1};
        wt = regroup(loc, w, 0, c->groups, p3, 0);
    }
    int64_t sp[JX_MAX_RANK], lo[JX_MAX_RANK], hi[JX_MAX_RANK];
    for (int d = 0; d < nsp; d++) {
        sp[d] = 2 + d;
        int64_t kd = dilate(wa.shape[2 + d], c->rdil[d]), ld = dilate(lhs->shape[2 + d], c->ldil[d]);
        int64_t od = dilate(ya.shape[2 + d], c->strides[d]);
        lo[d] = kd - c->lo[d] - 1;
        hi[d] = ld + kd - 1 - od - lo[d];
    }
    wt = jx_rev_at(loc, wt, (jx_ints){sp, nsp});
    return conv(loc, ct, wt, nsp, c->ldil, lo, hi, c->strides, c->rdil, c->groups);
}

/* d rhs: conv of lhs (batch and features swapped) with ct (likewise) as the kernel; with
 * groups, each group's channels move into the batch and the groups into the features,
 * so one grouped conv computes every group's kernel gradient. */
static jx_val conv_transpose_rhs(const jx__eqn *e, const conv_attrs *c, jx_val ct, jx_val x,
                                 const jx_aval *rhs) {
    jx_loc loc = e->loc;
    jx_aval xa = jx__val_aval(x), ya = jx__val_aval(ct);
    int r = xa.rank, nsp = c->nsp;
    jx_val xt;
    if (c->groups == 1) {
        xt = swap01(loc, x, r);
    } else { /* (N, G*Cg) -> (N, G, Cg) -> (Cg, G, N) -> (Cg, G*N) */
        static const int64_t p3[3] = {2, 1, 0};
        xt = regroup(loc, x, 1, c->groups, p3, 1);
    }
    int64_t hi[JX_MAX_RANK];
    for (int d = 0; d < nsp; d++) {
        int64_t kd = dilate(rhs->shape[2 + d], c->rdil[d]), ld = dilate(xa.shape[2 + d], c->ldil[d]);
        int64_t od = dilate(ya.shape[2 + d], c->strides[d]);
        hi[d] = (od - ld) + (kd - c->lo[d] - 1);
    }
    jx_val y = conv(loc, xt, swap01(loc, ct, r), nsp, c->rdil, c->lo, hi, c->ldil, c->strides, c->groups);
    return swap01(loc, y, r);
}

static jx_status jvp_conv(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    jx_val a = JX_ZERO, b = JX_ZERO;
    if (!jx__is_zero(dx[0])) a = bind_same_attrs(e, JX_PRIM_CONV, 2, (jx_val[2]){dx[0], x[1]});
    if (!jx__is_zero(dx[1])) b = bind_same_attrs(e, JX_PRIM_CONV, 2, (jx_val[2]){x[0], dx[1]});
    dy[0] = jx__add_tan(e->loc, a, b);
    return jx_trace_status();
}

/* conv is bilinear: linear in one operand at a time, the other a residual. */
static jx_status tr_conv(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                         const jx_val *ct, jx_val *ct_in) {
    if (lin[0] && lin[1]) return fail_internal(e, "transpose of a convolution of two tangents");
    conv_attrs c;
    conv_attrs_get(e, av[0].rank - 2, &c);
    int l = lin[0] ? 0 : 1;
    jx_aval ya = jx__val_aval(ct[0]);
    if (jx_aval_size(&ya) == 0) /* a degenerate conv would follow: nothing flows anyway */
        ct_in[l] = jx__zeros(e->loc, &av[l]);
    else if (l == 0)
        ct_in[0] = conv_transpose_lhs(e, &c, ct[0], x[1], &av[0]);
    else
        ct_in[1] = conv_transpose_rhs(e, &c, ct[0], x[0], &av[1]);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ windows */

/* Linear in its one operand: the same primitive on the tangent. */
static jx_status jvp_reduce_window_sum(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y,
                                       jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = bind_same_attrs(e, JX_PRIM_REDUCE_WINDOW_SUM, 1, dx);
    return jx_trace_status();
}

/* Every input element adds into the windows that cover it: pad the cotangent (holes for
 * the strides, edges so every window position is seen) and sum it over the same window
 * with stride 1 (JAX's _reduce_window_sum_transpose_rule; the window of ones is its own
 * reversal). */
static jx_status tr_reduce_window_sum(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                      const jx_val *ct, jx_val *ct_in) {
    (void)x;
    (void)lin;
    jx_aval ya = jx__val_aval(ct[0]);
    int r = av[0].rank;
    jx_ints win = jx__attr_ints(e->nattr, e->attrs, JX_A_WINDOW);
    jx_ints strides = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES);
    jx_ints plo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    if (win.n != r || strides.n != r || plo.n != r) return fail_internal(e, "window attributes do not match the operand");
    int64_t lo[JX_MAX_RANK], hi[JX_MAX_RANK], interior[JX_MAX_RANK], ones[JX_MAX_RANK], zeros[JX_MAX_RANK];
    for (int d = 0; d < r; d++) {
        int64_t od = dilate(ya.shape[d], strides.v[d]);
        lo[d] = win.v[d] - plo.v[d] - 1;
        hi[d] = av[0].shape[d] + win.v[d] - 1 - od - lo[d];
        interior[d] = strides.v[d] - 1;
        ones[d] = 1;
        zeros[d] = 0;
    }
    jx_val p = jx_pad_at(e->loc, ct[0], jx_scalar_like_at(e->loc, ct[0], 0), (jx_ints){lo, r}, (jx_ints){hi, r},
                         (jx_ints){interior, r});
    ct_in[0] = jx_reduce_window_at(e->loc, p, JX_WINDOW_SUM, win, (jx_ints){ones, r}, (jx_ints){zeros, r},
                                   (jx_ints){zeros, r});
    return jx_trace_status();
}

/* The tangent of a max window is the tangent at its first maximum; a min window's is at
 * the first maximum of -x (padding, -inf after negation too, never wins). */
static jx_status jvp_reduce_window_ext(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y,
                                       jx_val *dy) {
    jx__rebind(e, x, y);
    jx_val sel = e->prim == JX_PRIM_REDUCE_WINDOW_MIN ? jx_neg_at(e->loc, x[0]) : x[0];
    dy[0] = bind_same_attrs(e, JX_PRIM_SELECT_AND_GATHER_ADD, 2, (jx_val[2]){dx[0], sel});
    return jx_trace_status();
}

/* select_and_gather_add (t, x) and select_and_scatter_add (source, x) are linear in
 * their first operand and piecewise constant in x; each transposes to the other. */
static jx_status jvp_select_and_add(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y,
                                    jx_val *dy) {
    jx__rebind(e, x, y);
    if (!jx__is_zero(dx[0])) dy[0] = bind_same_attrs(e, (jx_prim)e->prim, 2, (jx_val[2]){dx[0], x[1]});
    return jx_trace_status();
}

static jx_status tr_select_and_add(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                                   const jx_val *ct, jx_val *ct_in) {
    (void)av;
    if (lin[1]) return fail_internal(e, "transpose with respect to the selecting operand");
    jx_prim other = e->prim == JX_PRIM_SELECT_AND_GATHER_ADD ? JX_PRIM_SELECT_AND_SCATTER_ADD
                                                             : JX_PRIM_SELECT_AND_GATHER_ADD;
    ct_in[0] = bind_same_attrs(e, other, 2, (jx_val[2]){ct[0], x[1]});
    return jx_trace_status();
}

void jx__grad_register_linalg(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_CONV] = jvp_conv;
    jvp[JX_PRIM_REDUCE_WINDOW_SUM] = jvp_reduce_window_sum;
    jvp[JX_PRIM_REDUCE_WINDOW_MAX] = jvp_reduce_window_ext;
    jvp[JX_PRIM_REDUCE_WINDOW_MIN] = jvp_reduce_window_ext;
    jvp[JX_PRIM_SELECT_AND_GATHER_ADD] = jvp_select_and_add;
    jvp[JX_PRIM_SELECT_AND_SCATTER_ADD] = jvp_select_and_add;
    tr[JX_PRIM_CONV] = tr_conv;
    tr[JX_PRIM_REDUCE_WINDOW_SUM] = tr_reduce_window_sum;
    tr[JX_PRIM_SELECT_AND_GATHER_ADD] = tr_select_and_add;
    tr[JX_PRIM_SELECT_AND_SCATTER_ADD] = tr_select_and_add;
}
