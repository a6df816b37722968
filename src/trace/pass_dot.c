/* pass_dot.c: folds transposes into the equation that makes their operand, so the
 * backends never materialise them. The gradient of a matmul gives
 * transpose(dot_general(a, b)) with a perm that swaps the lhs-free and rhs-free output
 * groups: that is dot_general(b, a) with the lhs/rhs attributes swapped (the output is
 * batch dims, then lhs free dims, then rhs free dims; see shape_dot.c), which BLAS
 * computes for free. transpose(transpose(x)) becomes one transpose, or x. */
#include <stdlib.h>
#include <string.h>

#include "pass_util.h"

enum { MAX_DOT_ATTRS = 8 };

/* Storage for one rewritten equation (the copy of f->eqns points into it). */
typedef struct slot {
    jx__atom in[2];
    int64_t perm[JX_MAX_RANK];
    jx__attr attrs[MAX_DOT_ATTRS];
} slot;

typedef struct dot_pass {
    const jx_fn *f;
    jx__eqn *eqns;  /* copy of f->eqns, rewritten in place */
    uint8_t *keep;  /* per equation */
    jx__atom *sub;  /* per variable */
    int32_t *uses;  /* per variable: operand slots and function outputs that read it */
    int32_t *def;   /* per variable: the defining equation, or -1 */
    slot *slots;    /* one per transpose of f */
    int nslot;
} dot_pass;

static jx_ints ints_of(const jx__eqn *e, jx__akey key) { return jx__attr_ints(e->nattr, e->attrs, key); }

/* Whether perm, applied to the output of the dot_general d, keeps the batch dims in
 * place and swaps the (non-empty) lhs-free and rhs-free groups exactly. */
static bool swaps_free_groups(const jx_fn *f, const jx__eqn *d, jx_ints perm) {
    jx_aval l = jx__atom_aval(f, &d->in[0]);
    int rank = f->vars[d->out[0]].rank;
    int nb = ints_of(d, JX_A_LHS_BATCH).n, nl = l.rank - nb - ints_of(d, JX_A_LHS_CONTRACT).n;
    int nr = rank - nb - nl;
    if (perm.n != rank || nl <= 0 || nr <= 0) return false;
    for (int i = 0; i < nb; i++)
        if (perm.v[i] != i) return false;
    for (int i = 0; i < nr; i++)
        if (perm.v[nb + i] != nb + nl + i) return false;
    for (int i = 0; i < nl; i++)
        if (perm.v[nb + nr + i] != nb + i) return false;
    return true;
}

/* The attribute key standing for the other operand's list. */
static jx__akey swapped_key(jx__akey k) {
    switch (k) {
    case JX_A_LHS_CONTRACT: return JX_A_RHS_CONTRACT;
    case JX_A_RHS_CONTRACT: return JX_A_LHS_CONTRACT;
    case JX_A_LHS_BATCH: return JX_A_RHS_BATCH;
    case JX_A_RHS_BATCH: return JX_A_LHS_BATCH;
    default: return k;
    }
}

/* Equation k, y = transpose(d) with d = dot_general(a, b) used only here, becomes
 * y = dot_general(b, a) and the dot goes. Returns whether it did. */
static bool fold_dot(dot_pass *p, int k, jx__atom op, slot *s) {
    const jx__eqn *t = &p->eqns[k], *d = &p->eqns[p->def[op.var]];
    if (d->prim != JX_PRIM_DOT_GENERAL || d->nout != 1 || d->nin != 2 || d->nattr > MAX_DOT_ATTRS ||
        p->uses[op.var] != 1 || !swaps_free_groups(p->f, d, ints_of(t, JX_A_PERM)))
        return false;
    s->in[0] = d->in[1];
    s->in[1] = d->in[0];
    for (int a = 0; a < d->nattr; a++) {
        const jx__attr *src = jx__attr_get(d->nattr, d->attrs, swapped_key((jx__akey)d->attrs[a].key));
        s->attrs[a] = d->attrs[a];
        if (src) s->attrs[a].n = src->n, s->attrs[a].u = src->u;
    }
    jx__eqn e = *d;
    e.in = s->in;
    e.attrs = s->attrs;
    e.out = t->out;
    p->keep[p->def[op.var]] = 0;
    p->eqns[k] = e;
    return true;
}

/* Equation k, y = transpose[p2](t) with t = transpose[p1](x), becomes
 * y = transpose[p1 o p2](x), or y = x; t goes when y was its only use. */
static bool fold_transposes(dot_pass *p, int k, jx__atom op, slot *s) {
    const jx__eqn *t = &p->eqns[k], *inner = &p->eqns[p->def[op.var]];
    if (inner->prim != JX_PRIM_TRANSPOSE) return false;
    jx_ints p1 = ints_of(inner, JX_A_PERM), p2 = ints_of(t, JX_A_PERM);
    if (p1.n != p2.n || t->nattr > MAX_DOT_ATTRS) return false;
    bool iota = true;
    for (int i = 0; i < p2.n; i++) {
        if (p2.v[i] < 0 || p2.v[i] >= p1.n) return false;
        s->perm[i] = p1.v[p2.v[i]];
        iota = iota && s->perm[i] == i;
    }
    jx__atom x = jx__sub_atom(p->sub, &inner->in[0]);
    if (p->uses[op.var] == 1) p->keep[p->def[op.var]] = 0;
    if (iota) {
        p->sub[t->out[0]] = x;
        p->keep[k] = 0;
        return true;
    }
    s->in[0] = x;
    for (int a = 0; a < t->nattr; a++) {
        s->attrs[a] = t->attrs[a];
        if (t->attrs[a].key == JX_A_PERM) s->attrs[a].u.ints = s->perm;
    }
    p->eqns[k].in = s->in;
    p->eqns[k].attrs = s->attrs;
    return true;
}

/* Tries both rewrites on the transpose equation k. */
static bool fold_one(dot_pass *p, int k) {
    const jx__eqn *e = &p->eqns[k];
    if (e->nin != 1 || e->nout != 1 || e->in[0].var < 0 || p->nslot == 0) return false;
    /* an operand replaced earlier in this sweep has other readers than uses[] says:
     * leave it to the next round */
    jx__atom op = jx__sub_atom(p->sub, &e->in[0]);
    if (op.var != e->in[0].var || p->def[op.var] < 0) return false;
    slot *s = &p->slots[p->nslot - 1];
    if (!fold_dot(p, k, op, s) && !fold_transposes(p, k, op, s)) return false;
    p->nslot--;
    return true;
}

static bool has_nested(const jx_fn *f) {
    for (int k = 0; k < f->neqn; k++)
        for (int a = 0; a < f->eqns[k].nattr; a++)
            if (f->eqns[k].attrs[a].kind == JX_AK_FNS) return true;
    return false;
}

/* Fills uses[] and def[]; returns the number of transposes. */
static int count_uses(dot_pass *p) {
    const jx_fn *f = p->f;
    int ntr = 0;
    for (int v = 0; v < f->nvars; v++) p->def[v] = -1;
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        ntr += e->prim == JX_PRIM_TRANSPOSE;
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var >= 0) p->uses[e->in[i].var]++;
        for (int i = 0; i < e->nout; i++) p->def[e->out[i]] = k;
    }
    for (int i = 0; i < f->nout; i++)
        if (f->out[i].var >= 0) p->uses[f->out[i].var]++;
    return ntr;
}

jx_fn *jx__fn_fold_dot_transpose(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "fold_dot_transpose", "function is NULL"), NULL;
    size_t nv = (size_t)(f->nvars ? f->nvars : 1), ne = (size_t)(f->neqn ? f->neqn : 1);
    dot_pass p = {.f = f};
    p.uses = calloc(nv, sizeof *p.uses);
    p.def = malloc(nv * sizeof *p.def);
    jx_fn *g = NULL;
    if (!p.uses || !p.def) goto nomem;
    int ntr = count_uses(&p);
    bool nested = has_nested(f);
    if (ntr == 0 && !nested) {
        g = jx_fn_retain((jx_fn *)f); /* nothing to do: the same function, byte for byte */
        goto done;
    }
    p.eqns = malloc(ne * sizeof *p.eqns);
    p.keep = malloc(ne);
    p.slots = malloc((size_t)(ntr ? ntr : 1) * sizeof *p.slots);
    p.sub = jx__sub_identity(f);
    if (!p.eqns || !p.keep || !p.slots || !p.sub) goto nomem;
    memcpy(p.eqns, f->eqns, (size_t)f->neqn * sizeof *p.eqns);
    memset(p.keep, 1, ne);
    p.nslot = ntr;
    int changed = 0;
    /* forward, so a rewritten operand is what the next rewrite sees */
    for (int k = 0; k < f->neqn; k++)
        if (p.eqns[k].prim == JX_PRIM_TRANSPOSE) changed += fold_one(&p, k);
    if (!changed && !nested)
        g = jx_fn_retain((jx_fn *)f);
    else
        g = jx__fn_rebuild_eqns(f, p.eqns, p.keep, p.sub, jx__fn_fold_dot_transpose);
    goto done;
nomem:
    jx__fail(JX_ERR_NOMEM, jx__noloc, "fold_dot_transpose", "out of memory");
done:
    free(p.uses);
    free(p.def);
    free(p.eqns);
    free(p.keep);
    free(p.slots);
    free(p.sub);
    return g;
}
