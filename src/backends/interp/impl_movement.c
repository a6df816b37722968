/* impl_movement.c: reference implementations of the movement primitives (see prims.def). */
#include "../../trace/ir.h"

void jx__impl_register_movement(jx__impl_rule *t) { (void)t; }
