/* shape_elementwise.c: shape and dtype rules for the elementwise primitives (see prims.def). */
#include "ir.h"

void jx__shape_register_elementwise(jx__shape_rule *t) { (void)t; }
