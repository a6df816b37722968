/* impl_linalg.c: reference implementations of the linalg primitives (see prims.def). */
#include "../../trace/ir.h"

void jx__impl_register_linalg(jx__impl_rule *t) { (void)t; }
