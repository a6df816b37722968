/* rule_scratch.h: what a transformation rule (grad's and vmap's rules for the control and
 * custom-derivative primitives) holds while it runs: the trace it emits on, the user's
 * location, and an arena for its temporary lists and for the functions it builds (kept
 * alive until the equations using them have retained them). Private to src/. */
#ifndef JX_RULE_SCRATCH_H
#define JX_RULE_SCRATCH_H

#include "ir.h"

typedef struct jx__rs {
    jx__arena s;
    jx__trace *t;     /* the trace the rule emits on (the top one when it starts) */
    jx_loc loc;       /* the equation's location, for errors */
    const char *who;  /* the op named in out-of-memory errors ("grad", "vmap") */
    const void *cx;   /* the transformation's own context (vmap: its jx__vctx), or NULL */
} jx__rs;

/* Starts a rule for equation e on the top trace. */
void jx__rs_init(jx__rs *r, const jx__eqn *e, const char *who, const void *cx);

/* Frees the scratch; returns the trace's status. */
jx_status jx__rs_done(jx__rs *r);

/* Whether the rule's trace has no error yet. */
static inline bool jx__rs_ok(const jx__rs *r) { return r->t->status == JX_OK; }

/* n zeroed bytes (at least one) from the arena, or NULL with the trace's error set. */
void *jx__rs_alloc(jx__rs *r, size_t n);
#define JX_RS_NEW(r, T, n) ((T *)jx__rs_alloc((r), sizeof(T) * (size_t)((n) > 0 ? (n) : 1)))

/* The thread's error (set by a nested trace that failed) onto the rule's trace. */
void jx__rs_pass_error(jx__rs *r);

/* Hands f (a new reference, or NULL with the thread's error set) to the arena; NULL when
 * f is NULL (the error moves onto the rule's trace) or the trace has failed. */
jx_fn *jx__rs_own(jx__rs *r, jx_fn *f);

/* A closed nested trace for a function the rule builds (NULL on error, or when the rule's
 * trace has already failed), and its end: the function, owned by the arena. */
jx__trace *jx__rs_begin(jx__rs *r, const char *name, int n, const jx_aval *av, jx_val *in);
jx_fn *jx__rs_end(jx__rs *r, jx__trace *t, int n, const jx_val *out);

#endif
