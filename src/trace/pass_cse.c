/* pass_cse.c: common subexpression elimination. Two equations with the same primitive,
 * equal attributes and the same operands (after earlier merges) compute the same
 * values, since every primitive is pure: the later one is dropped and its outputs read
 * the earlier one's. A hash table keyed by primitive, attributes and operands keeps
 * this linear in the number of equations. Nested bodies are CSE'd inside. */
#include <stdlib.h>
#include <string.h>

#include "pass_util.h"

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t eqn_hash(const jx__eqn *e, const jx__atom *sub) {
    uint64_t h = mix(jx__attrs_hash(e->nattr, e->attrs), ((uint64_t)(uint16_t)e->prim << 32) | (uint32_t)e->nin);
    for (int i = 0; i < e->nin; i++) {
        jx__atom a = jx__sub_atom(sub, &e->in[i]);
        if (a.var >= 0) {
            h = mix(h, (uint64_t)a.var);
        } else {
            uint64_t bits;
            memcpy(&bits, &a.lit, sizeof bits);
            h = mix(mix(h, 0xff00u + (uint64_t)a.dtype), bits);
        }
    }
    return h;
}

static bool eqn_same(const jx__eqn *a, const jx__eqn *b, const jx__atom *sub) {
    if (a->prim != b->prim || a->nin != b->nin || a->nout != b->nout ||
        !jx__attrs_equal(a->nattr, a->attrs, b->nattr, b->attrs))
        return false;
    for (int i = 0; i < a->nin; i++) {
        jx__atom x = jx__sub_atom(sub, &a->in[i]), y = jx__sub_atom(sub, &b->in[i]);
        if (!jx__atom_same(&x, &y)) return false;
    }
    return true;
}

jx_fn *jx_fn_cse(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_cse", "function is NULL"), NULL;
    size_t cap = 16;
    while (cap < 2 * (size_t)f->neqn) cap *= 2;
    int32_t *table = malloc(cap * sizeof *table); /* equation index + 1; 0 is empty */
    uint8_t *keep = malloc((size_t)(f->neqn ? f->neqn : 1));
    jx__atom *sub = jx__sub_identity(f);
    jx_fn *g = NULL;
    if (!table || !keep || !sub) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_fn_cse", "out of memory");
        goto done;
    }
    memset(table, 0, cap * sizeof *table);
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        size_t i = (size_t)eqn_hash(e, sub) & (cap - 1);
        while (table[i] && !eqn_same(&f->eqns[table[i] - 1], e, sub)) i = (i + 1) & (cap - 1);
        keep[k] = table[i] == 0;
        if (keep[k]) {
            table[i] = k + 1;
            continue;
        }
        const jx__eqn *first = &f->eqns[table[i] - 1];
        for (int o = 0; o < e->nout; o++) sub[e->out[o]] = sub[first->out[o]];
    }
    g = jx__fn_rebuild(f, keep, sub, jx_fn_cse);
done:
    free(table);
    free(keep);
    free(sub);
    return g;
}
