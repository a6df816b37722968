/* rules_linalg.c: jvp and transpose rules for the linalg primitives (see prims.def). */
#include "grad.h"

void jx__grad_register_linalg(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    (void)jvp;
    (void)tr;
}
