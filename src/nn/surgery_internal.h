/* surgery_internal.h: what the surgery files share inside src/nn. */
#ifndef JX_NN_SURGERY_INTERNAL_H
#define JX_NN_SURGERY_INTERNAL_H

#include <jx/surgery.h>

/* Prints the children of t, indented by depth, as jx_tree_print_model does. */
void jx__print_model(FILE *out, const jx_tree *t, int depth);

#endif
