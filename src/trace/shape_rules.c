/* shape_rules.c: the shape/dtype rule table, filled once by each group of rules. */
#include <pthread.h>

#include "ir.h"

jx__shape_rule jx__shape_rules[JX_PRIM_COUNT];

/* One registration function per file of rules (shape_<group>.c). */
void jx__shape_register_elementwise(jx__shape_rule *t);
void jx__shape_register_movement(jx__shape_rule *t);
void jx__shape_register_reduce(jx__shape_rule *t);
void jx__shape_register_linalg(jx__shape_rule *t);
void jx__shape_register_lapack(jx__shape_rule *t);
void jx__shape_register_index(jx__shape_rule *t);
void jx__shape_register_control(jx__shape_rule *t);
void jx__shape_register_custom(jx__shape_rule *t);
void jx__shape_register_collective(jx__shape_rule *t);

static void init_once(void) {
    jx__shape_register_elementwise(jx__shape_rules);
    jx__shape_register_movement(jx__shape_rules);
    jx__shape_register_reduce(jx__shape_rules);
    jx__shape_register_linalg(jx__shape_rules);
    jx__shape_register_lapack(jx__shape_rules);
    jx__shape_register_index(jx__shape_rules);
    jx__shape_register_control(jx__shape_rules);
    jx__shape_register_custom(jx__shape_rules);
    jx__shape_register_collective(jx__shape_rules);
}

void jx__shape_rules_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}
