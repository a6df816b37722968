/* rules_reduce.c: jvp and transpose rules for the reduce primitives (see prims.def). */
#include "grad.h"

void jx__grad_register_reduce(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    (void)jvp;
    (void)tr;
}
