/* impl_rules.c: the interpreter's rule table, filled once by each group of rules. */
#include <pthread.h>

#include "../../trace/ir.h"

jx__impl_rule jx__impl_rules[JX_PRIM_COUNT];

/* One registration function per file of rules (impl_<group>.c). */
void jx__impl_register_elementwise(jx__impl_rule *t);
void jx__impl_register_movement(jx__impl_rule *t);
void jx__impl_register_reduce(jx__impl_rule *t);
void jx__impl_register_linalg(jx__impl_rule *t);
void jx__impl_register_lapack(jx__impl_rule *t);
void jx__impl_register_index(jx__impl_rule *t);
void jx__impl_register_control(jx__impl_rule *t);
void jx__impl_register_custom(jx__impl_rule *t);
void jx__impl_register_collective(jx__impl_rule *t);

static void init_once(void) {
    jx__impl_register_elementwise(jx__impl_rules);
    jx__impl_register_movement(jx__impl_rules);
    jx__impl_register_reduce(jx__impl_rules);
    jx__impl_register_linalg(jx__impl_rules);
    jx__impl_register_lapack(jx__impl_rules);
    jx__impl_register_index(jx__impl_rules);
    jx__impl_register_control(jx__impl_rules);
    jx__impl_register_custom(jx__impl_rules);
    jx__impl_register_collective(jx__impl_rules);
}

void jx__impl_rules_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}
