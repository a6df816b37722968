/* shape_reduce.c: shape and dtype rules for the reduce primitives (see prims.def). */
#include "ir.h"

void jx__shape_register_reduce(jx__shape_rule *t) { (void)t; }
