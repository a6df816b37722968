/* rules_index.c: batch rules of the index group (STUB: to be written). */
#include "vmap.h"

void jx__vmap_register_index(jx__batch_rule *t) { (void)t; }
