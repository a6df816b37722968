/* rules.c: the jvp and transpose rule tables, filled once by each group file, and the
 * small helpers rules are written with. */
#include <pthread.h>

#include "../trace/ops_util.h"
#include "grad.h"

jx__jvp_rule jx__jvp_rules[JX_PRIM_COUNT];
jx__transpose_rule jx__transpose_rules[JX_PRIM_COUNT];

static void init_once(void) {
    jx__grad_register_elementwise(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_movement(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_reduce(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_linalg(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_lapack(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_index(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_control(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_custom(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_collective(jx__jvp_rules, jx__transpose_rules);
    jx__grad_register_pmap(jx__jvp_rules, jx__transpose_rules);
}

void jx__grad_rules_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}

jx_status jx__rebind(const jx__eqn *e, const jx_val *x, jx_val *y) {
    return jx__bind(e->loc, (jx_prim)e->prim, e->nin, x, e->nattr, e->attrs, e->nout, y, NULL);
}

jx_val jx__bind_like(const jx__eqn *e, jx_prim prim, int nin, const jx_val *x, int nattr,
                     const jx__attr *attrs) {
    return jx__bind1(e->loc, prim, nin, x, nattr, attrs);
}

jx_val jx__add_tan(jx_loc loc, jx_val a, jx_val b) {
    if (jx__is_zero(a)) return b;
    if (jx__is_zero(b)) return a;
    return jx_add_at(loc, a, b);
}

jx_val jx__zeros(jx_loc loc, const jx_aval *a) {
    return jx_full_at(loc, a->dtype, (jx_ints){a->shape, a->rank}, 0.0);
}

jx_val jx__unbroadcast(jx_loc loc, jx_val ct, const jx_aval *a) {
    if (jx__is_zero(ct)) return ct;
    jx_aval c = jx__val_aval(ct);
    if (a->rank == 0 && c.rank > 0) return jx_reduce_sum_at(loc, ct, JX_NOINTS);
    return ct;
}
