/* rules_control.c: jvp and transpose rules for the control primitives (see prims.def). */
#include "grad.h"

void jx__grad_register_control(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    (void)jvp;
    (void)tr;
}
