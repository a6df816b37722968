/* control_util.h: private helpers shared by the control-flow ops (and transformations
 * that rebuild their bodies). */
#ifndef JX_CONTROL_UTIL_H
#define JX_CONTROL_UTIL_H

#include "ir.h"

/* A function like f whose inputs are f's first nkeep inputs followed by nextra new
 * ones of avals extra[]: f's input nkeep + j reads new input nkeep + map[j] (for each
 * of f's nin - nkeep trailing inputs), and new inputs no one maps to are unused. It
 * lets bodies that captured different outer values share one operand list. Returns a
 * new reference (f itself, retained, when nothing changes), or NULL with the thread's
 * error set. */
jx_fn *jx__fn_pad_inputs(jx_loc loc, jx_fn *f, int nkeep, int nextra, const jx_aval *extra,
                         const int *map);

#endif
