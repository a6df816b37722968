/* fuse.c: fusion groups (STUB: one opaque group per equation, to be replaced). */
#include <stdlib.h>

#include "jit.h"

static bool uses_var(const jx__eqn *e, int32_t v) {
    for (int i = 0; i < e->nin; i++)
        if (e->in[i].var == v) return true;
    return false;
}

jx__fusion *jx__fuse(const jx_fn *f, bool fuse) {
    (void)fuse;
    jx__fusion *fu = calloc(1, sizeof *fu);
    if (!fu) return NULL;
    fu->ngroups = f->neqn;
    fu->groups = calloc((size_t)f->neqn + 1, sizeof *fu->groups);
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        jx__group *g = &fu->groups[k];
        g->kind = JX__G_OPAQUE;
        g->neqn = 1;
        g->eqns = malloc(sizeof(int32_t));
        g->eqns[0] = k;
        g->in = malloc(sizeof(int32_t) * (size_t)(e->nin + 1));
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var >= 0) g->in[g->nin++] = e->in[i].var;
        g->out = malloc(sizeof(int32_t) * (size_t)(e->nout + 1));
        for (int i = 0; i < e->nout; i++) g->out[g->nout++] = e->out[i];
    }
    (void)uses_var;
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

void jx__fusion_print(FILE *out, const jx_fn *f, const jx__fusion *fu) {
    for (int k = 0; k < fu->ngroups; k++)
        fprintf(out, "group %d: %s\n", k, jx__prims[f->eqns[fu->groups[k].eqns[0]].prim].name);
}
