/* group.c: what the jit and the backends both measure of a fusion group (backend.h). */
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
