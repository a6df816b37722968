/* rules_linalg.c: batch rules for the contractions and windows: dot_general,
 * conv_general_dilated, reduce_window_*, select_and_scatter_add, select_and_gather_add
 * (see prims.def). None of them loops over the mapped axis: dot_general takes it as a
 * batch or free dimension, a convolution folds it into its batch, output channels or
 * feature groups (JAX's _conv_general_dilated_batch_rule for jx's fixed layout: lhs
 * (N, C, spatial...), rhs (O, C/groups, spatial...)), and the windows get a window of
 * one on it. */
#include "vmap.h"

/* ------------------------------------------------------------------ attribute edits */

#define MAX_EDIT_ATTRS 16

/* A copy of an equation's attributes, edited before rebinding: int lists that change
 * are rebuilt in `store` (one row per edited list). */
typedef struct attr_edit {
    int n;
    jx__attr a[MAX_EDIT_ATTRS];
    int64_t store[MAX_EDIT_ATTRS][JX_MAX_RANK + 1];
} attr_edit;

/* Starts an edit of e's attributes; false (error recorded) if e has too many. */
static bool edit_begin(attr_edit *ed, const jx__eqn *e) {
    if (e->nattr > MAX_EDIT_ATTRS) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name,
                       "vmap: %d attributes, more than the batch rule handles", e->nattr);
        return false;
    }
    ed->n = e->nattr;
    for (int i = 0; i < e->nattr; i++) ed->a[i] = e->attrs[i];
    return true;
}

/* Sets the int attribute k (added when absent). */
static void edit_set_int(attr_edit *ed, jx__akey k, int64_t v) {
    for (int i = 0; i < ed->n; i++)
        if (ed->a[i].key == k) {
            ed->a[i] = jx__a_int(k, v);
            return;
        }
    if (ed->n < MAX_EDIT_ATTRS) ed->a[ed->n++] = jx__a_int(k, v);
}

/* Inserts v at position pos of the int list k (a list of at most JX_MAX_RANK entries
 * present in the attributes; left as it is otherwise, for the shape rule to report). */
static void edit_insert(attr_edit *ed, jx__akey k, int pos, int64_t v) {
    for (int i = 0; i < ed->n; i++) {
        jx__attr *a = &ed->a[i];
        if (a->key != k || a->kind != JX_AK_INTS || a->n > JX_MAX_RANK || pos > a->n) continue;
        int64_t *s = ed->store[i];
        for (int j = 0, m = 0; j <= a->n; j++) s[j] = j == pos ? v : a->u.ints[m++];
        *a = jx__a_ints(k, (jx_ints){s, a->n + 1});
        return;
    }
}

/* ------------------------------------------------------------------ dot_general */

/* dims of one operand renumbered for its batched form (mapped axis at b). */
static void shift_dims(jx_ints d, int b, int64_t *out) {
    for (int i = 0; i < d.n; i++) out[i] = b != JX_NOBATCH && d.v[i] >= b ? d.v[i] + 1 : d.v[i];
}

/* Free dims (neither contracting nor batch) of an operand of rank r below `below`. */
static int free_below(int r, jx_ints c, jx_ints bt, int below) {
    int n = 0;
    for (int d = 0; d < r && d < below; d++) {
        bool used = false;
        for (int i = 0; i < c.n; i++) used |= c.v[i] == d;
        for (int i = 0; i < bt.n; i++) used |= bt.v[i] == d;
        n += !used;
    }
    return n;
}

/* Both mapped: a new leading batch pair, the output's mapped axis first. One mapped:
 * the axis is a free dim of that operand and lands where dot_general puts free dims,
 * so the other operand is never copied and nothing is transposed. */
static jx_status batch_dot(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                           jx_val *y, int *ydim) {
    (void)cx;
    jx_ints lc = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_CONTRACT);
    jx_ints rc = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_CONTRACT);
    jx_ints lb = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_BATCH);
    jx_ints rb = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_BATCH);
    if (lc.n > JX_MAX_RANK || rc.n > JX_MAX_RANK || lb.n >= JX_MAX_RANK || rb.n >= JX_MAX_RANK) {
        jx__trace_fail(jx__trace_top(), JX_ERR_ARG, e->loc, "dot_general",
                       "vmap: too many dimensions listed");
        return jx_trace_status();
    }
    int bl = bdim[0], br = bdim[1];
    bool both = bl != JX_NOBATCH && br != JX_NOBATCH;
    int64_t nlc[JX_MAX_RANK], nrc[JX_MAX_RANK], nlb[JX_MAX_RANK + 1], nrb[JX_MAX_RANK + 1];
    shift_dims(lc, bl, nlc);
    shift_dims(rc, br, nrc);
    shift_dims(lb, bl, nlb + both);
    shift_dims(rb, br, nrb + both);
    int nb = lb.n + both;
    if (both) {
        nlb[0] = bl;
        nrb[0] = br;
    }
    jx_ints jlc = {nlc, lc.n}, jrc = {nrc, rc.n}, jlb = {nlb, nb}, jrb = {nrb, nb};
    jx__attr at[4] = {jx__a_ints(JX_A_LHS_CONTRACT, jlc), jx__a_ints(JX_A_RHS_CONTRACT, jrc),
                      jx__a_ints(JX_A_LHS_BATCH, jlb), jx__a_ints(JX_A_RHS_BATCH, jrb)};
    y[0] = jx__bind1(e->loc, JX_PRIM_DOT_GENERAL, 2, x, 4, at);
    int lrank = jx_rank(x[0]), rrank = jx_rank(x[1]);
    if (both)
        ydim[0] = 0;
    else if (bl != JX_NOBATCH)
        ydim[0] = nb + free_below(lrank, jlc, jlb, bl);
    else
        ydim[0] = nb + free_below(lrank, jlc, jlb, lrank) + free_below(rrank, jrc, jrb, br);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ convolution */

/* x with its dims [at, at+nold) replaced by the nnew dims in dims[] (one reshape; the
 * sizes are given, so nothing is divided by a zero size). A result above JX_MAX_RANK is
 * reshape's error to report. */
static jx_val regroup(jx_loc loc, jx_val x, int at, int nold, const int64_t *dims, int nnew) {
    jx_aval a = jx__val_aval(x);
    if (at < 0 || at + nold > a.rank) return x; /* invalid value: the error is on the trace */
    int64_t s[2 * JX_MAX_RANK];
    int k = 0;
    for (int i = 0; i < at; i++) s[k++] = a.shape[i];
    for (int i = 0; i < nnew; i++) s[k++] = dims[i];
    for (int i = at + nold; i < a.rank; i++) s[k++] = a.shape[i];
    return jx_reshape_at(loc, x, (jx_ints){s, k});
}

/* x with dims at and at+1 merged into one: (.., A, D, ..) -> (.., A*D, ..). */
static jx_val merge(jx_loc loc, jx_val x, int at) {
    jx_aval a = jx__val_aval(x);
    if (at < 0 || at + 1 >= a.rank) return x;
    int64_t m = a.shape[at] * a.shape[at + 1];
    return regroup(loc, x, at, 2, &m, 1);
}

/* x (mapped axis at b; broadcast if JX_NOBATCH) with the mapped axis folded into dim
 * `into` of the unbatched layout, mapped index major: (.., B, D, ..) -> (.., B*D, ..). */
static jx_val fold(const jx__vctx *cx, jx_loc loc, jx_val x, int b, int into) {
    return merge(loc, jx__bmove(cx, loc, x, b, into), into);
}

/* Swaps dims i and i+1 of x. */
static jx_val swap_next(jx_loc loc, jx_val x, int i) {
    int r = jx_rank(x);
    if (i < 0 || i + 1 >= r) return x;
    int64_t perm[JX_MAX_RANK];
    for (int d = 0; d < r; d++) perm[d] = d;
    perm[i] = i + 1;
    perm[i + 1] = i;
    return jx_transpose_at(loc, x, (jx_ints){perm, r});
}

/* e's convolution on lhs, rhs with `groups` feature groups. */
static jx_val conv_groups(const jx__eqn *e, jx_val lhs, jx_val rhs, int64_t groups) {
    attr_edit ed;
    if (!edit_begin(&ed, e)) return lhs;
    edit_set_int(&ed, JX_A_GROUPS, groups);
    return jx__bind1(e->loc, JX_PRIM_CONV, 2, (jx_val[2]){lhs, rhs}, ed.n, ed.a);
}

/* lhs mapped only: the mapped axis joins the batch, (B, N) -> B*N, and is split off
 * the output's batch again. */
static jx_val conv_lhs(const jx__vctx *cx, const jx__eqn *e, jx_val lhs, int bl, jx_val rhs,
                       int64_t groups, int64_t n) {
    jx_val out = conv_groups(e, fold(cx, e->loc, lhs, bl, 0), rhs, groups);
    return regroup(e->loc, out, 0, 1, (int64_t[2]){cx->size, n}, 2);
}

/* rhs mapped only: the mapped axis joins the output channels. With G groups the
 * channels must stay grouped, so the kernel goes (B, G*Og) -> (G, B, Og) -> G*B*Og and
 * the output's channels come back (G, B, Og) -> (B, G, Og) -> (B, O). */
static jx_val conv_rhs(const jx__vctx *cx, const jx__eqn *e, jx_val lhs, jx_val rhs, int br,
                       int64_t groups, int64_t o) {
    jx_loc loc = e->loc;
    int64_t b = cx->size, og = o / groups;
    jx_val w = jx__bfront(cx, loc, rhs, br); /* (B, O, I, k) */
    if (groups > 1)                          /* (G, B, Og, I, k) */
        w = swap_next(loc, regroup(loc, w, 0, 2, (int64_t[3]){b, groups, og}, 3), 0);
    w = regroup(loc, w, 0, groups > 1 ? 3 : 2, (int64_t[1]){b * o}, 1); /* (G*B*Og, I, k) */
    jx_val out = conv_groups(e, lhs, w, groups);
    if (groups == 1) return regroup(loc, out, 1, 1, (int64_t[2]){b, o}, 2);
    out = regroup(loc, out, 1, 1, (int64_t[3]){groups, b, og}, 3); /* (N, G, B, Og, k) */
    return merge(loc, swap_next(loc, out, 1), 2);                  /* (N, B, G*Og, k) */
}

/* Three cases, as in JAX: lhs mapped (fold into the batch), rhs mapped (fold into the
 * output channels), both (fold into the lhs channels and the rhs output channels with
 * B times the feature groups: each slice is its own group block). */
static jx_status batch_conv(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                            jx_val *y, int *ydim) {
    int bl = bdim[0], br = bdim[1];
    int64_t groups = jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
    jx_aval la = jx__unbatched_aval(x[0], bl), ra = jx__unbatched_aval(x[1], br);
    if (la.rank < 3 || ra.rank < 3 || groups < 1) { /* let the shape rule say what is wrong */
        y[0] = jx__bind1(e->loc, JX_PRIM_CONV, 2, x, e->nattr, e->attrs);
        ydim[0] = 0;
        return jx_trace_status();
    }
    jx_val lhs = x[0], rhs = x[1];
    if (br != JX_NOBATCH && bl != JX_NOBATCH && cx->size == 0) {
        /* no slices: B*groups would be 0 groups; any unmapped kernel gives the empty result */
        rhs = jx_full_at(e->loc, ra.dtype, (jx_ints){ra.shape, ra.rank}, 0.0);
        br = JX_NOBATCH;
    }
    if (br == JX_NOBATCH) {
        y[0] = conv_lhs(cx, e, lhs, bl, rhs, groups, la.shape[0]);
        ydim[0] = 0;
    } else if (bl == JX_NOBATCH) {
        y[0] = conv_rhs(cx, e, lhs, rhs, br, groups, ra.shape[0]);
        ydim[0] = 1;
    } else {
        jx_val out = conv_groups(e, fold(cx, e->loc, lhs, bl, 1), fold(cx, e->loc, rhs, br, 0),
                                 groups * cx->size);
        y[0] = regroup(e->loc, out, 1, 1, (int64_t[2]){cx->size, ra.shape[0]}, 2);
        ydim[0] = 1;
    }
    return jx_trace_status();
}

/* ------------------------------------------------------------------ windows */

/* The windowed primitives with a window of 1, stride 1 and no padding on the mapped axis
 * at p: every operand has its mapped axis there (moved or broadcast), and so does the
 * output. */
static jx_status batch_window(const jx__vctx *cx, const jx__eqn *e, const jx_val *x, const int *bdim,
                              jx_val *y, int *ydim) {
    int p = bdim[e->nin - 1];
    for (int i = 0; i < e->nin && p == JX_NOBATCH; i++) p = bdim[i];
    jx_val in[2];
    for (int i = 0; i < e->nin && i < 2; i++) in[i] = jx__bmove(cx, e->loc, x[i], bdim[i], p);
    attr_edit ed;
    if (!edit_begin(&ed, e)) return jx_trace_status();
    edit_insert(&ed, JX_A_WINDOW, p, 1);
    edit_insert(&ed, JX_A_STRIDES, p, 1);
    edit_insert(&ed, JX_A_LO, p, 0);
    edit_insert(&ed, JX_A_HI, p, 0);
    y[0] = jx__bind1(e->loc, (jx_prim)e->prim, e->nin, in, ed.n, ed.a);
    ydim[0] = p;
    return jx_trace_status();
}

void jx__vmap_register_linalg(jx__batch_rule *t) {
    t[JX_PRIM_DOT_GENERAL] = batch_dot;
    t[JX_PRIM_CONV] = batch_conv;
    t[JX_PRIM_REDUCE_WINDOW_SUM] = batch_window;
    t[JX_PRIM_REDUCE_WINDOW_MAX] = batch_window;
    t[JX_PRIM_REDUCE_WINDOW_MIN] = batch_window;
    t[JX_PRIM_SELECT_AND_SCATTER_ADD] = batch_window;
    t[JX_PRIM_SELECT_AND_GATHER_ADD] = batch_window;
}
