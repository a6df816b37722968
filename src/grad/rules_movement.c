/* rules_movement.c: jvp and transpose rules for the movement primitives (see prims.def). */
#include "grad.h"

void jx__grad_register_movement(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    (void)jvp;
    (void)tr;
}
