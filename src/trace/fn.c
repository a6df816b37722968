/* fn.c: the jx_fn object: lifetime and queries. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

jx_fn *jx__fn_alloc(void) {
    jx_fn *f = calloc(1, sizeof *f);
    if (f) atomic_init(&f->refs, 1);
    return f;
}

jx_fn *jx_fn_retain(jx_fn *f) {
    if (f) atomic_fetch_add(&f->refs, 1);
    return f;
}

void jx_fn_release(jx_fn *f) {
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1) return;
    jx__arena_free(&f->arena);
    free(f);
}

const char *jx_fn_name(const jx_fn *f) { return f && f->name ? f->name : ""; }
int jx_fn_num_inputs(const jx_fn *f) { return f ? f->nin : 0; }
int jx_fn_num_outputs(const jx_fn *f) { return f ? f->nout : 0; }
int jx_fn_num_eqns(const jx_fn *f) { return f ? f->neqn : 0; }

static jx_aval bad_aval(void) {
    jx_aval a;
    memset(&a, 0, sizeof a);
    a.rank = -1;
    a.dtype = JX_DTYPE_COUNT;
    return a;
}

jx_aval jx_fn_input_aval(const jx_fn *f, int i) {
    if (!f || i < 0 || i >= f->nin) return bad_aval();
    return f->vars[f->in[i]];
}

jx_aval jx_fn_output_aval(const jx_fn *f, int i) {
    if (!f || i < 0 || i >= f->nout) return bad_aval();
    return jx__atom_aval(f, &f->out[i]);
}

int jx__count_eqns_total(const jx_fn *f) {
    int n = f->neqn;
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        for (int a = 0; a < e->nattr; a++)
            if (e->attrs[a].kind == JX_AK_FNS)
                for (int j = 0; j < e->attrs[a].n; j++) n += jx__count_eqns_total(e->attrs[a].u.fns[j]);
    }
    return n;
}

int jx_fn_num_eqns_total(const jx_fn *f) { return f ? jx__count_eqns_total(f) : 0; }
