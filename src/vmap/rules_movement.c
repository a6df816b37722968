/* rules_movement.c: batch rules of the movement group (STUB: to be written). */
#include "vmap.h"

void jx__vmap_register_movement(jx__batch_rule *t) { (void)t; }
