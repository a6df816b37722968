/* ir.h: jx's internal IR (a typed SSA function like a jaxpr), the trace that builds
 * it, and the per-primitive rule tables. Everything under src/ includes this. */
#ifndef JX_IR_H
#define JX_IR_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "jx.h"

/* ------------------------------------------------------------------ primitives */

typedef enum jx_prim {
#define JX_PRIM(E, name, nin, nout, cls) JX_PRIM_##E,
#include "prims.def"
#undef JX_PRIM
    JX_PRIM_COUNT
} jx_prim;

typedef enum jx__pclass {
    JX__UNARY,
    JX__BINARY,
    JX__COMPARE,
    JX__SHAPE,
    JX__REDUCE,
    JX__OTHER,
    JX__HIGHER
} jx__pclass;

typedef struct jx__prim_info {
    const char *name;
    int nin, nout; /* -1: variadic */
    jx__pclass cls;
} jx__prim_info;
extern const jx__prim_info jx__prims[JX_PRIM_COUNT];
/* The primitive called `name`, or -1. */
int jx__prim_lookup(const char *name, size_t len);

/* ------------------------------------------------------------------ attributes */

typedef enum jx__akey {
#define JX_ATTR(E, name) JX_A_##E,
#include "attrs.def"
#undef JX_ATTR
    JX_A_COUNT
} jx__akey;
extern const char *const jx__attr_names[JX_A_COUNT];
int jx__attr_lookup(const char *name, size_t len);

typedef enum jx__akind {
    JX_AK_INT,   /* i */
    JX_AK_INTS,  /* ints[n] */
    JX_AK_F64,   /* f */
    JX_AK_DTYPE, /* i holds a jx_dtype */
    JX_AK_FNS,   /* fns[n]: one or more nested functions, each retained */
    JX_AK_ARRAY, /* arr, retained */
    JX_AK_STR    /* s: a NUL-terminated string, arena-copied */
} jx__akind;

typedef struct jx__attr {
    uint16_t key;  /* jx__akey */
    uint16_t kind; /* jx__akind */
    int32_t n;     /* entries of ints or fns */
    union {
        int64_t i;
        double f;
        const int64_t *ints;
        jx_fn *const *fns;
        jx_array *arr;
        const char *s;
    } u;
} jx__attr;

/* Attribute lookup; NULL if absent. */
const jx__attr *jx__attr_get(int nattr, const jx__attr *attrs, jx__akey key);
/* Typed getters: `def` when absent (the shape rule reports wrong kinds). */
int64_t jx__attr_int(int nattr, const jx__attr *attrs, jx__akey key, int64_t def);
jx_ints jx__attr_ints(int nattr, const jx__attr *attrs, jx__akey key);
const char *jx__attr_str(int nattr, const jx__attr *attrs, jx__akey key); /* NULL if absent */
/* Convenience builders for op wrappers (no copying: the bind copies). */
static inline jx__attr jx__a_int(jx__akey k, int64_t v) {
    jx__attr a = {(uint16_t)k, JX_AK_INT, 0, {.i = v}};
    return a;
}
static inline jx__attr jx__a_ints(jx__akey k, jx_ints v) {
    jx__attr a = {(uint16_t)k, JX_AK_INTS, v.n, {.ints = v.v}};
    return a;
}
static inline jx__attr jx__a_dtype(jx__akey k, jx_dtype v) {
    jx__attr a = {(uint16_t)k, JX_AK_DTYPE, 0, {.i = (int64_t)v}};
    return a;
}
static inline jx__attr jx__a_f64(jx__akey k, double v) {
    jx__attr a = {(uint16_t)k, JX_AK_F64, 0, {.f = v}};
    return a;
}
static inline jx__attr jx__a_fns(jx__akey k, int n, jx_fn *const *fns) {
    jx__attr a = {(uint16_t)k, JX_AK_FNS, n, {.fns = fns}};
    return a;
}
static inline jx__attr jx__a_array(jx__akey k, jx_array *arr) {
    jx__attr a = {(uint16_t)k, JX_AK_ARRAY, 0, {.arr = arr}};
    return a;
}
static inline jx__attr jx__a_str(jx__akey k, const char *s) {
    jx__attr a = {(uint16_t)k, JX_AK_STR, 0, {.s = s}};
    return a;
}
bool jx__attrs_equal(int n, const jx__attr *a, int m, const jx__attr *b);
uint64_t jx__attrs_hash(int n, const jx__attr *a);

/* ------------------------------------------------------------------ arena */

/* A bump allocator: everything of one trace or one jx_fn, freed at once. */
typedef struct jx__chunk jx__chunk;
typedef struct jx__arena {
    jx__chunk *head;
    /* objects to release when the arena is freed */
    jx_fn **fns;
    int nfns, capfns;
    jx_array **arrs;
    int narrs, caparrs;
} jx__arena;
void *jx__arena_alloc(jx__arena *a, size_t n); /* zeroed, 16-aligned; NULL if OOM */
void *jx__arena_dup(jx__arena *a, const void *p, size_t n);
char *jx__arena_strdup(jx__arena *a, const char *s);
bool jx__arena_keep_fn(jx__arena *a, jx_fn *f);       /* retains f */
bool jx__arena_keep_array(jx__arena *a, jx_array *x); /* retains x */
void jx__arena_free(jx__arena *a);
/* Copies attrs (ints arrays, retained fns/arrays) into the arena. */
jx__attr *jx__attrs_copy(jx__arena *a, int n, const jx__attr *attrs);

/* ------------------------------------------------------------------ the IR */

/* An operand: a variable of the function, or a scalar literal. */
typedef struct jx__atom {
    int32_t var; /* >= 0: variable id; -1: literal */
    jx_dtype dtype;
    union {
        double f;  /* float literals */
        int64_t i; /* integer and bool literals */
    } lit;
} jx__atom;

typedef struct jx__eqn {
    int16_t prim;  /* jx_prim */
    int16_t nattr;
    int32_t nin, nout;
    jx__atom *in;
    int32_t *out; /* variable ids */
    jx__attr *attrs;
    jx_loc loc; /* the user's line; file is arena-owned or static */
} jx__eqn;

struct jx_fn {
    atomic_int refs;
    jx__arena arena;
    const char *name;
    int32_t nvars;
    jx_aval *vars; /* aval of each variable */
    int32_t nin;
    int32_t *in; /* variable ids of the inputs */
    int32_t neqn;
    jx__eqn *eqns;
    int32_t nout;
    jx__atom *out;
    /* jx__fn_hash's value once computed (0: not yet); a jx_fn never changes after its
     * trace ends, so the hash is computed once per function */
    _Atomic uint64_t shash;
};

/* A structural hash of f (fn_hash.c): name, avals, equations, attributes (nested
 * functions by their own hash, arrays by content), literals and source lines; computed
 * once per jx_fn. jx__fn_equal is the matching equality: two functions are equal when
 * they print to the same text (and then run the same computation, failing at the same
 * lines). */
uint64_t jx__fn_hash(const jx_fn *f);
bool jx__fn_equal(const jx_fn *a, const jx_fn *b);

/* Nested function i of e's function attribute `key`; NULL when absent. */
const jx_fn *jx__eqn_fn(const jx__eqn *e, jx__akey key, int i);

static inline jx_aval jx__atom_aval(const jx_fn *f, const jx__atom *a) {
    if (a->var >= 0) return f->vars[a->var];
    jx_aval s = {a->dtype, 0, {0}};
    return s;
}
/* A literal's value as a double / as an int64 (bool and ints exact). */
double jx__lit_f64(const jx__atom *a);
int64_t jx__lit_i64(const jx__atom *a);
jx__atom jx__lit_make(jx_dtype t, double v);

/* ------------------------------------------------------------------ errors */

/* An environment switch: 1/true/on/yes or 0/false/off/no; unset or empty gives def, and
 * anything else a warning on stderr and def, so a typo is never silently a choice
 * (src/trace/env.c). Callers read their switches once per process. */
bool jx__env_bool(const char *name, bool def);
/* A whole-number switch in [lo, hi]; unset or empty gives def, anything else a warning and def. */
int64_t jx__env_int(const char *name, int64_t def, int64_t lo, int64_t hi);

/* Sets this thread's last error: "<file>:<line>: <what>: <formatted>" (file and what may
 * be NULL). Returns code, so `return jx__fail(...)` reads well. */
jx_status jx__fail(jx_status code, jx_loc loc, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
jx_status jx__vfail(jx_status code, jx_loc loc, const char *what, const char *fmt, va_list ap);
/* An aval as text in one of 8 rotating thread-local buffers, for messages. */
const char *jx__avs(const jx_aval *a);
const char *jx__ints_str(jx_ints v); /* "(1,2)", rotating buffers too */
extern const jx_loc jx__noloc;

/* Internal invariant: names jx's own line; never for user mistakes. */
#define JX__ASSERT(c)                                                             \
    do {                                                                          \
        if (!(c)) jx__assert_fail(#c, __FILE__, __LINE__);                        \
    } while (0)
void jx__assert_fail(const char *what, const char *file, int line);

/* ------------------------------------------------------------------ shape rules */

/* A shape rule: checks inputs and attributes, writes output avals (at most maxout) and
 * their count. On error it calls jx__rule_fail and returns its status; the bind adds
 * "<file>:<line>: <prim>: " in front. */
typedef struct jx__rule_err {
    jx_status code;
    char msg[512];
} jx__rule_err;
jx_status jx__rule_fail(jx__rule_err *e, jx_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef jx_status (*jx__shape_rule)(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                    int maxout, jx_aval *out, int *nout, jx__rule_err *err);
/* One entry per primitive; NULL where missing (the coverage test fails then). */
extern jx__shape_rule jx__shape_rules[JX_PRIM_COUNT];
/* Shape rule groups register themselves into the table: one per source file. */
void jx__shape_rules_init(void);

/* Normalises a possibly negative axis against rank; -1 if out of range. */
int jx__norm_axis(int64_t axis, int rank);

/* ------------------------------------------------------------------ traces */

/* A trace under construction. Traces nest (a body traced inside another body, a
 * transformation retracing an IR): they form a thread-local stack. */
typedef struct jx__cap {
    jx_val outer; /* value of an enclosing trace */
    int32_t var;  /* the input variable that stands for it here */
} jx__cap;

typedef struct jx__trace {
    uint32_t id;
    struct jx__trace *parent;
    const char *name;
    jx_loc loc;
    jx__arena arena; /* attrs, eqn arrays, strings; moved into the fn at the end */
    jx__atom *vals;  /* handle id -> atom */
    int32_t nvals, capvals;
    jx_aval *vars;
    int32_t nvars, capvars;
    jx__eqn *eqns;
    int32_t neqn, capeqn;
    int32_t *inputs;
    int32_t nin, capin;
    jx__cap *caps;
    int32_t ncaps, capcaps;
    bool allow_capture; /* false for a top-level trace: outer values are an error */
    /* equations own their loc.file in the arena: the last one copied, by source pointer */
    const char *file_src, *file_own;
    jx_status status;   /* first error; its message is in errmsg */
    char *errmsg;
} jx__trace;

/* Begins a trace (pushed on this thread's stack) with inputs of the given avals;
 * in_vals (may be NULL) receives their handles. */
jx__trace *jx__trace_begin(jx_loc loc, const char *name, int nin, const jx_aval *in,
                           jx_val *in_vals, bool allow_capture);
/* Ends the innermost trace (it must be t): builds the jx_fn from outputs, inputs first,
 * then captured values as extra inputs. caps_out (may be NULL) receives the outer
 * values captured, malloc'd (free it), and ncaps_out their count. Returns NULL if the
 * trace had an error (the thread error is then set from it). Frees t. */
jx_fn *jx__trace_end(jx__trace *t, int nout, const jx_val *out, jx_val **caps_out,
                     int *ncaps_out);
/* Abandons a trace (pops and frees it). */
void jx__trace_abort(jx__trace *t);
jx__trace *jx__trace_top(void);
jx__trace *jx__trace_find(uint32_t id); /* on this thread's stack, or NULL */

/* Records an error on the trace t (the first one wins). */
void jx__trace_fail(jx__trace *t, jx_status code, jx_loc loc, const char *what,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Adds an equation: resolves inputs (capturing values of enclosing traces), runs the
 * shape rule, copies attrs. out receives the output handles (maxout of room); *nout
 * their count (may be NULL). The trace is taken from the inputs, else the innermost.
 * On error every out is set to an invalid value of the trace and the error is kept. */
jx_status jx__bind(jx_loc loc, jx_prim prim, int nin, const jx_val *in, int nattr,
                   const jx__attr *attrs, int maxout, jx_val *out, int *nout);
/* Single-output convenience. */
jx_val jx__bind1(jx_loc loc, jx_prim prim, int nin, const jx_val *in, int nattr,
                 const jx__attr *attrs);
/* A literal handle on trace t. */
jx_val jx__lit_val(jx__trace *t, jx__atom lit);
/* The atom for a handle of trace t, capturing from enclosing traces as needed;
 * false (error recorded on t) if the value is invalid. */
bool jx__resolve(jx__trace *t, jx_loc loc, const char *what, jx_val v, jx__atom *atom);
/* The aval of a value (of any live trace); rank -1 if invalid. */
jx_aval jx__val_aval(jx_val v);

/* The primitives' own index reading for rules that build IR: like jx_gather,
 * jx_dynamic_slice, jx_dynamic_update_slice but without wrapping negative indices
 * (they clamp as the primitives do), for indices already wrapped or meant as they are. */
jx_val jx__gather_clamped_at(jx_loc loc, jx_val x, jx_val indices, int axis, int nbatch);
jx_val jx__dynamic_slice_clamped_at(jx_loc loc, jx_val x, const jx_val *starts, jx_ints sizes);
/* Binds a pmap equation of f over axis_name with `size` devices on the current trace:
 * in[i] mapped at in_dims[i] (-1: not mapped), out[j] at out_dims[j] (ops_collective.c). */
void jx__pmap_bind(jx_loc loc, const jx_fn *f, const char *axis_name, int64_t size, const int *in_dims,
                   const int *out_dims, const jx_val *in, jx_val *out);
jx_val jx__dynamic_update_slice_clamped_at(jx_loc loc, jx_val x, jx_val update, const jx_val *starts);

/* Replays the equations of f on the current trace with inputs in[], writing its
 * outputs to out[] (inlining). Used by call inlining and by transformations. */
jx_status jx__inline_fn(jx_loc loc, const jx_fn *f, const jx_val *in, jx_val *out);

/* ------------------------------------------------------------------ fn building */

/* Allocates an empty fn (refs = 1) for passes that copy IR: caller fills fields. */
jx_fn *jx__fn_alloc(void);
/* Runs fn over every nested function attribute of e (recursion helpers). */
int jx__count_eqns_total(const jx_fn *f);

/* ------------------------------------------------------------------ arrays */

struct jx__backend;
/* An array lives on the host, or on a device (jx_array_to, or an executable's output
 * on CUDA given device inputs): then dev holds its values and data stays NULL until the
 * host reads them (jx__array_host copies them back once; values never change, so the
 * two copies agree). */
struct jx_array {
    atomic_int refs;
    jx_aval aval;
    size_t nbytes;
    void *data;                   /* host storage, or NULL while only on the device */
    void *dev;                    /* device storage from be->alloc, or NULL */
    const struct jx__backend *be; /* dev's backend (frees and reads it) */
    jx_device device;             /* JX_DEVICE_CPU for a host array */
    struct jx_array *base;        /* a view (jx__array_view): data lies in base's storage */
};
/* An array of aval a whose values are the device buffer dev of backend be (taken over:
 * released with the array). NULL + error on OOM (dev then stays the caller's). */
jx_array *jx__array_on_device(const jx_aval *a, void *dev, const struct jx__backend *be, jx_device device);
/* The host storage of a, copied back from its device the first time (thread safe);
 * NULL with the error set when the copy fails. */
void *jx__array_host(jx_array *a);
/* Uninitialised array of an aval (data zeroed); NULL + error on bad aval/OOM. */
jx_array *jx__array_alloc(const jx_aval *a);
/* Host storage of arrays (host_alloc.c): 64-byte aligned; large freed blocks are cached
 * and reused for allocations of the same size. bytes must be what was allocated. */
void *jx__host_alloc(size_t bytes);
void jx__host_free(void *p, size_t bytes);
void jx__host_cache_trim(void); /* frees every cached block */
/* The same without zeroing, for rules that write every element: it saves a memory pass. */
jx_array *jx__array_alloc_uninit(const jx_aval *a);
/* A view of aval a on the bytes of host array base from byte offset on (base retained
 * until the view is released). The runtime only reads a view: one never leaves the code
 * that made it (pmap_run.c), since a frame that held one alone would write into base.
 * NULL + error on OOM. */
jx_array *jx__array_view(jx_array *base, const jx_aval *a, size_t offset);

/* ------------------------------------------------------------------ interpreter */

/* An impl rule computes one equation: in[] are the operand arrays (literals arrive
 * as rank-0 arrays), out_avals the output avals; it stores new references in out[].
 * On failure it returns a status with jx__fail() set (out left NULL). */
typedef jx_status (*jx__impl_rule)(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                                   jx_array **out);
extern jx__impl_rule jx__impl_rules[JX_PRIM_COUNT];
void jx__impl_rules_init(void);
/* Runs one equation e of f with its impl rule: operands are read from env (indexed by
 * variable; literals are made on the fly), outputs replace env's entries (released). */
jx_status jx__interp_eqn(const jx_fn *f, const jx__eqn *e, jx_array **env);
/* Evaluates f with the interpreter: in are borrowed, out receive new references. */
jx_status jx__interp_eval(const jx_fn *f, jx_array *const *in, jx_array **out);

#endif /* JX_IR_H */
