/* rules_control.c: batch rules of the control group (STUB: to be written). */
#include "vmap.h"

void jx__vmap_register_control(jx__batch_rule *t) { (void)t; }
