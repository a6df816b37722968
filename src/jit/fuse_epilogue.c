/* fuse_epilogue.c: GEMM epilogues, for backends whose GEMM library adds a bias to its
 * result or sums an operand in the same call (the CUDA backend's cuBLASLt:
 * src/backends/cuda/dot_lt.c).
 *
 * A dense layer's forward pass is y = x . w + broadcast(b): a dot and, in a LOOP group,
 * the broadcast and the add (with the activation after them). Its backward pass computes
 * dw = x^T . dy and db = reduce_sum(dy, 0): a dot, and a LOOP group of its own that reads
 * dy again. For a 2-D dot without batch dims whose backend says yes (dot_epilogue_ok):
 *  - BIAS: when the dot's one reader is add(y, broadcast_in_dim(b (n), dims (1))) (either
 *    order) and the broadcast's one reader is that add, the broadcast and the add join the
 *    dot's group (b must be f's input or made by a group before the dot's); the add's
 *    result is then what the group writes, and y is never stored. What else the LOOP group
 *    held (the activation, its mask) stays there, reading the group's result.
 *  - BGRAD: a reduce_sum alone in its LOOP group, placed after the dot's group, that sums
 *    one of the dot's operands over that operand's contracting dim, joins the dot's group:
 *    the GEMM writes it beside the product, and dy is not read a second time.
 * A dot takes one epilogue at most (cuBLASLt's one epilogue per call). The equations keep
 * their meaning: a backend that cannot run the group runs them one by one. */
#include "fuse_state.h"

/* The contracting dim of operand j of e, a dot_general of two 2-D variables without
 * batch dims contracting one dim each; -1 for any other equation. */
static int contract_dim(const jx_fn *f, const jx__eqn *e, int j) {
    if (e->prim != JX_PRIM_DOT_GENERAL || e->nin != 2 || e->nout != 1) return -1;
    for (int i = 0; i < 2; i++)
        if (e->in[i].var < 0 || f->vars[e->in[i].var].rank != 2) return -1;
    if (e->in[0].var == e->in[1].var) return -1;
    if (jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_BATCH).n || jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_BATCH).n)
        return -1;
    jx_ints c = jx__attr_ints(e->nattr, e->attrs, j ? JX_A_RHS_CONTRACT : JX_A_LHS_CONTRACT);
    return c.n == 1 && c.v[0] >= 0 && c.v[0] < 2 ? (int)c.v[0] : -1;
}

/* Whether b broadcasts a vector of y's dtype along y's rows: broadcast_in_dim of a
 * variable of shape (n) to y's shape (m, n) with dims (1). */
static bool bias_broadcast(const jx_fn *f, const jx__eqn *b, const jx_aval *y) {
    if (b->prim != JX_PRIM_BROADCAST_IN_DIM || b->nin != 1 || b->nout != 1 || b->in[0].var < 0) return false;
    const jx_aval *v = &f->vars[b->in[0].var], *o = &f->vars[b->out[0]];
    jx_ints d = jx__attr_ints(b->nattr, b->attrs, JX_A_DIMS);
    return v->rank == 1 && v->dtype == y->dtype && v->shape[0] == y->shape[1] && d.n == 1 && d.v[0] == 1 &&
           o->rank == 2 && o->shape[0] == y->shape[0] && o->shape[1] == y->shape[1];
}

/* Whether r sums operand j of dot e over its contracting dim into a vector of its dtype. */
static bool operand_sum(const jx_fn *f, const jx__eqn *r, const jx__eqn *e, int j) {
    if (r->prim != JX_PRIM_REDUCE_SUM || r->nin != 1 || r->nout != 1 || r->in[0].var != e->in[j].var) return false;
    jx_ints ax = jx__attr_ints(r->nattr, r->attrs, JX_A_AXES);
    int c = contract_dim(f, e, j);
    return c >= 0 && ax.n == 1 && ax.v[0] == c && f->vars[r->out[0]].rank == 1 &&
           f->vars[r->out[0]].dtype == f->vars[e->in[j].var].dtype;
}

/* Whether variable v exists before group `id` runs: f's input, or made by an earlier group. */
static bool ready_before(const fstate *s, int32_t v, int32_t id) {
    int32_t p = s->producer[v];
    return p < 0 || jx__fs_position(s, s->gid[p]) < jx__fs_position(s, id);
}

static bool take_bias(fstate *s, int32_t k, bool (*ok)(const jx_fn *, const jx__eqn *, int)) {
    const jx_fn *f = s->f;
    const jx__eqn *e = &f->eqns[k];
    int32_t y = e->out[0], a = jx__fs_only_reader(s, y);
    if (a < 0 || f->eqns[a].prim != JX_PRIM_ADD || f->eqns[a].nin != 2) return false;
    const jx__eqn *add = &f->eqns[a];
    int j = add->in[0].var == y ? 1 : 0; /* the bias operand */
    int32_t bb = add->in[j].var, b = bb >= 0 ? s->producer[bb] : -1;
    if (add->in[1 - j].var != y || b < 0 || jx__fs_only_reader(s, bb) != a ||
        !bias_broadcast(f, &f->eqns[b], &f->vars[y]) || !ready_before(s, f->eqns[b].in[0].var, s->gid[k]) ||
        !ok(f, e, JX__EPI_BIAS))
        return false;
    jx__fs_move_into(s, b, k);
    jx__fs_move_into(s, a, k);
    return true;
}

static void take_bgrad(fstate *s, int32_t k, bool (*ok)(const jx_fn *, const jx__eqn *, int)) {
    const jx_fn *f = s->f;
    const jx__eqn *e = &f->eqns[k];
    int32_t at = jx__fs_position(s, s->gid[k]);
    for (int j = 0; j < 2; j++) {
        int32_t v = e->in[j].var;
        for (int32_t u = s->ustart[v]; u < s->ustart[v + 1]; u++) {
            int32_t r = s->users[u], g = s->gid[r];
            if (!operand_sum(f, &f->eqns[r], e, j) || !s->loopg[g] || jx__fs_group_size(s, g) != 1 ||
                jx__fs_position(s, g) <= at || !ok(f, e, j ? JX__EPI_BGRAD1 : JX__EPI_BGRAD0))
                continue;
            jx__fs_move_into(s, r, k);
            return;
        }
    }
}

void jx__fuse_epilogues(fstate *s, bool (*ok)(const jx_fn *f, const jx__eqn *e, int kind)) {
    for (int32_t k = 0; k < s->f->neqn; k++) {
        if (contract_dim(s->f, &s->f->eqns[k], 0) < 0 || jx__fs_group_size(s, s->gid[k]) != 1) continue;
        if (!take_bias(s, k, ok)) take_bgrad(s, k, ok);
    }
}

bool jx__dot_epi_of(const jx_fn *f, const jx__group *g, jx__dot_epi *ep) {
    const jx__eqn *e = NULL, *other[2] = {NULL, NULL};
    int no = 0;
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *q = &f->eqns[g->eqns[i]];
        if (q->prim == JX_PRIM_DOT_GENERAL && !e) e = q;
        else if (no < 2) other[no++] = q;
        else return false;
    }
    if (!e || contract_dim(f, e, 0) < 0 || no != g->neqn - 1) return false;
    if (no == 1) { /* BGRAD */
        for (int j = 0; j < 2; j++)
            if (operand_sum(f, other[0], e, j)) {
                *ep = (jx__dot_epi){e, j ? JX__EPI_BGRAD1 : JX__EPI_BGRAD0, other[0]->out[0], e->out[0]};
                return true;
            }
        return false;
    }
    if (no != 2) return false;
    const jx__eqn *b = other[0]->prim == JX_PRIM_ADD ? other[1] : other[0];
    const jx__eqn *a = b == other[0] ? other[1] : other[0];
    int32_t y = e->out[0];
    if (a->prim != JX_PRIM_ADD || a->nin != 2 || !bias_broadcast(f, b, &f->vars[y])) return false;
    bool yb = a->in[0].var == y && a->in[1].var == b->out[0], by = a->in[1].var == y && a->in[0].var == b->out[0];
    if (!yb && !by) return false;
    *ep = (jx__dot_epi){e, JX__EPI_BIAS, b->in[0].var, a->out[0]};
    return true;
}
