/* fuse.c: splits a function's top-level equations into fusion groups (backend independent).
 *
 * A LOOP group is computed in one pass over one iteration space (the shape of all of its
 * outputs): the code generator evaluates each output element by walking the group's
 * equations backwards from it, mapping the index through movement ops and looping over
 * reduced dims inside reductions. That model is always correct; the rules below only keep
 * it cheap:
 *  - an equation joins the open group when its output has the group's shape and every
 *    value it reads from the group is read at the same index (elementwise), through a
 *    permutation or a slice of the elements (reshape, squeeze, expand_dims, transpose,
 *    slice, rev, concatenate of at most JX__CONCAT_LOOP_MAX operands, pad (not gather,
 *    which may read an element many times, like broadcast, nor scatter_add and the
 *    cumulative ops, loop ops only for backends with owner_folds, which read their
 *    operands at many elements per element; but the index of a gather or scatter_add
 *    may come from a group of a few elementwise ops, recomputed where read): each
 *    element still computed once at most, but a pad of a group
 *    that holds a reduction starts a group of its own) or is "cheap" (movement or iota of
 *    values from outside: recomputing it at another index is a load);
 *  - an equation whose output shape differs (a reduction, a broadcast) may still join and
 *    become the group's new space, when nothing of the group is used outside the group and
 *    that equation (no group output would have the old shape), and it reads the group's
 *    non-cheap values only as a reduction's or a permutation's operand (each element
 *    read once);
 *  - dot_general, conv, control flow and everything else are groups of their own. The open
 *    LOOP group stays open across them when they do not read it, so a bias broadcast
 *    traced before a matmul still fuses with the add after it;
 *  - a transpose alone in its LOOP group whose one reader is a conv (an operand), or the
 *    one reader of a conv's result, joins the conv's group when the backend's conv reads
 *    and writes through strides (conv_views_ok): the NHWC layers' transposes around the
 *    core's NCHW convolution then cost no pass over memory and no kernel; and the rev and
 *    transpose of an input gradient's kernel join its conv when the backend computes it
 *    as the adjoint of the kernel's own conv (conv_bwd_data_ok: cuDNN's backward data);
 *  - a bias added to a dot's result, or the sum of a dot's operand over its contracting
 *    dim (a bias gradient), joins the dot's group when the backend's GEMM computes it
 *    in the same call (dot_epilogue_ok: fuse_epilogue.c);
 *  - on backends that compute a row's reductions once per row, groups read row by row
 *    merge into their reader afterwards (fuse_rows.c).
 * Groups are listed in an order where each reads only f's inputs and earlier groups. */
#include <stdlib.h>
#include <string.h>

#include "../backends/interp/strided.h"
#include "fuse_state.h"

/* ------------------------------------------------------------------ classification */

static bool is_movement(int prim) {
    return prim == JX_PRIM_BROADCAST_IN_DIM || prim == JX_PRIM_RESHAPE || prim == JX_PRIM_TRANSPOSE ||
           prim == JX_PRIM_SQUEEZE || prim == JX_PRIM_EXPAND_DIMS || prim == JX_PRIM_SLICE || prim == JX_PRIM_REV ||
           prim == JX_PRIM_CONCATENATE || prim == JX_PRIM_PAD || prim == JX_PRIM_GATHER;
}

/* Movement that reads no element of its operand more than once (a slice reads some of
 * them, once; a concatenate each of each operand's, once). */
static bool is_permutation(int prim) {
    return is_movement(prim) && prim != JX_PRIM_BROADCAST_IN_DIM && prim != JX_PRIM_GATHER;
}

static bool is_storage_dtype(jx_dtype t) { return t == JX_F16 || t == JX_BF16; }

/* scatter_add and the cumulative ops: each result element folds the values that land on
 * it (codegen_owner.c), so they read their operands at many elements. */
static bool is_owner_fold(int prim) {
    return prim == JX_PRIM_SCATTER_ADD || prim == JX_PRIM_CUMSUM || prim == JX_PRIM_CUMPROD ||
           prim == JX_PRIM_CUMMAX || prim == JX_PRIM_CUMMIN;
}

/* Whether owner fold e of f is computed in a loop kernel for a backend with owner_folds:
 * each element tests every index of its batch (scatter_add) or folds up to the axis'
 * length (a cumulative op), so only where that work, elements times values per element,
 * stays within OWNER_FOLD_WORK: 2^32 steps, 2^27 per 32-thread warp, about a millisecond
 * on an H100-class GPU by instruction count (to be measured: bench_cuda_kernels'
 * scatter_add), against a host step's copies both ways. Bool sums and products have no
 * interpreter kernel either. */
#define OWNER_FOLD_WORK ((int64_t)1 << 32)
static bool owner_loopable(const jx_fn *f, const jx__eqn *e) {
    jx_aval x = jx__atom_aval(f, &e->in[0]);
    int64_t per = 1, n = jx_aval_size(&x);
    if (e->prim == JX_PRIM_SCATTER_ADD) {
        jx_aval idx = jx__atom_aval(f, &e->in[1]);
        for (int d = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0); d < idx.rank; d++) per *= idx.shape[d];
    } else {
        if (x.dtype == JX_BOOL && (e->prim == JX_PRIM_CUMSUM || e->prim == JX_PRIM_CUMPROD)) return false;
        per = x.shape[jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0)];
    }
    return !is_storage_dtype(x.dtype) && (n == 0 || per <= OWNER_FOLD_WORK / n);
}

/* Whether the code generator computes e inside a loop nest (scatter_add and the
 * cumulative ops only with owner_folds). f16/bf16 are storage types: only moved,
 * selected and converted. */
static bool loopable(const jx_fn *f, const jx__eqn *e, bool owner_folds) {
    int p = e->prim;
    if (is_owner_fold(p)) return owner_folds && owner_loopable(f, e);
    jx_dtype t = e->nin > 0 ? jx__atom_aval(f, &e->in[e->nin - 1]).dtype : JX_F32;
    switch (jx__prims[p].cls) {
    case JX__UNARY:
    case JX__BINARY:
    case JX__COMPARE:
        if (p == JX_PRIM_CONVERT || p == JX_PRIM_STOP_GRADIENT) return true;
        return !is_storage_dtype(t);
    case JX__SHAPE: /* a concatenate of many operands would weigh every element with all of them */
        return is_movement(p) && (p != JX_PRIM_CONCATENATE || e->nin <= JX__CONCAT_LOOP_MAX);
    case JX__REDUCE: return !is_storage_dtype(t);
    default:
        return p == JX_PRIM_SELECT || p == JX_PRIM_THREEFRY2X32 || p == JX_PRIM_GATHER ||
               (p == JX_PRIM_IOTA && !is_storage_dtype(f->vars[e->out[0]].dtype));
    }
}

static jx__gkind kind_of(const fstate *s, const jx__eqn *e) {
    const jx_fn *f = s->f;
    if (loopable(f, e, s->owner_folds)) return JX__G_LOOP;
    if (e->prim == JX_PRIM_DOT_GENERAL) return JX__G_DOT;
    if (e->prim == JX_PRIM_CONV) return JX__G_CONV;
    switch (e->prim) {
    case JX_PRIM_REDUCE_WINDOW_MAX:
    case JX_PRIM_REDUCE_WINDOW_MIN:
    case JX_PRIM_REDUCE_WINDOW_SUM:
    case JX_PRIM_SELECT_AND_SCATTER_ADD:
    case JX_PRIM_SELECT_AND_GATHER_ADD: return JX__G_WINDOW;
    default: break;
    }
    if (jx__prims[e->prim].cls == JX__HIGHER) return JX__G_CONTROL;
    return JX__G_OPAQUE;
}

static bool same_shape(const jx_aval *a, const jx_aval *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* ------------------------------------------------------------------ state */


static bool in_open(const fstate *s, int32_t v) {
    return v >= 0 && s->open >= 0 && s->producer[v] >= 0 && s->gid[s->producer[v]] == s->open;
}

/* Whether every use of every value of the open group lies in the group or in eqn k. */
static bool open_closed_under(const fstate *s, int32_t k) {
    const jx_fn *f = s->f;
    for (int32_t q = 0; q < f->neqn; q++) {
        if (s->gid[q] != s->open) continue;
        const jx__eqn *e = &f->eqns[q];
        for (int o = 0; o < e->nout; o++) {
            int32_t v = e->out[o];
            if (s->fn_out[v]) return false;
            for (int32_t u = s->ustart[v]; u < s->ustart[v + 1]; u++)
                if (s->users[u] != k && s->gid[s->users[u]] != s->open) return false;
        }
    }
    return true;
}

/* Whether the open group holds a reduction. A pad (or concatenate) reads its operand at
 * a clamped index for the elements it does not take from it, so a reduction computed in
 * the group would be folded again for each of those. */
static bool open_reduces(const fstate *s) {
    for (int32_t q = 0; q < s->f->neqn; q++)
        if (s->gid[q] == s->open && jx__prims[s->f->eqns[q].prim].cls == JX__REDUCE) return true;
    return false;
}

/* Whether the open group is a few elementwise ops (jx_gather's wrap of negative indices:
 * compare, add, select), which a gather or scatter_add may recompute at each index it
 * reads rather than read them from a kernel of their own. */
enum { SMALL_OPEN = 4 };
static bool small_open(const fstate *s) {
    int n = 0;
    for (int32_t q = 0; q < s->f->neqn && n <= SMALL_OPEN; q++)
        if (s->gid[q] == s->open) n++;
    return n <= SMALL_OPEN && !open_reduces(s);
}

/* Whether eqn k may join the open group, and whether it changes the group's space. */
static bool can_join(const fstate *s, int32_t k, bool *respace) {
    const jx_fn *f = s->f;
    const jx__eqn *e = &f->eqns[k];
    const jx_aval *o = &f->vars[e->out[0]];
    bool same = same_shape(o, &s->space);
    bool red = jx__prims[e->prim].cls == JX__REDUCE;
    /* an owner fold reads its operands many times, like a gather */
    bool ew = !red && !is_movement(e->prim) && e->prim != JX_PRIM_IOTA && !is_owner_fold(e->prim);
    for (int i = 0; i < e->nin; i++) {
        int32_t v = e->in[i].var;
        if (e->prim == JX_PRIM_PAD && in_open(s, v) && !s->cheap[v] && open_reduces(s)) return false;
        if (!in_open(s, v) || s->cheap[v] || is_permutation(e->prim)) continue;
        if (i == 1 && (e->prim == JX_PRIM_GATHER || e->prim == JX_PRIM_SCATTER_ADD) && small_open(s)) continue;
        if (same ? !(ew && same_shape(&f->vars[v], o)) : !red) return false;
    }
    *respace = !same;
    return same || open_closed_under(s, k);
}

static void mark_cheap(fstate *s, int32_t k) {
    const jx__eqn *e = &s->f->eqns[k];
    bool c = is_movement(e->prim) || e->prim == JX_PRIM_IOTA;
    for (int i = 0; c && i < e->nin; i++)
        if (in_open(s, e->in[i].var) && !s->cheap[e->in[i].var]) c = false;
    s->cheap[e->out[0]] = c;
}

static void close_open(fstate *s) {
    if (s->open >= 0) s->order[s->norder++] = s->open;
    s->open = -1;
}

static bool reads_open(const fstate *s, const jx__eqn *e) {
    for (int i = 0; i < e->nin; i++)
        if (in_open(s, e->in[i].var)) return true;
    return false;
}

/* Assigns every equation a group id and fills s->order. */
static void assign_groups(fstate *s, bool fuse) {
    const jx_fn *f = s->f;
    for (int32_t k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        jx__gkind kind = kind_of(s, e);
        if (kind == JX__G_LOOP && fuse) {
            bool respace = false;
            if (s->open >= 0 && can_join(s, k, &respace)) {
                s->gid[k] = s->open;
                if (respace) s->space = f->vars[e->out[0]];
            } else {
                close_open(s);
                s->open = s->ngroups++;
                s->loopg[s->open] = true;
                s->gid[k] = s->open;
                s->space = f->vars[e->out[0]];
            }
            mark_cheap(s, k);
            continue;
        }
        if (s->open >= 0 && (!fuse || reads_open(s, e))) close_open(s);
        s->gid[k] = s->ngroups++;
        s->order[s->norder++] = s->gid[k];
    }
    close_open(s);
}

/* ------------------------------------------------------------------ moving equations between groups */

int32_t jx__fs_group_size(const fstate *s, int32_t id) {
    int32_t n = 0;
    for (int32_t k = 0; k < s->f->neqn; k++) n += s->gid[k] == id;
    return n;
}

int32_t jx__fs_only_reader(const fstate *s, int32_t v) {
    if (v < 0 || s->fn_out[v] || s->ustart[v + 1] - s->ustart[v] != 1) return -1;
    return s->users[s->ustart[v]];
}

int32_t jx__fs_position(const fstate *s, int32_t id) {
    for (int32_t i = 0; i < s->norder; i++)
        if (s->order[i] == id) return i;
    return -1;
}

void jx__fs_move_into(fstate *s, int32_t t, int32_t k) {
    int32_t old = s->gid[t], w = 0;
    s->gid[t] = s->gid[k];
    if (jx__fs_group_size(s, old) > 0) return;
    for (int32_t i = 0; i < s->norder; i++)
        if (s->order[i] != old) s->order[w++] = s->order[i];
    s->norder = w;
}

/* ------------------------------------------------------------------ transposes into convs */

static bool lone_transpose(const fstate *s, int32_t k) {
    return k >= 0 && s->f->eqns[k].prim == JX_PRIM_TRANSPOSE && jx__fs_group_size(s, s->gid[k]) == 1;
}

/* Gives conv k the rev and transpose of its kernel (jx__conv_bwd_chain) when the backend
 * computes it as the adjoint of w's conv: they are then never a kernel. */
static void absorb_bwd_chain(fstate *s, int32_t k, bool (*ok)(const jx_fn *f, const jx__eqn *e)) {
    const jx_fn *f = s->f;
    const jx__eqn *rev, *tr = ok ? jx__conv_bwd_chain(f, &f->eqns[k], &rev) : NULL;
    if (!tr) return;
    int32_t v = (int32_t)(rev - f->eqns), t = (int32_t)(tr - f->eqns);
    /* their LOOP groups keep the rest (only the rev reads the transpose, only the conv the rev) */
    if (!s->loopg[s->gid[v]] || !s->loopg[s->gid[t]] || !ok(f, &f->eqns[k])) return;
    jx__fs_move_into(s, t, k);
    jx__fs_move_into(s, v, k);
}

static void absorb_transposes(fstate *s, const jx__backend *be) {
    const jx_fn *f = s->f;
    for (int32_t k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1) continue;
        bool (*conv_views_ok)(const jx_fn *f, const jx__eqn *e, int which) = be->conv_views_ok;
        absorb_bwd_chain(s, k, be->conv_bwd_data_ok);
        if (!conv_views_ok) continue;
        int32_t q = jx__fs_only_reader(s, e->out[0]);
        bool out_in = lone_transpose(s, q) && conv_views_ok(f, e, 2);
        if (out_in) jx__fs_move_into(s, q, k);
        for (int j = 0; j < 2; j++) {
            int32_t v = e->in[j].var, t = v >= 0 ? s->producer[v] : -1;
            if (lone_transpose(s, t) && jx__fs_only_reader(s, v) == k && conv_views_ok(f, e, j == 1 && out_in ? 3 : j))
                jx__fs_move_into(s, t, k);
        }
    }
}

/* ------------------------------------------------------------------ building groups */

static bool push_unique(int32_t *list, int32_t *n, int32_t v) {
    for (int32_t i = 0; i < *n; i++)
        if (list[i] == v) return false;
    list[(*n)++] = v;
    return true;
}

/* Fills group g (id `id`) from the equations assigned to it. */
static bool build_group(const fstate *s, int32_t id, jx__group *g) {
    const jx_fn *f = s->f;
    int32_t nin = 0, nout = 0;
    for (int32_t k = 0; k < f->neqn; k++)
        if (s->gid[k] == id) g->neqn++, nin += f->eqns[k].nin, nout += f->eqns[k].nout;
    g->eqns = malloc(sizeof(int32_t) * (size_t)(g->neqn + 1));
    g->in = malloc(sizeof(int32_t) * (size_t)(nin + 1));
    g->out = malloc(sizeof(int32_t) * (size_t)(nout + 1));
    if (!g->eqns || !g->in || !g->out) return false;
    g->neqn = 0;
    g->kind = JX__G_OPAQUE;
    for (int32_t k = 0, first = 1; k < f->neqn; k++) /* a conv's group is CONV, transposes and all; a dot's DOT */
        if (s->gid[k] == id) {
            jx__gkind kind = kind_of(s, &f->eqns[k]);
            if (first || kind == JX__G_CONV || kind == JX__G_DOT) g->kind = kind;
            first = 0;
        }
    for (int32_t k = 0; k < f->neqn; k++) {
        if (s->gid[k] != id) continue;
        const jx__eqn *e = &f->eqns[k];
        g->eqns[g->neqn++] = k;
        for (int i = 0; i < e->nin; i++) {
            int32_t v = e->in[i].var;
            if (v >= 0 && (s->producer[v] < 0 || s->gid[s->producer[v]] != id)) push_unique(g->in, &g->nin, v);
        }
        for (int o = 0; o < e->nout; o++) {
            int32_t v = e->out[o];
            /* a library call's result without readers is still written */
            bool escapes = s->fn_out[v] || (g->kind != JX__G_LOOP && s->ustart[v] == s->ustart[v + 1]);
            for (int32_t u = s->ustart[v]; !escapes && u < s->ustart[v + 1]; u++)
                escapes = s->gid[s->users[u]] != id;
            if (escapes) g->out[g->nout++] = v;
        }
    }
    return true;
}

/* The users CSR and the other per-variable tables. */
static bool state_init(fstate *s, const jx_fn *f) {
    size_t nv = (size_t)f->nvars + 1, ne = (size_t)f->neqn + 1;
    int32_t nuses = 0;
    for (int32_t k = 0; k < f->neqn; k++) nuses += f->eqns[k].nin;
    s->f = f;
    s->open = -1;
    s->producer = malloc(nv * sizeof(int32_t));
    s->gid = malloc(ne * sizeof(int32_t));
    s->ustart = calloc(nv + 1, sizeof(int32_t));
    s->users = malloc(((size_t)nuses + 1) * sizeof(int32_t));
    s->fn_out = calloc(nv, sizeof(bool));
    s->cheap = calloc(nv, sizeof(bool));
    s->order = malloc(ne * sizeof(int32_t));
    s->loopg = calloc(ne, sizeof(bool));
    if (!s->producer || !s->gid || !s->ustart || !s->users || !s->fn_out || !s->cheap || !s->order || !s->loopg)
        return false;
    for (int32_t v = 0; v < f->nvars; v++) s->producer[v] = -1;
    for (int32_t k = 0; k < f->neqn; k++) {
        s->gid[k] = -1;
        const jx__eqn *e = &f->eqns[k];
        for (int o = 0; o < e->nout; o++) s->producer[e->out[o]] = k;
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var >= 0) s->ustart[e->in[i].var + 1]++;
    }
    for (int32_t v = 0; v < f->nvars; v++) s->ustart[v + 1] += s->ustart[v];
    int32_t *fill = calloc(nv, sizeof(int32_t));
    if (!fill) return false;
    for (int32_t k = 0; k < f->neqn; k++)
        for (int i = 0; i < f->eqns[k].nin; i++) {
            int32_t v = f->eqns[k].in[i].var;
            if (v >= 0) s->users[s->ustart[v] + fill[v]++] = k;
        }
    free(fill);
    for (int32_t i = 0; i < f->nout; i++)
        if (f->out[i].var >= 0) s->fn_out[f->out[i].var] = true;
    return true;
}

static void state_free(fstate *s) {
    free(s->producer);
    free(s->gid);
    free(s->ustart);
    free(s->users);
    free(s->fn_out);
    free(s->cheap);
    free(s->order);
    free(s->loopg);
}

jx__fusion *jx__fuse(const jx_fn *f, bool fuse, const jx__backend *be) {
    fstate s = {0};
    jx__fusion *fu = calloc(1, sizeof *fu);
    bool ok = fu && state_init(&s, f);
    s.owner_folds = be && be->owner_folds;
    if (ok) {
        assign_groups(&s, fuse);
        if (fuse && be && (be->conv_views_ok || be->conv_bwd_data_ok)) absorb_transposes(&s, be);
        if (fuse && be && be->dot_epilogue_ok) jx__fuse_epilogues(&s, be->dot_epilogue_ok);
        if (fuse && be && be->row_groups) jx__fuse_rows(&s, be->row_groups);
        fu->groups = calloc((size_t)s.ngroups + 1, sizeof *fu->groups);
        ok = fu->groups != NULL;
        for (int32_t i = 0; ok && i < s.norder; i++) {
            fu->ngroups++;
            ok = build_group(&s, s.order[i], &fu->groups[i]);
        }
    }
    state_free(&s);
    if (!ok) {
        jx__fusion_free(fu);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory while fusing %s", f->name ? f->name : "a function");
        return NULL;
    }
    return fu;
}

void jx__fusion_free(jx__fusion *fu) {
    if (!fu) return;
    for (int k = 0; k < fu->ngroups; k++) {
        free(fu->groups[k].eqns);
        free(fu->groups[k].in);
        free(fu->groups[k].out);
    }
    free(fu->groups);
    free(fu);
}

/* ------------------------------------------------------------------ a CONV group's arrays */

const jx__eqn *jx__group_conv(const jx_fn *f, const jx__group *g) {
    for (int32_t i = 0; i < g->neqn; i++)
        if (f->eqns[g->eqns[i]].prim == JX_PRIM_CONV) return &f->eqns[g->eqns[i]];
    return NULL;
}

/* The equation of g producing v (reading it, when `reads`), or NULL. */
static const jx__eqn *in_group(const jx_fn *f, const jx__group *g, int32_t v, bool reads) {
    for (int32_t i = 0; v >= 0 && i < g->neqn; i++) {
        const jx__eqn *e = &f->eqns[g->eqns[i]];
        if (reads ? e->nin > 0 && e->in[0].var == v : e->out[0] == v) return e;
    }
    return NULL;
}

bool jx__conv_view_of(const jx_fn *f, const jx__group *g, jx__conv_view *cv) {
    const jx__eqn *c = jx__group_conv(f, g);
    if (!c || c->nin != 2) return false;
    cv->conv = c;
    cv->strided = cv->bwd_data = false;
    for (int j = 0; j < 2; j++) {
        const jx__eqn *t = c->in[j].var >= 0 ? in_group(f, g, c->in[j].var, false) : NULL;
        jx_aval a = jx__atom_aval(f, &c->in[j]);
        if (a.rank != 4) return false;
        if (j == 1 && t && t->prim == JX_PRIM_REV) { /* an input gradient's kernel: w itself, packed */
            const jx__eqn *rev, *tr = jx__conv_bwd_chain(f, c, &rev);
            if (!tr || rev != t || !in_group(f, g, rev->in[0].var, false)) return false;
            cv->src[1] = &tr->in[0];
            jx__row_strides(4, f->vars[tr->in[0].var].shape, cv->st[1]);
            cv->bwd_data = true;
            continue;
        }
        if (t && t->prim != JX_PRIM_TRANSPOSE) return false;
        cv->src[j] = t ? &t->in[0] : &c->in[j];
        if (!t) {
            jx__row_strides(a.rank, a.shape, cv->st[j]);
            continue;
        }
        int64_t row[JX_MAX_RANK]; /* operand dim d is dim perm[d] of the transpose's operand */
        jx__row_strides(f->vars[t->in[0].var].rank, f->vars[t->in[0].var].shape, row);
        jx_ints perm = jx__attr_ints(t->nattr, t->attrs, JX_A_PERM);
        for (int d = 0; d < 4; d++) cv->st[j][d] = row[perm.v[d]];
        cv->strided = true;
    }
    const jx__eqn *q = in_group(f, g, c->out[0], true);
    cv->out = q ? q->out[0] : c->out[0];
    if (f->vars[cv->out].rank != 4) return false;
    if (!q) {
        jx__row_strides(4, f->vars[cv->out].shape, cv->st[2]);
        return true;
    }
    int64_t row[JX_MAX_RANK]; /* dim i of the transpose's result is the conv's dim perm[i] */
    jx__row_strides(4, f->vars[cv->out].shape, row);
    jx_ints perm = jx__attr_ints(q->nattr, q->attrs, JX_A_PERM);
    for (int i = 0; i < 4; i++) cv->st[2][perm.v[i]] = row[i];
    cv->strided = true;
    return true;
}

static const char *const kind_names[] = {"loop", "dot", "conv", "window", "control", "opaque"};

static void print_vars(FILE *out, const jx_fn *f, int32_t n, const int32_t *vars) {
    for (int32_t i = 0; i < n; i++) fprintf(out, "%s%s", i ? " " : "", jx__avs(&f->vars[vars[i]]));
}

void jx__fusion_print(FILE *out, const jx_fn *f, const jx__fusion *fu) {
    fprintf(out, "fusion of %s: %d groups\n", f->name ? f->name : "fn", fu->ngroups);
    for (int k = 0; k < fu->ngroups; k++) {
        const jx__group *g = &fu->groups[k];
        fprintf(out, "  group %d %s [", k, kind_names[g->kind]);
        for (int32_t i = 0; i < g->neqn; i++)
            fprintf(out, "%s%s", i ? " " : "", jx__prims[f->eqns[g->eqns[i]].prim].name);
        fprintf(out, "] in (");
        print_vars(out, f, g->nin, g->in);
        fprintf(out, ") out (");
        print_vars(out, f, g->nout, g->out);
        fprintf(out, ")\n");
    }
}
