/* rules.c: the batch rule table, filled once by each group file (rules_<group>.c). */
#include <pthread.h>

#include "vmap.h"

jx__batch_rule jx__batch_rules[JX_PRIM_COUNT];

static void init_once(void) {
    jx__vmap_register_elementwise(jx__batch_rules);
    jx__vmap_register_movement(jx__batch_rules);
    jx__vmap_register_reduce(jx__batch_rules);
    jx__vmap_register_linalg(jx__batch_rules);
    jx__vmap_register_lapack(jx__batch_rules);
    jx__vmap_register_index(jx__batch_rules);
    jx__vmap_register_control(jx__batch_rules);
    jx__vmap_register_custom(jx__batch_rules);
    jx__vmap_register_collective(jx__batch_rules);
    jx__vmap_register_pmap(jx__batch_rules);
}

void jx__vmap_rules_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}
