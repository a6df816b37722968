/* shape_index.c: shape and dtype rules for the index primitives (see prims.def). */
#include "ir.h"

void jx__shape_register_index(jx__shape_rule *t) { (void)t; }
