/* rules_index.c: jvp and transpose rules for the index primitives (see prims.def). */
#include "grad.h"

void jx__grad_register_index(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    (void)jvp;
    (void)tr;
}
