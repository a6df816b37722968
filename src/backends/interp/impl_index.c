/* impl_index.c: reference implementations of the index primitives (see prims.def). */
#include "../../trace/ir.h"

void jx__impl_register_index(jx__impl_rule *t) { (void)t; }
