/* rules_custom.c: batch rules of the custom group (STUB: to be written). */
#include "vmap.h"

void jx__vmap_register_custom(jx__batch_rule *t) { (void)t; }
