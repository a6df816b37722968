/* rules_control.c: jvp and transpose rules for the control primitives (see prims.def).
 * Partial evaluation sends an equation with any tangent operand whole to the linear
 * part, so cond, scan and while differentiate into two equations: a primal one on primal
 * operands only (cond and scan also return the residuals the tangents need) and a
 * tangent one, linear in the tangents. Their bodies are built from the framework's own
 * pieces (jvp, partial evaluation, transpose) on closed nested traces. */
#include <stdlib.h>
#include <string.h>

#include "grad.h"
#include "rule_scratch.h"

/* ------------------------------------------------------------------ scratch */

/* The rule's trace, location and arena (see rule_scratch.h). */
typedef jx__rs ctx;

static jx_aval in_av(const jx_fn *f, int i) { return f->vars[f->in[i]]; }
static jx_aval out_av(const jx_fn *f, int i) { return jx__atom_aval(f, &f->out[i]); }

static int count(int n, const bool *b) {
    int k = 0;
    for (int i = 0; i < n; i++) k += b[i];
    return k;
}

/* v, or zeros of aval a where v is a symbolic zero. */
static jx_val materialise(jx_loc loc, jx_val v, jx_aval a) { return jx__is_zero(v) ? jx__zeros(loc, &a) : v; }

/* ------------------------------------------------------------------ building blocks */

/* f's jvp as a closed function (x..., dx_i where has[i]...) -> (y..., dy_j where
 * want[j]...), wanted zero tangents materialised. want may be NULL (none); nz (may be
 * NULL) receives which output tangents are non-zero. */
jx_fn *jx__grad_jvp_fn(ctx *c, const jx_fn *f, const bool *has, const bool *want, bool *nz) {
    int n = f->nin, m = f->nout, nt = count(n, has), k = n;
    jx_aval *av = JX_RS_NEW(c, jx_aval, n + nt);
    jx_val *in = JX_RS_NEW(c, jx_val, n + nt), *dx = JX_RS_NEW(c, jx_val, n), *out = JX_RS_NEW(c, jx_val, 2 * m);
    if (!jx__rs_ok(c)) return NULL;
    for (int i = 0; i < n; i++) {
        av[i] = in_av(f, i);
        if (has[i]) av[k++] = av[i];
    }
    jx__trace *t = jx__rs_begin(c, "jvp", n + nt, av, in);
    if (!t) return NULL;
    k = n;
    for (int i = 0; i < n; i++) dx[i] = has[i] ? in[k++] : JX_ZERO;
    k = m;
    if (jx__jvp_inline(c->loc, f, in, dx, out, out + m) == JX_OK)
        for (int j = 0; j < m; j++) {
            jx_val d = out[m + j]; /* read before the compaction below may overwrite it */
            if (nz) nz[j] = !jx__is_zero(d);
            if (want && want[j]) out[k++] = materialise(c->loc, d, out_av(f, j));
        }
    return jx__rs_end(c, t, k, out);
}

typedef jx__split split;

bool jx__grad_split_fn(ctx *c, const jx_fn *f, int nknown, split *s) {
    if (!f) return false; /* the trace that should have made it failed (error kept) */
    s->ok = JX_RS_NEW(c, bool, f->nout);
    if (!jx__rs_ok(c)) return false;
    if (jx__partial_eval(c->loc, f, nknown, &s->known, &s->lin, s->ok, &s->nres) != JX_OK) {
        jx__rs_pass_error(c);
        return false;
    }
    s->known = jx__rs_own(c, s->known);
    s->lin = jx__rs_own(c, s->lin);
    if (!s->known || !s->lin) return false;
    s->nko = s->known->nout - s->nres;
    return true;
}

/* The first n outputs of a split jvp'd function are primal: they must be known. */
bool jx__grad_primal_known(ctx *c, const split *s, int n) {
    for (int j = 0; j < n; j++)
        if (!s->ok[j]) {
            jx__trace_fail(c->t, JX_ERR_INTERNAL, c->loc, "grad", "a primal output of a body depends on tangents");
            return false;
        }
    return true;
}

/* The transpose of f, linear in its inputs with lin[i], as a closed function
 * (the other inputs..., cotangents of the outputs with ctm[j]...) -> (cotangents of the
 * linear inputs...), zeros materialised. A non-linear input may still feed the linear
 * computation (a tangent known to be zero): partial evaluation on the non-linear inputs
 * makes it a residual, and the function being jointly linear makes dropping its
 * contribution right. */
jx_fn *jx__grad_transpose_fn(ctx *c, const jx_fn *f, const bool *lin, const bool *ctm) {
    int n = f->nin, m = f->nout, nl = count(n, lin), nn = n - nl, nct = count(m, ctm), q = 0;
    int *perm = JX_RS_NEW(c, int, n);
    jx_aval *av = JX_RS_NEW(c, jx_aval, n + m);
    jx_val *in = JX_RS_NEW(c, jx_val, n + m), *args = JX_RS_NEW(c, jx_val, n), *out = JX_RS_NEW(c, jx_val, m);
    if (!jx__rs_ok(c)) return NULL;
    for (int pass = 0; pass < 2; pass++) /* non-linear inputs first */
        for (int i = 0; i < n; i++)
            if (lin[i] == (pass == 1)) perm[q++] = i;
    for (int i = 0; i < n; i++) av[i] = in_av(f, perm[i]);
    jx__trace *t = jx__rs_begin(c, "reordered", n, av, in);
    if (!t) return NULL;
    for (int i = 0; i < n; i++) args[perm[i]] = in[i];
    jx__inline_fn(c->loc, f, args, out);
    split s;
    if (!jx__grad_split_fn(c, jx__rs_end(c, t, m, out), nn, &s)) return NULL;
    q = nn;
    for (int j = 0; j < m; j++)
        if (ctm[j]) av[q++] = out_av(f, j);
    jx_val *kout = JX_RS_NEW(c, jx_val, s.known->nout), *cts = JX_RS_NEW(c, jx_val, s.lin->nout), *cin = JX_RS_NEW(c, jx_val, nl);
    if (!jx__rs_ok(c) || !(t = jx__rs_begin(c, "transpose", nn + nct, av, in))) return NULL;
    jx__inline_fn(c->loc, s.known, in, kout);
    q = nn;
    for (int j = 0, u = 0; j < m; j++) {
        jx_val ct = ctm[j] ? in[q++] : JX_ZERO;
        if (!s.ok[j]) cts[u++] = ct; /* a known output is constant: its cotangent goes nowhere */
    }
    for (int l = 0; l < nl; l++) cin[l] = JX_ZERO;
    jx__transpose_inline(c->loc, s.lin, s.nres, kout + s.nko, cts, cin);
    for (int l = 0; l < nl && jx__rs_ok(c); l++) cin[l] = materialise(c->loc, cin[l], in_av(f, perm[nn + l]));
    return jx__rs_end(c, t, nl, cin);
}

/* Carry tangents to a fixed point: carry i (of the first nc inputs and outputs of body)
 * gets a tangent when its initial tangent is non-zero or the body gives it one. nz
 * receives which of the body's output tangents are then non-zero. */
static void carry_fixed_point(ctx *c, const jx_fn *body, int nc, bool *has, bool *nz) {
    bool again = true;
    while (again && jx__rs_ok(c)) {
        again = false;
        if (!jx__grad_jvp_fn(c, body, has, NULL, nz)) return;
        for (int i = 0; i < nc; i++)
            if (nz[i] && !has[i]) has[i] = again = true;
    }
}

/* ------------------------------------------------------------------ call */

static jx_status jvp_call(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    return jx__jvp_inline(e->loc, jx__eqn_fn(e, JX_A_FN, 0), x, dx, y, dy);
}

/* ------------------------------------------------------------------ cond */

/* Branch b's primal function: (operands...) -> (y..., residuals of every branch...),
 * the other branches' residuals as zeros (roff[b] is where b's start; rav their avals). */
static jx_fn *cond_known(ctx *c, const jx_fn *br, const split *s, int b, int nb, const int *roff,
                         const jx_aval *rav, int m) {
    int n = br->nin, nr = roff[nb];
    jx_aval *av = JX_RS_NEW(c, jx_aval, n);
    jx_val *in = JX_RS_NEW(c, jx_val, n), *kout = JX_RS_NEW(c, jx_val, s->known->nout), *out = JX_RS_NEW(c, jx_val, m + nr);
    if (!jx__rs_ok(c)) return NULL;
    for (int i = 0; i < n; i++) av[i] = in_av(br, i);
    jx__trace *t = jx__rs_begin(c, "cond_primal", n, av, in);
    if (!t) return NULL;
    if (jx__inline_fn(c->loc, s->known, in, kout) == JX_OK) {
        for (int j = 0; j < m; j++) out[j] = kout[j];
        for (int r = 0; r < nr; r++)
            out[m + r] = r >= roff[b] && r < roff[b + 1] ? kout[s->nko + r - roff[b]] : jx__zeros(c->loc, &rav[r]);
    }
    return jx__rs_end(c, t, m + nr, out);
}

/* Branch b's tangent function: (residuals of every branch..., tangents...) -> (dy...)
 * for the wanted outputs; a tangent known in this branch is zero. */
static jx_fn *cond_lin(ctx *c, const split *s, int b, const int *roff, int nr, const jx_aval *rav, int nt,
                       const jx_aval *tav, int m, int nw, const jx_aval *wav) {
    int nres = roff[b + 1] - roff[b];
    jx_aval *av = JX_RS_NEW(c, jx_aval, nr + nt);
    jx_val *in = JX_RS_NEW(c, jx_val, nr + nt), *args = JX_RS_NEW(c, jx_val, nres + nt);
    jx_val *lout = JX_RS_NEW(c, jx_val, s->lin->nout), *out = JX_RS_NEW(c, jx_val, nw);
    if (!jx__rs_ok(c)) return NULL;
    memcpy(av, rav, sizeof *av * (size_t)nr);
    memcpy(av + nr, tav, sizeof *av * (size_t)nt);
    jx__trace *t = jx__rs_begin(c, "cond_tangent", nr + nt, av, in);
    if (!t) return NULL;
    for (int r = 0; r < nres; r++) args[r] = in[roff[b] + r];
    for (int i = 0; i < nt; i++) args[nres + i] = in[nr + i];
    if (jx__inline_fn(c->loc, s->lin, args, lout) == JX_OK)
        for (int j = 0, u = 0; j < nw; j++) out[j] = s->ok[m + j] ? jx__zeros(c->loc, &wav[j]) : lout[u++];
    return jx__rs_end(c, t, nw, out);
}

/* cond(i, ops) -> (y, res) = cond(i, ops) over the branches' primal parts, then
 * dy = cond(i, res, dops) over their tangent parts. Every branch gets a tangent input for
 * each operand with a non-zero tangent and gives one for every float output. */
static jx_status jvp_cond(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    ctx c;
    jx__rs_init(&c, e, "grad", NULL);
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    int nb = a->n, nop = e->nin - 1, m = e->nout, nt = 0, nw = 0;
    const jx_fn *b0 = a->u.fns[0];
    bool *has = JX_RS_NEW(&c, bool, nop), *want = JX_RS_NEW(&c, bool, m);
    split *s = JX_RS_NEW(&c, split, nb);
    int *roff = JX_RS_NEW(&c, int, nb + 1);
    jx_fn **kf = JX_RS_NEW(&c, jx_fn *, nb), **lf = JX_RS_NEW(&c, jx_fn *, nb);
    jx_aval *tav = JX_RS_NEW(&c, jx_aval, nop), *wav = JX_RS_NEW(&c, jx_aval, m);
    jx_val *ops = JX_RS_NEW(&c, jx_val, e->nin + m);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < nop; i++)
        if ((has[i] = !jx__is_zero(dx[1 + i]))) tav[nt++] = in_av(b0, i);
    for (int j = 0; j < m; j++)
        if ((want[j] = jx__differentiable(out_av(b0, j).dtype))) wav[nw++] = out_av(b0, j);
    for (int b = 0; b < nb && jx__rs_ok(&c); b++) {
        jx_fn *J = jx__grad_jvp_fn(&c, a->u.fns[b], has, want, NULL);
        if (!J || !jx__grad_split_fn(&c, J, nop, &s[b]) || !jx__grad_primal_known(&c, &s[b], m)) return jx__rs_done(&c);
        roff[b + 1] = roff[b] + s[b].nres;
    }
    int nr = roff[nb];
    jx_aval *rav = JX_RS_NEW(&c, jx_aval, nr);
    jx_val *outs = JX_RS_NEW(&c, jx_val, m + nr), *touts = JX_RS_NEW(&c, jx_val, nw);
    for (int b = 0; b < nb && jx__rs_ok(&c); b++)
        for (int r = 0; r < s[b].nres; r++) rav[roff[b] + r] = out_av(s[b].known, s[b].nko + r);
    for (int b = 0; b < nb && jx__rs_ok(&c); b++) {
        kf[b] = cond_known(&c, a->u.fns[b], &s[b], b, nb, roff, rav, m);
        lf[b] = cond_lin(&c, &s[b], b, roff, nr, rav, nt, tav, m, nw, wav);
    }
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    jx__attr at = jx__a_fns(JX_A_BRANCHES, nb, kf);
    jx__bind(e->loc, JX_PRIM_COND, e->nin, x, 1, &at, m + nr, outs, NULL);
    for (int j = 0; j < m; j++) y[j] = outs[j];
    if (nw && jx__rs_ok(&c)) {
        int k = 0;
        ops[k++] = x[0];
        for (int r = 0; r < nr; r++) ops[k++] = outs[m + r];
        for (int i = 0; i < nop; i++)
            if (has[i]) ops[k++] = dx[1 + i];
        at = jx__a_fns(JX_A_BRANCHES, nb, lf);
        jx__bind(e->loc, JX_PRIM_COND, k, ops, 1, &at, nw, touts, NULL);
        for (int j = 0, q = 0; j < m; j++)
            if (want[j]) dy[j] = touts[q++];
    }
    return jx__rs_done(&c);
}

/* The transpose of a cond linear in some operands: a cond with the same index over the
 * branches' transposes, taking (non-linear operands..., non-zero cotangents...). */
static jx_status tr_cond(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct,
                         jx_val *ct_in) {
    (void)av;
    ctx c;
    jx__rs_init(&c, e, "grad", NULL);
    const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
    int nb = a->n, nop = e->nin - 1, m = e->nout, k = 0;
    bool *bl = JX_RS_NEW(&c, bool, nop), *ctm = JX_RS_NEW(&c, bool, m);
    jx_fn **tf = JX_RS_NEW(&c, jx_fn *, nb);
    jx_val *ops = JX_RS_NEW(&c, jx_val, e->nin + m), *outs = JX_RS_NEW(&c, jx_val, nop);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < nop; i++) bl[i] = lin[1 + i];
    for (int j = 0; j < m; j++) ctm[j] = !jx__is_zero(ct[j]);
    for (int b = 0; b < nb && jx__rs_ok(&c); b++) tf[b] = jx__grad_transpose_fn(&c, a->u.fns[b], bl, ctm);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    ops[k++] = x[0];
    for (int i = 0; i < nop; i++)
        if (!bl[i]) ops[k++] = x[1 + i];
    for (int j = 0; j < m; j++)
        if (ctm[j]) ops[k++] = ct[j];
    jx__attr at = jx__a_fns(JX_A_BRANCHES, nb, tf);
    int nl = count(nop, bl);
    jx__bind(e->loc, JX_PRIM_COND, k, ops, 1, &at, nl, outs, NULL);
    for (int i = 0, q = 0; i < nop && jx__rs_ok(&c); i++)
        if (bl[i]) ct_in[1 + i] = outs[q++];
    return jx__rs_done(&c);
}

/* ------------------------------------------------------------------ scan */

typedef struct scan_info {
    const jx_fn *body;
    int64_t len, rev;
    int nc, nx, nk, ny;
} scan_info;

static scan_info scan_of(const jx__eqn *e) {
    scan_info s;
    s.body = jx__eqn_fn(e, JX_A_BODY, 0);
    s.len = jx__attr_int(e->nattr, e->attrs, JX_A_LENGTH, 0);
    s.rev = jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0);
    s.nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0);
    s.nk = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, 0);
    s.nx = e->nin - s.nc - s.nk;
    s.ny = e->nout - s.nc;
    return s;
}

/* Binds a scan over body with the given operand counts. */
static void bind_scan(const jx__eqn *e, jx_fn *body, int64_t len, int64_t rev, int nc, int nk, int nin,
                      const jx_val *ops, int nout, jx_val *outs) {
    jx__attr at[5] = {jx__a_fns(JX_A_BODY, 1, &body), jx__a_int(JX_A_LENGTH, len), jx__a_int(JX_A_REVERSE, rev),
                      jx__a_int(JX_A_NUM_CARRY, nc), jx__a_int(JX_A_NUM_CONSTS, nk)};
    jx__bind(e->loc, JX_PRIM_SCAN, nin, ops, 5, at, nout, outs, NULL);
}

/* Where the tangent scan gets residual r of the body's split: the step's x or a const as
 * they are (RES_X, RES_K: src is the body input), else stacked as an extra y of the
 * primal scan (RES_STACK). */
enum { RES_STACK, RES_X, RES_K };

static void classify_residuals(const scan_info *si, const split *s, int *cls, int *src) {
    for (int r = 0; r < s->nres; r++) {
        int32_t v = s->known->out[s->nko + r].var;
        cls[r] = RES_STACK;
        for (int i = si->nc; i < s->known->nin && v >= 0; i++)
            if (s->known->in[i] == v) {
                cls[r] = i < si->nc + si->nx ? RES_X : RES_K;
                src[r] = i;
                break;
            }
    }
}

/* The primal body: (c, x_t, k) -> (c', y_t, stacked residuals...). */
static jx_fn *scan_known(ctx *c, const scan_info *si, const split *s, const int *cls) {
    int n = si->body->nin, m = si->nc + si->ny, k = m;
    jx_aval *av = JX_RS_NEW(c, jx_aval, n);
    jx_val *in = JX_RS_NEW(c, jx_val, n), *kout = JX_RS_NEW(c, jx_val, s->known->nout), *out = JX_RS_NEW(c, jx_val, m + s->nres);
    if (!jx__rs_ok(c)) return NULL;
    for (int i = 0; i < n; i++) av[i] = in_av(si->body, i);
    jx__trace *t = jx__rs_begin(c, "scan_primal", n, av, in);
    if (!t) return NULL;
    if (jx__inline_fn(c->loc, s->known, in, kout) == JX_OK) {
        for (int j = 0; j < m; j++) out[j] = kout[j];
        for (int r = 0; r < s->nres; r++)
            if (cls[r] == RES_STACK) out[k++] = kout[s->nko + r];
    }
    return jx__rs_end(c, t, k, out);
}

/* Operand groups of the tangent scan, in order: carries dc (nT), xs dx (nxt), residual xs
 * (nrx), stacked residuals (nst); consts residual (nrk), dk (nkt). */
typedef struct tan_layout {
    int nT, nxt, nrx, nst, nrk, nkt, nin, nout;
} tan_layout;

/* The tangent body: (dc, dx_t, rx_t, st_t, rk, dk) -> (dc'..., dy_t...) from the
 * linear part, whose inputs are (residuals..., dc, dx, dk). */
static jx_fn *scan_lin(ctx *c, const scan_info *si, const split *s, const bool *has, const int *cls,
                       const tan_layout *L, const jx_fn *J) {
    const jx_fn *B = si->body;
    int n = L->nin, nres = s->nres, ntan = L->nT + L->nxt + L->nkt, m = si->nc + si->ny;
    jx_aval *av = JX_RS_NEW(c, jx_aval, n);
    jx_val *in = JX_RS_NEW(c, jx_val, n), *args = JX_RS_NEW(c, jx_val, nres + ntan);
    jx_val *lout = JX_RS_NEW(c, jx_val, s->lin->nout), *out = JX_RS_NEW(c, jx_val, L->nout);
    if (!jx__rs_ok(c)) return NULL;
    /* positions of the groups among the inputs */
    int p_rx = L->nT + L->nxt, p_st = p_rx + L->nrx, p_rk = p_st + L->nst, p_dk = p_rk + L->nrk;
    int q = 0, qx = p_rx, qs = p_st, qk = p_rk;
    for (int i = 0; i < B->nin; i++) /* dc and dx come first, dk last: the body's order */
        if (has[i]) {
            av[q < L->nT + L->nxt ? q : p_dk + q - L->nT - L->nxt] = in_av(B, i);
            q++;
        }
    for (int r = 0; r < nres; r++) {
        jx_aval ra = out_av(s->known, s->nko + r);
        if (cls[r] == RES_X) av[qx++] = ra;
        else if (cls[r] == RES_K) av[qk++] = ra;
        else av[qs++] = ra;
    }
    jx__trace *t = jx__rs_begin(c, "scan_tangent", n, av, in);
    if (!t) return NULL;
    qx = p_rx, qs = p_st, qk = p_rk;
    for (int r = 0; r < nres; r++) args[r] = in[cls[r] == RES_X ? qx++ : cls[r] == RES_K ? qk++ : qs++];
    for (int i = 0; i < L->nT + L->nxt; i++) args[nres + i] = in[i];
    for (int i = 0; i < L->nkt; i++) args[nres + L->nT + L->nxt + i] = in[p_dk + i];
    if (jx__inline_fn(c->loc, s->lin, args, lout) == JX_OK)
        for (int j = 0, u = 0; j < L->nout; j++) {
            jx_aval a = out_av(J, m + j);
            out[j] = s->ok[m + j] ? jx__zeros(c->loc, &a) : lout[u++];
        }
    return jx__rs_end(c, t, L->nout, out);
}

/* scan -> a primal scan returning the per-step residuals as extra ys, and a tangent scan
 * (same direction) over the body's linear part reading them as xs. */
static jx_status jvp_scan(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    ctx c;
    jx__rs_init(&c, e, "grad", NULL);
    scan_info si = scan_of(e);
    const jx_fn *B = si.body;
    int n = e->nin, m = e->nout;
    bool *has = JX_RS_NEW(&c, bool, n), *want = JX_RS_NEW(&c, bool, m), *nz = JX_RS_NEW(&c, bool, m);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < n; i++) has[i] = !jx__is_zero(dx[i]);
    carry_fixed_point(&c, B, si.nc, has, nz);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int j = 0; j < m; j++) want[j] = j < si.nc ? has[j] : nz[j];
    jx_fn *J = jx__grad_jvp_fn(&c, B, has, want, NULL);
    split s;
    if (!J || !jx__grad_split_fn(&c, J, n, &s) || !jx__grad_primal_known(&c, &s, m)) return jx__rs_done(&c);
    int *cls = JX_RS_NEW(&c, int, s.nres), *src = JX_RS_NEW(&c, int, s.nres);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    classify_residuals(&si, &s, cls, &src[0]);
    tan_layout L;
    memset(&L, 0, sizeof L);
    for (int i = 0; i < n; i++) *(i < si.nc ? &L.nT : i < si.nc + si.nx ? &L.nxt : &L.nkt) += has[i];
    for (int r = 0; r < s.nres; r++) *(cls[r] == RES_X ? &L.nrx : cls[r] == RES_K ? &L.nrk : &L.nst) += 1;
    L.nin = L.nT + L.nxt + L.nrx + L.nst + L.nrk + L.nkt;
    L.nout = count(m, want);
    jx_fn *kf = scan_known(&c, &si, &s, cls);
    jx_fn *lf = L.nout ? scan_lin(&c, &si, &s, has, cls, &L, J) : NULL;
    jx_val *outs = JX_RS_NEW(&c, jx_val, m + L.nst), *ops = JX_RS_NEW(&c, jx_val, L.nin), *touts = JX_RS_NEW(&c, jx_val, L.nout);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    bind_scan(e, kf, si.len, si.rev, si.nc, si.nk, n, x, m + L.nst, outs);
    for (int j = 0; j < m; j++) y[j] = outs[j];
    if (!L.nout || !jx__rs_ok(&c)) return jx__rs_done(&c);
    int k = 0;
    for (int i = 0; i < si.nc + si.nx; i++) /* dc, dx */
        if (has[i]) ops[k++] = materialise(e->loc, dx[i], jx__val_aval(x[i]));
    for (int r = 0; r < s.nres; r++)
        if (cls[r] == RES_X) ops[k++] = x[src[r]];
    for (int q = 0; q < L.nst; q++) ops[k++] = outs[m + q];
    for (int r = 0; r < s.nres; r++)
        if (cls[r] == RES_K) ops[k++] = x[src[r]];
    for (int i = si.nc + si.nx; i < n; i++)
        if (has[i]) ops[k++] = dx[i];
    bind_scan(e, lf, si.len, si.rev, L.nT, L.nrk + L.nkt, k, ops, L.nout, touts);
    for (int j = 0, q = 0; j < m; j++)
        if (want[j]) dy[j] = touts[q++];
    return jx__rs_done(&c);
}

/* The transposed step: (ct_c..., acc..., ct_y_t (non-zero)..., rx_t..., rk...) ->
 * (ct of the carry in..., acc + ct_k..., ct_x_t...), from tb, the body's transpose
 * (rx_t, rk, ct_c, ct_y_t) -> (ct_c, ct_lx, ct_lk). */
static jx_fn *scan_tr_body(ctx *c, const scan_info *si, const jx_fn *tb, const bool *bl, const bool *ctm) {
    const jx_fn *B = si->body;
    int nc = si->nc, nlx = count(si->nx, bl + nc), nlk = count(si->nk, bl + nc + si->nx);
    int nnl = B->nin - count(B->nin, bl), ncy = count(si->ny, ctm + nc), n = nc + nlk + ncy + nnl, q = 0;
    jx_aval *av = JX_RS_NEW(c, jx_aval, n);
    jx_val *in = JX_RS_NEW(c, jx_val, n), *args = JX_RS_NEW(c, jx_val, tb->nin), *o = JX_RS_NEW(c, jx_val, tb->nout);
    jx_val *out = JX_RS_NEW(c, jx_val, tb->nout);
    if (!jx__rs_ok(c)) return NULL;
    for (int i = 0; i < nc; i++) av[q++] = in_av(B, i);
    for (int i = nc + si->nx; i < B->nin; i++)
        if (bl[i]) av[q++] = in_av(B, i);
    for (int j = 0; j < si->ny; j++)
        if (ctm[nc + j]) av[q++] = out_av(B, nc + j);
    for (int i = nc; i < B->nin; i++)
        if (!bl[i]) av[q++] = in_av(B, i);
    jx__trace *t = jx__rs_begin(c, "scan_transpose", n, av, in);
    if (!t) return NULL;
    int p_acc = nc, p_cy = nc + nlk, p_nl = p_cy + ncy;
    for (int i = 0; i < nnl; i++) args[i] = in[p_nl + i];
    for (int i = 0; i < nc; i++) args[nnl + i] = in[i];
    for (int j = 0; j < ncy; j++) args[nnl + nc + j] = in[p_cy + j];
    if (jx__inline_fn(c->loc, tb, args, o) == JX_OK) {
        for (int i = 0; i < nc; i++) out[i] = o[i];
        for (int i = 0; i < nlk; i++) out[nc + i] = jx_add_at(c->loc, in[p_acc + i], o[nc + nlx + i]);
        for (int i = 0; i < nlx; i++) out[nc + nlk + i] = o[nc + i];
    }
    return jx__rs_end(c, t, nc + nlk + nlx, out);
}

/* The transpose of a scan linear in its carries and some xs and consts: a scan the other
 * way over the body's transpose. Carry cotangents flow backwards, cotangents of linear
 * xs come out per step as ys, those of linear consts add up in extra carries. */
static jx_status tr_scan(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct,
                         jx_val *ct_in) {
    ctx c;
    jx__rs_init(&c, e, "grad", NULL);
    scan_info si = scan_of(e);
    const jx_fn *B = si.body;
    int n = e->nin, m = e->nout, k = 0;
    bool *bl = JX_RS_NEW(&c, bool, n), *ctm = JX_RS_NEW(&c, bool, m);
    jx_val *ops = JX_RS_NEW(&c, jx_val, n + m), *outs = JX_RS_NEW(&c, jx_val, n);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    /* a tangent scan is linear in all its carries jointly, even one known to start at zero */
    for (int i = 0; i < n; i++) bl[i] = lin[i] || (i < si.nc && jx__differentiable(av[i].dtype));
    for (int i = 0; i < si.nc; i++)
        if (!bl[i]) {
            jx__trace_fail(c.t, JX_ERR_UNSUPPORTED, e->loc, "scan",
                           "cannot transpose a scan with a non-linear %s carry", jx__avs(&av[i]));
            return jx__rs_done(&c);
        }
    for (int j = 0; j < m; j++) ctm[j] = j < si.nc || !jx__is_zero(ct[j]);
    jx_fn *tb = jx__grad_transpose_fn(&c, B, bl, ctm);
    jx_fn *sb = tb ? scan_tr_body(&c, &si, tb, bl, ctm) : NULL;
    if (!sb) return jx__rs_done(&c);
    int nlk = 0, nlx = 0, nrk = 0;
    for (int i = 0; i < si.nc; i++) ops[k++] = materialise(e->loc, ct[i], av[i]);
    for (int i = si.nc + si.nx; i < n; i++)
        if (bl[i]) ops[k++] = jx__zeros(e->loc, &av[i]), nlk++;
    for (int j = si.nc; j < m; j++)
        if (ctm[j]) ops[k++] = ct[j];
    for (int i = si.nc; i < n; i++)
        if (!bl[i]) ops[k++] = x[i], nrk += i >= si.nc + si.nx;
    for (int i = si.nc; i < si.nc + si.nx; i++) nlx += bl[i];
    bind_scan(e, sb, si.len, !si.rev, si.nc + nlk, nrk, k, ops, si.nc + nlk + nlx, outs);
    int pk = si.nc, px = si.nc + nlk;
    for (int i = 0; i < n && jx__rs_ok(&c); i++) {
        if (!bl[i]) continue;
        jx_val v = i < si.nc ? outs[i] : i < si.nc + si.nx ? outs[px++] : outs[pk++];
        if (lin[i]) ct_in[i] = v;
    }
    return jx__rs_done(&c);
}

/* ------------------------------------------------------------------ while */

/* while -> the primal while, and a while carrying (c, dc) whose body is the jvp of the
 * body and whose cond reads the primal carries only. The second recomputes the primal
 * carry, so that the primal outputs stay known to partial evaluation. */
static jx_status jvp_while(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    ctx c;
    jx__rs_init(&c, e, "grad", NULL);
    const jx_fn *C = jx__eqn_fn(e, JX_A_COND, 0), *B = jx__eqn_fn(e, JX_A_BODY, 0);
    int n = e->nin, nc = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0), nk = n - nc;
    bool *has = JX_RS_NEW(&c, bool, n), *nz = JX_RS_NEW(&c, bool, nc);
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    for (int i = 0; i < n; i++) has[i] = !jx__is_zero(dx[i]);
    carry_fixed_point(&c, B, nc, has, nz);
    jx_fn *J = jx__rs_ok(&c) ? jx__grad_jvp_fn(&c, B, has, has, NULL) : NULL; /* (c, k, dc, dk) -> (c', dc') */
    int nT = count(nc, has), nkt = count(nk, has + nc), n2 = n + nT + nkt, q = 0;
    jx_aval *av = JX_RS_NEW(&c, jx_aval, n2);
    jx_val *in = JX_RS_NEW(&c, jx_val, n2), *args = JX_RS_NEW(&c, jx_val, n2), *out = JX_RS_NEW(&c, jx_val, nc + nT);
    jx_val *ops = JX_RS_NEW(&c, jx_val, n2), *outs = JX_RS_NEW(&c, jx_val, nc + nT);
    jx_fn *fns[2] = {NULL, NULL};
    if (!J || !jx__rs_ok(&c)) return jx__rs_done(&c);
    /* both new functions take (c..., dc..., k..., dk...) */
    for (int i = 0; i < nc; i++) av[q++] = in_av(B, i);
    for (int i = 0; i < nc; i++)
        if (has[i]) av[q++] = in_av(B, i);
    for (int i = nc; i < n; i++) av[q++] = in_av(B, i);
    for (int i = nc; i < n; i++)
        if (has[i]) av[q++] = in_av(B, i);
    for (int f = 0; f < 2; f++) {
        jx__trace *t = jx__rs_begin(&c, f ? "while_jvp_body" : "while_jvp_cond", n2, av, in);
        if (!t) return jx__rs_done(&c);
        for (int i = 0; i < nc; i++) args[i] = in[i];
        for (int i = 0; i < nk; i++) args[nc + i] = in[nc + nT + i];
        for (int i = 0; i < nT; i++) args[n + i] = in[nc + i];
        for (int i = 0; i < nkt; i++) args[n + nT + i] = in[nc + nT + nk + i];
        jx__inline_fn(c.loc, f ? J : C, args, out);
        fns[f] = jx__rs_end(&c, t, f ? nc + nT : 1, out);
    }
    if (!jx__rs_ok(&c)) return jx__rs_done(&c);
    q = 0;
    for (int i = 0; i < nc; i++) ops[q++] = x[i];
    for (int i = 0; i < nc; i++)
        if (has[i]) ops[q++] = materialise(e->loc, dx[i], jx__val_aval(x[i]));
    for (int i = nc; i < n; i++) ops[q++] = x[i];
    for (int i = nc; i < n; i++)
        if (has[i]) ops[q++] = dx[i];
    jx__rebind(e, x, y);
    jx__attr at[3] = {jx__a_fns(JX_A_COND, 1, &fns[0]), jx__a_fns(JX_A_BODY, 1, &fns[1]),
                      jx__a_int(JX_A_NUM_CARRY, nc + nT)};
    jx__bind(e->loc, JX_PRIM_WHILE, n2, ops, 3, at, nc + nT, outs, NULL);
    for (int i = 0, p = nc; i < nc && jx__rs_ok(&c); i++)
        if (has[i]) dy[i] = outs[p++];
    return jx__rs_done(&c);
}

/* A tangent while reached by reverse mode: its trip count is only known at run time. */
static jx_status tr_while(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin, const jx_val *ct,
                          jx_val *ct_in) {
    (void)x;
    (void)av;
    (void)lin;
    (void)ct;
    (void)ct_in;
    jx__trace_fail(jx__trace_top(), JX_ERR_UNSUPPORTED, e->loc, "while",
                   "reverse-mode differentiation does not work for while loops with dynamic trip counts: use scan");
    return jx_trace_status();
}

void jx__grad_register_control(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_CALL] = jvp_call;
    jvp[JX_PRIM_COND] = jvp_cond;
    jvp[JX_PRIM_SCAN] = jvp_scan;
    jvp[JX_PRIM_WHILE] = jvp_while;
    tr[JX_PRIM_COND] = tr_cond;
    tr[JX_PRIM_SCAN] = tr_scan;
    tr[JX_PRIM_WHILE] = tr_while;
}
