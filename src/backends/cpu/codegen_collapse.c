/* codegen_collapse.c: a loop group seen with adjacent dims merged. A kernel that adds a
 * per-channel f32[32] to f32[128,28,28,32] walks the same memory as one over
 * f32[100352,32], and the code generator makes far less of the second: one carry
 * instead of three, no unravelling by 28 and 784, one reduced loop instead of three in a
 * column sum (batch norm's statistics), so it compiles faster and runs no slower.
 *
 * Each (value, dim) of the group gets a class, shared by the dims its equations tie
 * together: an elementwise operand's dims and its result's, a broadcast's operand dims
 * and the ones they land in, a reduction's kept dims and its result's, a reshape's
 * non-1 dims when both sides have the same ones. Two classes merge when every value
 * that holds either holds both, side by side in that order, both at full size or both 1
 * (a broadcast along both), and no value holds a class twice. Merging keeps row-major
 * order, so every value's memory, each reduction's order of folding (its reduced
 * elements in row-major order, reduce_util.h) and so the results stay the same. Groups
 * with other movement (transpose, slice, iota, ...) are left as they are. */
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* Whether e is an equation this file knows how to see collapsed. */
static bool collapsible(const jx__eqn *e) {
    switch (e->prim) {
    case JX_PRIM_SELECT:
    case JX_PRIM_BROADCAST_IN_DIM:
    case JX_PRIM_RESHAPE:
    case JX_PRIM_SQUEEZE:
    case JX_PRIM_EXPAND_DIMS:
    case JX_PRIM_REDUCE_SUM:
    case JX_PRIM_REDUCE_PROD:
    case JX_PRIM_REDUCE_MAX:
    case JX_PRIM_REDUCE_MIN: return true;
    default: break;
    }
    jx__pclass c = jx__prims[e->prim].cls;
    return c == JX__UNARY || c == JX__BINARY || c == JX__COMPARE;
}

typedef struct {
    const jx_fn *f;
    int32_t *vi;   /* per variable of f: its index among the touched ones, or -1 */
    int32_t *tv;   /* the touched variables */
    int32_t *base; /* per touched variable: its first node (one per dim) */
    int32_t *up;   /* union-find parent of each node */
    int32_t *next; /* per class (a root node): 1 + the class last asked to follow it */
    bool *merges;  /* and may_merge's answer */
    int32_t ntv, nnodes;
} classes;

static int32_t find(classes *c, int32_t n) {
    while (c->up[n] != n) n = c->up[n] = c->up[c->up[n]];
    return n;
}

static void tie(classes *c, int32_t v, int dv, int32_t w, int dw) {
    int32_t a = find(c, c->base[c->vi[v]] + dv), b = find(c, c->base[c->vi[w]] + dw);
    if (a != b) c->up[a] = b;
}

/* Ties the dims e relates. */
static void tie_eqn(classes *c, const jx__eqn *e) {
    const jx_fn *f = c->f;
    int32_t out = e->out[0];
    const jx_aval *oa = &f->vars[out];
    int32_t x = e->nin ? e->in[0].var : -1;
    const jx_aval *xa = x >= 0 ? &f->vars[x] : NULL;
    switch (e->prim) {
    case JX_PRIM_BROADCAST_IN_DIM: {
        jx_ints bd = jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS);
        for (int j = 0; xa && j < xa->rank && j < bd.n; j++) tie(c, x, j, out, (int)bd.v[j]);
        return;
    }
    case JX_PRIM_REDUCE_SUM:
    case JX_PRIM_REDUCE_PROD:
    case JX_PRIM_REDUCE_MAX:
    case JX_PRIM_REDUCE_MIN: {
        bool red[JX_MAX_RANK];
        jx__cg_red_dims(e, red);
        for (int j = 0, k = 0; xa && j < xa->rank; j++)
            if (!red[j]) tie(c, x, j, out, k++);
        return;
    }
    case JX_PRIM_RESHAPE:
    case JX_PRIM_SQUEEZE:
    case JX_PRIM_EXPAND_DIMS: { /* the non-1 dims, when both sides have the same ones */
        int ta[JX_MAX_RANK], tb[JX_MAX_RANK], n = xa ? jx__cg_reshape_pairs(xa, oa, ta, tb) : -1;
        for (int i = 0; i < n; i++) tie(c, x, ta[i], out, tb[i]);
        return;
    }
    default: /* elementwise: operands of the result's rank (others are scalars) */
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var >= 0 && f->vars[e->in[i].var].rank == oa->rank)
                for (int d = 0; d < oa->rank; d++) tie(c, e->in[i].var, d, out, d);
    }
}

int jx__cg_reshape_pairs(const jx_aval *a, const jx_aval *b, int *da, int *db) {
    int i = 0, j = 0, n = 0;
    for (;; i++, j++, n++) {
        while (i < a->rank && a->shape[i] == 1) i++;
        while (j < b->rank && b->shape[j] == 1) j++;
        if (i == a->rank || j == b->rank) break;
        if (a->shape[i] != b->shape[j]) return -1;
        da[n] = i, db[n] = j;
    }
    return i == a->rank && j == b->rank ? n : -1;
}

/* Dim of touched variable t holding class k, or -1; -2 when it holds k twice. */
static int pos_of(classes *c, int32_t t, int32_t k) {
    int p = -1, r = c->f->vars[c->tv[t]].rank;
    for (int d = 0; d < r; d++)
        if (find(c, c->base[t] + d) == k) p = p == -1 ? d : -2;
    return p;
}

/* Whether classes k1 then k2 may merge (see the top of the file). */
static bool check_merge(classes *c, int32_t k1, int32_t k2) {
    int64_t full1 = 1, full2 = 1; /* their sizes where not broadcast */
    for (int32_t t = 0; t < c->ntv; t++) {
        const jx_aval *a = &c->f->vars[c->tv[t]];
        int p1 = pos_of(c, t, k1), p2 = pos_of(c, t, k2);
        if (p1 == -2 || p2 == -2 || (p1 >= 0) != (p2 >= 0) || (p1 >= 0 && p2 != p1 + 1)) return false;
        if (p1 >= 0) {
            if (a->shape[p1] > full1) full1 = a->shape[p1];
            if (a->shape[p2] > full2) full2 = a->shape[p2];
        }
    }
    for (int32_t t = 0; t < c->ntv; t++) {
        const jx_aval *a = &c->f->vars[c->tv[t]];
        int p1 = pos_of(c, t, k1);
        if (p1 < 0) continue;
        int64_t s1 = a->shape[p1], s2 = a->shape[p1 + 1];
        if (!(s1 == full1 && s2 == full2) && !(s1 == 1 && s2 == 1)) return false;
    }
    return true;
}

/* check_merge, asked once per pair (a class that merges has one successor) */
static bool may_merge(classes *c, int32_t k1, int32_t k2) {
    if (c->next[k1] != k2 + 1) c->next[k1] = k2 + 1, c->merges[k1] = check_merge(c, k1, k2);
    return c->merges[k1];
}

static void touch(classes *c, int32_t v) {
    if (v < 0 || c->vi[v] >= 0) return;
    c->vi[v] = c->ntv;
    c->base[c->ntv] = c->nnodes;
    c->tv[c->ntv++] = v;
    c->nnodes += c->f->vars[v].rank;
}

/* The shape of a in the view given the merges (joined[d]: dim d merges into dim d - 1),
 * and map: old dim -> new dim. */
static void collapsed_shape(const jx_aval *a, const bool *joined, jx_aval *out, int *map) {
    int r = 0;
    *out = (jx_aval){a->dtype, 0, {0}};
    for (int d = 0; d < a->rank; d++) {
        if (d == 0 || !joined[d]) out->shape[r++] = 1;
        out->shape[r - 1] *= a->shape[d];
        map[d] = r - 1;
    }
    out->rank = r;
}

void jx__cg_view_free(jx__cg_view *v) {
    free(v->vars);
    free(v->eqns);
    free(v->attrs);
    memset(v, 0, sizeof *v);
}

/* Rewrites the group's equations' attributes for the new shapes into v (map: per touched
 * variable, old dim -> new dim). */
static bool rewrite_eqns(classes *c, const jx__group *g, jx__cg_view *v, int (*map)[JX_MAX_RANK]) {
    const jx_fn *f = c->f;
    size_t nattr = 0;
    for (int32_t i = 0; i < g->neqn; i++) nattr += (size_t)f->eqns[g->eqns[i]].nattr + 1;
    v->attrs = malloc(sizeof *v->attrs * nattr + sizeof(int64_t) * JX_MAX_RANK * 2 * (size_t)g->neqn + 1);
    if (!v->attrs) return false;
    int64_t *ints = (int64_t *)(v->attrs + nattr);
    jx__attr *at = v->attrs;
    for (int32_t i = 0; i < g->neqn; i++) {
        jx__eqn *e = &v->eqns[g->eqns[i]];
        if (e->nattr) memcpy(at, e->attrs, sizeof *at * (size_t)e->nattr); /* attrs may be NULL */
        e->attrs = at;
        at += e->nattr + 1;
        int32_t x = e->nin ? e->in[0].var : -1, out = e->out[0];
        const jx_aval *oa = &v->vars[out];
        for (int k = 0; k < e->nattr; k++) {
            jx__attr *a = &e->attrs[k];
            int n = 0;
            if (a->key == JX_A_SHAPE && (e->prim == JX_PRIM_BROADCAST_IN_DIM || e->prim == JX_PRIM_RESHAPE)) {
                for (int d = 0; d < oa->rank; d++) ints[n++] = oa->shape[d];
            } else if (a->key == JX_A_DIMS && e->prim == JX_PRIM_BROADCAST_IN_DIM && x >= 0) {
                const jx_aval *xa = &f->vars[x];
                int *xm = map[c->vi[x]], *om = map[c->vi[out]];
                for (int j = 0; j < xa->rank; j++) /* each new operand dim: where its first old dim lands */
                    if (j == 0 || xm[j] != xm[j - 1]) ints[n++] = om[a->u.ints[j]];
            } else if (a->key == JX_A_AXES && jx__prims[e->prim].cls == JX__REDUCE && x >= 0) {
                int *xm = map[c->vi[x]]; /* the reduced dims merge only with each other */
                for (int j = 0; j < a->n; j++)
                    if (j == 0 || xm[a->u.ints[j]] != xm[a->u.ints[j - 1]]) ints[n++] = xm[a->u.ints[j]];
            } else {
                continue;
            }
            a->u.ints = ints;
            a->n = n;
            ints += n;
        }
        if (e->prim == JX_PRIM_SQUEEZE || e->prim == JX_PRIM_EXPAND_DIMS) e->prim = JX_PRIM_RESHAPE; /* avals only */
    }
    return true;
}

bool jx__cg_collapse(const jx_fn *f, const jx__group *g, jx__cg_view *v) {
    memset(v, 0, sizeof *v);
    if (g->nout == 0) return false;
    for (int32_t i = 0; i < g->neqn; i++)
        if (!collapsible(&f->eqns[g->eqns[i]]) || f->eqns[g->eqns[i]].nout != 1) return false;
    classes c = {.f = f};
    size_t most = (size_t)g->neqn * 4 + (size_t)g->nin + (size_t)g->nout + 1;
    for (int32_t i = 0; i < g->neqn; i++) most += (size_t)f->eqns[g->eqns[i]].nin;
    c.vi = malloc(sizeof(int32_t) * ((size_t)f->nvars + 1));
    c.tv = malloc(sizeof(int32_t) * most);
    c.base = malloc(sizeof(int32_t) * most);
    c.up = malloc(sizeof(int32_t) * most * JX_MAX_RANK);
    c.next = calloc(most * JX_MAX_RANK, sizeof(int32_t));
    c.merges = calloc(most * JX_MAX_RANK, sizeof(bool));
    int(*map)[JX_MAX_RANK] = malloc(sizeof *map * most);
    bool *joined = calloc(most * JX_MAX_RANK, sizeof(bool)), ok = false;
    if (!c.vi || !c.tv || !c.base || !c.up || !c.next || !c.merges || !map || !joined) goto done;
    for (int32_t i = 0; i < f->nvars; i++) c.vi[i] = -1;
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *e = &f->eqns[g->eqns[i]];
        for (int j = 0; j < e->nin; j++) touch(&c, e->in[j].var);
        touch(&c, e->out[0]);
    }
    for (int32_t n = 0; n < c.nnodes; n++) c.up[n] = n;
    for (int32_t i = 0; i < g->neqn; i++) tie_eqn(&c, &f->eqns[g->eqns[i]]);
    /* joined[base + d]: dim d of that variable merges into dim d - 1 */
    bool any = false;
    for (int32_t t = 0; t < c.ntv; t++) {
        const jx_aval *a = &f->vars[c.tv[t]];
        for (int d = 1; d < a->rank; d++) {
            int32_t k1 = find(&c, c.base[t] + d - 1), k2 = find(&c, c.base[t] + d);
            any |= joined[c.base[t] + d] = k1 != k2 && may_merge(&c, k1, k2);
        }
    }
    if (!any) goto done;
    v->vars = malloc(sizeof *v->vars * ((size_t)f->nvars + 1));
    v->eqns = malloc(sizeof *v->eqns * ((size_t)f->neqn + 1));
    if (!v->vars || !v->eqns) goto done;
    memcpy(v->vars, f->vars, sizeof *v->vars * (size_t)f->nvars);
    memcpy(v->eqns, f->eqns, sizeof *v->eqns * (size_t)f->neqn);
    for (int32_t t = 0; t < c.ntv; t++)
        collapsed_shape(&f->vars[c.tv[t]], &joined[c.base[t]], &v->vars[c.tv[t]], map[t]);
    for (int o = 1; o < g->nout; o++) /* the outputs keep one shape (the kernel's space) */
        if (!jx__cg_same_shape(&v->vars[g->out[o]], &v->vars[g->out[0]])) goto done;
    if (!rewrite_eqns(&c, g, v, map)) goto done;
    memcpy(&v->f, f, sizeof v->f);
    v->f.vars = v->vars;
    v->f.eqns = v->eqns;
    ok = true;
done:
    if (!ok) jx__cg_view_free(v);
    free(c.vi), free(c.tv), free(c.base), free(c.up), free(c.next), free(c.merges), free(map), free(joined);
    return ok;
}
