/* pass_dce.c: dead code elimination. Every primitive is pure, so an equation none of
 * whose outputs reaches a function output can go; equations are kept whole (an
 * equation with one live output keeps all of them). Nested bodies are cleaned inside,
 * keeping their signatures. */
#include <stdlib.h>

#include "pass_util.h"

jx_fn *jx_fn_dce(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_dce", "function is NULL"), NULL;
    uint8_t *live = calloc((size_t)(f->nvars ? f->nvars : 1), 1);
    uint8_t *keep = calloc((size_t)(f->neqn ? f->neqn : 1), 1);
    if (!live || !keep) {
        free(live);
        free(keep);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_fn_dce", "out of memory"), NULL;
    }
    for (int i = 0; i < f->nout; i++)
        if (f->out[i].var >= 0) live[f->out[i].var] = 1;
    /* one backward sweep suffices: SSA order means uses come after definitions */
    for (int k = f->neqn - 1; k >= 0; k--) {
        const jx__eqn *e = &f->eqns[k];
        for (int i = 0; i < e->nout && !keep[k]; i++) keep[k] = live[e->out[i]];
        if (!keep[k]) continue;
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var >= 0) live[e->in[i].var] = 1;
    }
    jx_fn *g = jx__fn_rebuild(f, keep, NULL, jx_fn_dce);
    free(live);
    free(keep);
    return g;
}
