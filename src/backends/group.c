/* group.c: what the jit and the backends both read of a fusion group and its equations
 * (backend.h). */
#include "backend.h"

int64_t jx__group_largest(const jx_fn *f, const jx__group *g) {
    int64_t most = 1;
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *e = &f->eqns[g->eqns[i]];
        for (int j = 0; j < e->nin + e->nout; j++) {
            int32_t v = j < e->nin ? e->in[j].var : e->out[j - e->nin];
            int64_t n = v >= 0 ? jx_aval_size(&f->vars[v]) : 0;
            if (n > most) most = n;
        }
    }
    return most;
}

/* The equation of f producing v, or NULL; and how many reads of v there are (f's outputs
 * included). */
static const jx__eqn *producer(const jx_fn *f, int32_t v) {
    for (int32_t k = 0; v >= 0 && k < f->neqn; k++)
        for (int o = 0; o < f->eqns[k].nout; o++)
            if (f->eqns[k].out[o] == v) return &f->eqns[k];
    return NULL;
}
static int readers(const jx_fn *f, int32_t v) {
    int n = 0;
    for (int32_t k = 0; k < f->neqn; k++)
        for (int j = 0; j < f->eqns[k].nin; j++) n += f->eqns[k].in[j].var == v;
    for (int32_t i = 0; i < f->nout; i++) n += f->out[i].var == v;
    return n;
}

const jx__eqn *jx__conv_bwd_chain(const jx_fn *f, const jx__eqn *c, const jx__eqn **rev) {
    if (c->prim != JX_PRIM_CONV || c->nin != 2 || c->nout != 1 || c->in[1].var < 0) return NULL;
    int r = f->vars[c->in[1].var].rank;
    if (r != 4 || jx__attr_int(c->nattr, c->attrs, JX_A_GROUPS, 1) != 1) return NULL;
    const jx__eqn *v = producer(f, c->in[1].var);
    if (!v || v->prim != JX_PRIM_REV || v->in[0].var < 0 || readers(f, c->in[1].var) != 1) return NULL;
    jx_ints dims = jx__attr_ints(v->nattr, v->attrs, JX_A_DIMS);
    if (dims.n != r - 2) return NULL;
    for (int i = 0; i < dims.n; i++)
        if (dims.v[i] != 2 + i) return NULL;
    const jx__eqn *t = producer(f, v->in[0].var);
    if (!t || t->prim != JX_PRIM_TRANSPOSE || t->in[0].var < 0 || readers(f, v->in[0].var) != 1) return NULL;
    jx_ints perm = jx__attr_ints(t->nattr, t->attrs, JX_A_PERM);
    if (perm.n != r || perm.v[0] != 1 || perm.v[1] != 0) return NULL;
    for (int i = 2; i < r; i++)
        if (perm.v[i] != i) return NULL;
    *rev = v;
    return t;
}

const jx__eqn *jx__conv_result_transpose(const jx_fn *f, const jx__eqn *c) {
    if (c->nout != 1 || readers(f, c->out[0]) != 1) return NULL;
    for (int32_t k = 0; k < f->neqn; k++) {
        const jx__eqn *t = &f->eqns[k];
        if (t->nin > 0 && t->in[0].var == c->out[0]) return t->prim == JX_PRIM_TRANSPOSE ? t : NULL;
    }
    return NULL;
}
