/* ops_util.h: helpers shared by the public op wrappers (src/trace/ops_*.c): finding the
 * current trace, failing with the user's line, numpy broadcasting. */
#ifndef JX_OPS_UTIL_H
#define JX_OPS_UTIL_H

#include "ir.h"

/* The innermost trace; NULL (thread error "<loc>: <what>: called outside of a trace")
 * when none is active. */
jx__trace *jx__ops_trace(jx_loc loc, const char *what);

/* An invalid value (id -1) of the innermost trace: what a failed op returns. */
jx_val jx__ops_invalid(void);

/* Records an error on the innermost trace (the first one wins) or, outside of any
 * trace, as the thread error; returns an invalid value. */
jx_val jx__ops_fail(jx_loc loc, jx_status code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when the innermost trace exists and has already failed (ops become no-ops). */
bool jx__ops_failed(void);

/* The aval of x, or, for an invalid x, records "invalid value" on the trace and
 * returns false. */
bool jx__ops_aval(jx_loc loc, const char *what, jx_val x, jx_aval *out);

/* numpy broadcasting of the shapes of a and b (dtype taken from a): trailing dims
 * align, a dim of 1 stretches. False when they do not broadcast. */
bool jx__broadcast_shapes(const jx_aval *a, const jx_aval *b, jx_aval *out);

/* x broadcast numpy-style to the shape of `to` with broadcast_in_dim; x itself when it
 * already has that shape. The caller has checked the shapes broadcast. */
jx_val jx__broadcast_to_aval(jx_loc loc, jx_val x, const jx_aval *to);

/* JAX's reading of a start or index s into a dim of size n: s < 0 ? s + n : s, once
 * (the primitive then clamps, or drops, what is still out of range). A literal wraps at
 * trace time; a traced signed integer value gets a select; anything else (unsigned,
 * not an integer, invalid) comes back as it is, for the primitive's rule to judge. */
jx_val jx__wrap_index(jx_loc loc, jx_val s, int64_t n);

#endif /* JX_OPS_UTIL_H */
