/* jx.h: the public API of jx, JAX's composable transformations for C.
 *
 * A worked example: trace a one-layer network, print its IR, evaluate it.
 *
 *     #include <jx.h>
 *
 *     // out[0] = relu(x @ w + b)      x is (B,784), w is (784,512), b is (512)
 *     static void layer(jx_val *out, const jx_val *in, void *user) {
 *         (void)user;
 *         out[0] = jx_relu(jx_add(jx_matmul(in[0], in[1]), in[2]));
 *     }
 *
 *     int main(void) {
 *         jx_aval avals[3] = { JX_AVAL(JX_F32, 128, 784), JX_AVAL(JX_F32, 784, 512),
 *                              JX_AVAL(JX_F32, 512) };
 *         jx_fn *f = jx_trace("layer", layer, NULL, 3, avals, 1);
 *         if (!f) { fprintf(stderr, "%s\n", jx_errmsg()); return 1; }
 *         jx_fn_print(stdout, f);                     // jaxpr-like text
 *         jx_array *x = jx_array_ones(JX_F32, JX_INTS(128, 784));
 *         jx_array *w = jx_array_full(JX_F32, JX_INTS(784, 512), 0.01);
 *         jx_array *b = jx_array_zeros(JX_F32, JX_INTS(512));
 *         jx_array *in[3] = { x, w, b }, *y = NULL;
 *         if (jx_eval(f, 3, in, 1, &y) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
 *         ...
 *         jx_array_release(y); jx_array_release(x); ...; jx_fn_release(f);
 *     }
 *
 * Conventions
 *  - Every op is a macro around a function taking the caller's place (jx_loc), so an
 *    error names the user's file and line: `model.c:42: dot_general: ...`.
 *  - Errors while tracing are sticky: the first one is kept on the trace, later ops
 *    return an invalid value and do nothing, and jx_trace() returns NULL with the
 *    message in jx_errmsg(). Nothing in jx aborts or exits on a user's mistake.
 *  - Ownership: a function named *_new, *_parse, jx_trace or a transformation returns
 *    a new reference that the caller releases; *_retain adds one. Values (jx_val) live
 *    in their trace and need no freeing. jx never frees memory the caller supplied.
 *  - Binary ops broadcast numpy-style (a size-1 or missing leading dim stretches);
 *    dtypes must match exactly: convert with jx_convert().
 *  - Threads: every call may run in several threads at once on different objects. A
 *    trace, its jx_vals and the last error belong to the thread that made them (tracing
 *    state and jx_errmsg() are per thread). jx_fn, jx_exec and jx_array are immutable
 *    once made and reference counted atomically, so one function may be transformed,
 *    evaluated or compiled, and one executable run (jx_exec_run), from several threads at
 *    once; concurrent jx_jit calls share the compile cache safely (equal functions may
 *    compile twice, one result is kept). Writing an array's data (jx_array_data_mut)
 *    while another thread reads it is the caller's race. tests/thread checks this under
 *    ThreadSanitizer.
 */
#ifndef JX_H
#define JX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JX_VERSION_MAJOR 0
#define JX_VERSION_MINOR 1
#define JX_MAX_RANK 8 /* the most dimensions an array may have */

/* ------------------------------------------------------------------ status codes */

/* X(name, message): one list gives the enum, its names and its messages. */
#define JX_STATUS_LIST(X)                                   \
    X(OK, "ok")                                             \
    X(ERR_SHAPE, "shape mismatch")                          \
    X(ERR_DTYPE, "dtype mismatch")                          \
    X(ERR_AXIS, "axis out of range")                        \
    X(ERR_ARG, "invalid argument")                          \
    X(ERR_TRACE, "invalid use of a traced value")           \
    X(ERR_PARSE, "malformed IR text")                       \
    X(ERR_TYPECHECK, "IR does not typecheck")               \
    X(ERR_UNSUPPORTED, "not supported")                     \
    X(ERR_NOMEM, "out of memory")                           \
    X(ERR_IO, "input/output error")                         \
    X(ERR_RUNTIME, "runtime error")                         \
    X(ERR_INTERNAL, "internal error (a bug in jx)")

typedef enum jx_status {
#define JX__X(name, msg) JX_##name,
    JX_STATUS_LIST(JX__X)
#undef JX__X
    JX_STATUS_COUNT
} jx_status;

const char *jx_status_name(jx_status s);    /* "JX_ERR_SHAPE"; static storage */
const char *jx_status_message(jx_status s); /* "shape mismatch"; static storage */
/* The last error of this thread: a message with the user's file and line, borrowed
 * (valid until the next failing jx call on this thread). "" when there is none. */
const char *jx_errmsg(void);
jx_status jx_errcode(void);
void jx_clear_error(void);

/* ------------------------------------------------------------------ dtypes */

/* X(NAME, name, bytes) */
#define JX_DTYPE_LIST(X) \
    X(BOOL, bool, 1)     \
    X(U8, u8, 1)         \
    X(I32, i32, 4)       \
    X(U32, u32, 4)       \
    X(I64, i64, 8)       \
    X(F16, f16, 2)       \
    X(BF16, bf16, 2)     \
    X(F32, f32, 4)       \
    X(F64, f64, 8)

typedef enum jx_dtype {
#define JX__X(N, n, b) JX_##N,
    JX_DTYPE_LIST(JX__X)
#undef JX__X
    JX_DTYPE_COUNT
} jx_dtype;

const char *jx_dtype_name(jx_dtype t); /* "f32"; "?" for an invalid value */
size_t jx_dtype_size(jx_dtype t);      /* bytes per element; 0 if invalid */
int jx_dtype_is_float(jx_dtype t);     /* f16, bf16, f32, f64 */
int jx_dtype_is_int(jx_dtype t);       /* u8, i32, u32, i64 (not bool) */
int jx_dtype_is_signed(jx_dtype t);    /* i32, i64 and the floats */
/* f16 and bf16 are storage types: arithmetic ops want f32/f64; convert first. */
uint16_t jx_f32_to_f16(float x);  /* round to nearest even */
float jx_f16_to_f32(uint16_t h);
uint16_t jx_f32_to_bf16(float x); /* round to nearest even, NaN kept quiet */
float jx_bf16_to_f32(uint16_t h);

/* ------------------------------------------------------------------ shapes */

/* A list of integers passed by value: JX_INTS(128, 784), or JX_NOINTS for none.
 * jx reads a list only during the call it is given to and copies whatever it keeps
 * (attributes, avals, jit options, argnums), so JX_INTS(...) written in a call's
 * arguments is always safe. JX_INTS is a C compound literal: its array lives only until
 * the end of the enclosing block (the braces of an if, a loop body or a switch case).
 * A jx_ints stored in a variable or struct that is used after that block dangles, e.g.
 *     switch (k) { case 0: { opts.donate = JX_INTS(0); break; } }  jx_jit(f, dev, &opts);
 * Store a list with an array that lives long enough instead:
 *     static const int64_t first[] = {0};  opts.donate = (jx_ints){first, 1}; */
typedef struct jx_ints {
    const int64_t *v;
    int n;
} jx_ints;
#define JX_INTS(...)                                     \
    ((jx_ints){(const int64_t[]){__VA_ARGS__},           \
               (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))})
#define JX_NOINTS ((jx_ints){NULL, 0})

/* An abstract value: dtype and shape, what tracing knows of an array. */
typedef struct jx_aval {
    jx_dtype dtype;
    int rank;
    int64_t shape[JX_MAX_RANK];
} jx_aval;

/* Builds an aval; a rank above JX_MAX_RANK or a negative dim gives rank -1 (invalid). */
jx_aval jx_aval_make(jx_dtype dtype, jx_ints shape);
#define JX_AVAL(dtype, ...) jx_aval_make((dtype), JX_INTS(__VA_ARGS__))
#define JX_SCALAR(dtype) jx_aval_make((dtype), JX_NOINTS)
int64_t jx_aval_size(const jx_aval *a); /* number of elements */
int jx_aval_equal(const jx_aval *a, const jx_aval *b);
/* Writes "f32[128,784]" into buf (always terminated); returns buf. */
char *jx_aval_str(const jx_aval *a, char *buf, size_t n);

/* ------------------------------------------------------------------ host arrays */

/* A dense, row-major, reference-counted host array. */
typedef struct jx_array jx_array;

/* New array of the given dtype and shape; data (may be NULL for zeros) is copied.
 * Returns NULL with jx_errmsg() set on a bad shape or dtype. Release when done. */
jx_array *jx_array_new(jx_dtype dtype, jx_ints shape, const void *data);
jx_array *jx_array_zeros(jx_dtype dtype, jx_ints shape);
jx_array *jx_array_ones(jx_dtype dtype, jx_ints shape);
jx_array *jx_array_full(jx_dtype dtype, jx_ints shape, double value);
jx_array *jx_array_scalar(jx_dtype dtype, double value);
/* start, start+step, ... below stop (above, for a negative step), like numpy.arange. */
jx_array *jx_array_arange(jx_dtype dtype, double start, double stop, double step);
/* A converted copy (C conversion rules; float to int truncates, saturating). */
jx_array *jx_array_astype(const jx_array *a, jx_dtype dtype);
jx_array *jx_array_retain(jx_array *a);
void jx_array_release(jx_array *a); /* NULL is fine */

jx_aval jx_array_aval(const jx_array *a);
jx_dtype jx_array_dtype(const jx_array *a);
int jx_array_rank(const jx_array *a);
const int64_t *jx_array_shape(const jx_array *a); /* borrowed, rank entries */
int64_t jx_array_size(const jx_array *a);         /* elements */
size_t jx_array_nbytes(const jx_array *a);
const void *jx_array_data(const jx_array *a); /* borrowed, 64-byte aligned */
/* Writable data: only while you hold the only reference (jx never shares it then). */
void *jx_array_data_mut(jx_array *a);
/* Copies the data out; nbytes must equal jx_array_nbytes(). */
jx_status jx_array_copy_to(const jx_array *a, void *dst, size_t nbytes);
/* Element i (row-major flat index) as a double, for tests and small programs. */
double jx_array_get(const jx_array *a, int64_t i);
/* Prints like numpy: f32[2,2] [[1, 2], [3, 4]]; long arrays are elided. */
jx_status jx_array_print(FILE *out, const jx_array *a);

/* ------------------------------------------------------------------ tracing */

/* The caller's place, captured by the op macros. */
typedef struct jx_loc {
    const char *file;
    int line;
} jx_loc;
#define JX_HERE ((jx_loc){__FILE__, __LINE__})

/* A traced value: a handle into the trace that made it. Copy freely; it needs no
 * freeing and is valid until that trace ends. */
typedef struct jx_val {
    uint32_t trace;
    int32_t id;
} jx_val;
#define JX_NONE ((jx_val){0, -1})

/* A traced function (the IR): immutable and reference counted. */
typedef struct jx_fn jx_fn;

/* A body to trace: read in[0..nin), write out[0..nout). user is passed through. */
typedef void (*jx_body)(jx_val *out, const jx_val *in, void *user);

/* Traces body on abstract inputs into a jx_fn with nin inputs and nout outputs.
 * Returns NULL on the first error in the body, with jx_errmsg() naming its line. */
jx_fn *jx_trace_at(jx_loc loc, const char *name, jx_body body, void *user, int nin,
                   const jx_aval *in, int nout);
#define jx_trace(...) jx_trace_at(JX_HERE, __VA_ARGS__)

/* The status of the innermost trace on this thread (JX_OK when none is active):
 * lets a body stop early once something went wrong. */
jx_status jx_trace_status(void);

/* Records an error for code built on jx (src/nn, a user's library), as jx's own ops do:
 * "<file>:<line>: <what>: <message>". Inside a trace it becomes the innermost trace's
 * sticky error (the first one wins, jx_trace then fails with it); outside of any trace it
 * is this thread's last error. what may be NULL. Returns code. */
jx_status jx_error_at(jx_loc loc, jx_status code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* jx_error_at with a va_list, for code built on jx that has its own variadic error
 * helpers (src/nn): the arguments are formatted once, into jx's message. */
jx_status jx_verror_at(jx_loc loc, jx_status code, const char *what, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Queries on traced values; invalid values give rank -1 / dtype JX_DTYPE_COUNT. */
jx_aval jx_aval_of(jx_val x);
int jx_rank(jx_val x);
int64_t jx_dim(jx_val x, int axis); /* negative axes count from the end */
jx_dtype jx_dtype_of(jx_val x);
int jx_val_ok(jx_val x);

/* ------------------------------------------------------------------ the IR */

jx_fn *jx_fn_retain(jx_fn *f);
void jx_fn_release(jx_fn *f); /* NULL is fine */
const char *jx_fn_name(const jx_fn *f);
int jx_fn_num_inputs(const jx_fn *f);
int jx_fn_num_outputs(const jx_fn *f);
jx_aval jx_fn_input_aval(const jx_fn *f, int i);
jx_aval jx_fn_output_aval(const jx_fn *f, int i);
int jx_fn_num_eqns(const jx_fn *f);       /* top level */
int jx_fn_num_eqns_total(const jx_fn *f); /* nested functions included */

/* The jaxpr-like text form; it parses back to a function that prints identically. */
jx_status jx_fn_print(FILE *out, const jx_fn *f);
char *jx_fn_to_string(const jx_fn *f); /* malloc'd; free() it. NULL on failure */
/* Parses the text form; NULL on error with jx_errmsg() naming line and column. */
jx_fn *jx_fn_parse(const char *text);

/* Passes: each returns a new function (the input is unchanged). */
jx_status jx_fn_typecheck(const jx_fn *f); /* re-runs every shape rule */
jx_fn *jx_fn_dce(const jx_fn *f);          /* drops equations no output needs */
jx_fn *jx_fn_cse(const jx_fn *f);          /* merges identical equations */
jx_fn *jx_fn_fold(const jx_fn *f);         /* evaluates equations on literals */
jx_fn *jx_fn_simplify(const jx_fn *f); /* fold, transposes into dots, cse, dce until nothing changes */

/* ------------------------------------------------------------------ evaluation */

/* Evaluates f on host arrays with the reference interpreter. in[i] must match
 * f's input avals; out receives nout new references (release them). Subnormal floats are
 * flushed to zero as the jit does by default, unless JX_FLUSH_SUBNORMALS=0 (see
 * jx_jit_opts.subnormals and docs/jit.md). */
jx_status jx_eval(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out);

/* ------------------------------------------------------------------ ops
 * Each op below is a macro: jx_exp(x) calls jx_exp_at(JX_HERE, x). The _at forms
 * take an explicit place, for code that generates code on a user's behalf. */

/* Constants. A scalar becomes a literal in the IR; an array becomes a `constant`.
 * An integer scalar's value must fit its dtype (jx_scalar(JX_U8, 300) is an error naming
 * the value, the dtype and its range, as JAX raises one); a fraction truncates. */
jx_val jx_scalar_at(jx_loc loc, jx_dtype dtype, double value);
#define jx_scalar(...) jx_scalar_at(JX_HERE, __VA_ARGS__)
jx_val jx_scalar_like_at(jx_loc loc, jx_val like, double value); /* like's dtype */
#define jx_scalar_like(...) jx_scalar_like_at(JX_HERE, __VA_ARGS__)
jx_val jx_const_at(jx_loc loc, jx_array *value); /* retains value */
#define jx_const(...) jx_const_at(JX_HERE, __VA_ARGS__)
jx_val jx_full_at(jx_loc loc, jx_dtype dtype, jx_ints shape, double value);
#define jx_full(...) jx_full_at(JX_HERE, __VA_ARGS__)
jx_val jx_zeros_like_at(jx_loc loc, jx_val x);
#define jx_zeros_like(...) jx_zeros_like_at(JX_HERE, __VA_ARGS__)
jx_val jx_ones_like_at(jx_loc loc, jx_val x);
#define jx_ones_like(...) jx_ones_like_at(JX_HERE, __VA_ARGS__)
/* 0, 1, ... along `dimension` of an array of the given shape. */
jx_val jx_iota_at(jx_loc loc, jx_dtype dtype, jx_ints shape, int dimension);
#define jx_iota(...) jx_iota_at(JX_HERE, __VA_ARGS__)

/* Elementwise unary. Float ops want f32/f64; abs, sign, neg also take signed ints;
 * not is bitwise on ints and logical on bool. */
jx_val jx_neg_at(jx_loc loc, jx_val x);
#define jx_neg(...) jx_neg_at(JX_HERE, __VA_ARGS__)
jx_val jx_exp_at(jx_loc loc, jx_val x);
#define jx_exp(...) jx_exp_at(JX_HERE, __VA_ARGS__)
jx_val jx_log_at(jx_loc loc, jx_val x);
#define jx_log(...) jx_log_at(JX_HERE, __VA_ARGS__)
jx_val jx_log1p_at(jx_loc loc, jx_val x);
#define jx_log1p(...) jx_log1p_at(JX_HERE, __VA_ARGS__)
jx_val jx_expm1_at(jx_loc loc, jx_val x);
#define jx_expm1(...) jx_expm1_at(JX_HERE, __VA_ARGS__)
jx_val jx_tanh_at(jx_loc loc, jx_val x);
#define jx_tanh(...) jx_tanh_at(JX_HERE, __VA_ARGS__)
jx_val jx_logistic_at(jx_loc loc, jx_val x); /* 1 / (1 + exp(-x)) */
#define jx_logistic(...) jx_logistic_at(JX_HERE, __VA_ARGS__)
jx_val jx_sin_at(jx_loc loc, jx_val x);
#define jx_sin(...) jx_sin_at(JX_HERE, __VA_ARGS__)
jx_val jx_cos_at(jx_loc loc, jx_val x);
#define jx_cos(...) jx_cos_at(JX_HERE, __VA_ARGS__)
jx_val jx_sqrt_at(jx_loc loc, jx_val x);
#define jx_sqrt(...) jx_sqrt_at(JX_HERE, __VA_ARGS__)
jx_val jx_rsqrt_at(jx_loc loc, jx_val x);
#define jx_rsqrt(...) jx_rsqrt_at(JX_HERE, __VA_ARGS__)
jx_val jx_abs_at(jx_loc loc, jx_val x);
#define jx_abs(...) jx_abs_at(JX_HERE, __VA_ARGS__)
jx_val jx_sign_at(jx_loc loc, jx_val x);
#define jx_sign(...) jx_sign_at(JX_HERE, __VA_ARGS__)
jx_val jx_floor_at(jx_loc loc, jx_val x);
#define jx_floor(...) jx_floor_at(JX_HERE, __VA_ARGS__)
jx_val jx_ceil_at(jx_loc loc, jx_val x);
#define jx_ceil(...) jx_ceil_at(JX_HERE, __VA_ARGS__)
jx_val jx_round_at(jx_loc loc, jx_val x); /* half away from zero, like lax.round */
#define jx_round(...) jx_round_at(JX_HERE, __VA_ARGS__)
jx_val jx_not_at(jx_loc loc, jx_val x);
#define jx_not(...) jx_not_at(JX_HERE, __VA_ARGS__)
jx_val jx_integer_pow_at(jx_loc loc, jx_val x, int y); /* x**y, y a C int */
#define jx_integer_pow(...) jx_integer_pow_at(JX_HERE, __VA_ARGS__)
/* Special and inverse functions on f32/f64, with lax's names and derivatives: erf,
 * erfc, lgamma (log |gamma|), digamma (its derivative: NaN at 0 and the negative
 * integers, as in JAX), tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh; outside
 * their domain they give NaN, at its edges +-inf (C's libm values). */
jx_val jx_erf_at(jx_loc loc, jx_val x);
#define jx_erf(...) jx_erf_at(JX_HERE, __VA_ARGS__)
jx_val jx_erfc_at(jx_loc loc, jx_val x);
#define jx_erfc(...) jx_erfc_at(JX_HERE, __VA_ARGS__)
jx_val jx_lgamma_at(jx_loc loc, jx_val x);
#define jx_lgamma(...) jx_lgamma_at(JX_HERE, __VA_ARGS__)
jx_val jx_digamma_at(jx_loc loc, jx_val x);
#define jx_digamma(...) jx_digamma_at(JX_HERE, __VA_ARGS__)
jx_val jx_tan_at(jx_loc loc, jx_val x);
#define jx_tan(...) jx_tan_at(JX_HERE, __VA_ARGS__)
jx_val jx_asin_at(jx_loc loc, jx_val x);
#define jx_asin(...) jx_asin_at(JX_HERE, __VA_ARGS__)
jx_val jx_acos_at(jx_loc loc, jx_val x);
#define jx_acos(...) jx_acos_at(JX_HERE, __VA_ARGS__)
jx_val jx_atan_at(jx_loc loc, jx_val x);
#define jx_atan(...) jx_atan_at(JX_HERE, __VA_ARGS__)
jx_val jx_sinh_at(jx_loc loc, jx_val x);
#define jx_sinh(...) jx_sinh_at(JX_HERE, __VA_ARGS__)
jx_val jx_cosh_at(jx_loc loc, jx_val x);
#define jx_cosh(...) jx_cosh_at(JX_HERE, __VA_ARGS__)
jx_val jx_asinh_at(jx_loc loc, jx_val x);
#define jx_asinh(...) jx_asinh_at(JX_HERE, __VA_ARGS__)
jx_val jx_acosh_at(jx_loc loc, jx_val x);
#define jx_acosh(...) jx_acosh_at(JX_HERE, __VA_ARGS__)
jx_val jx_atanh_at(jx_loc loc, jx_val x);
#define jx_atanh(...) jx_atanh_at(JX_HERE, __VA_ARGS__)
/* bool: x is neither infinite nor NaN (f32/f64). */
jx_val jx_is_finite_at(jx_loc loc, jx_val x);
#define jx_is_finite(...) jx_is_finite_at(JX_HERE, __VA_ARGS__)

/* Elementwise binary, numpy broadcasting, equal dtypes.
 * Integers wrap on overflow (two's complement); x/0 is -1 for signed and all ones for
 * unsigned integers, x%0 is x; INT_MIN/-1 is INT_MIN (XLA's rules). Shifts by the bit
 * width or more give 0 (arithmetic right shift: the sign). */
jx_val jx_add_at(jx_loc loc, jx_val a, jx_val b);
#define jx_add(...) jx_add_at(JX_HERE, __VA_ARGS__)
jx_val jx_sub_at(jx_loc loc, jx_val a, jx_val b);
#define jx_sub(...) jx_sub_at(JX_HERE, __VA_ARGS__)
jx_val jx_mul_at(jx_loc loc, jx_val a, jx_val b);
#define jx_mul(...) jx_mul_at(JX_HERE, __VA_ARGS__)
jx_val jx_div_at(jx_loc loc, jx_val a, jx_val b); /* ints: truncates toward zero */
#define jx_div(...) jx_div_at(JX_HERE, __VA_ARGS__)
jx_val jx_rem_at(jx_loc loc, jx_val a, jx_val b); /* sign of a, like C fmod and % */
#define jx_rem(...) jx_rem_at(JX_HERE, __VA_ARGS__)
jx_val jx_pow_at(jx_loc loc, jx_val a, jx_val b);
#define jx_pow(...) jx_pow_at(JX_HERE, __VA_ARGS__)
jx_val jx_max_at(jx_loc loc, jx_val a, jx_val b); /* NaN if either is NaN */
#define jx_max(...) jx_max_at(JX_HERE, __VA_ARGS__)
jx_val jx_min_at(jx_loc loc, jx_val a, jx_val b);
#define jx_min(...) jx_min_at(JX_HERE, __VA_ARGS__)
jx_val jx_atan2_at(jx_loc loc, jx_val a, jx_val b);
#define jx_atan2(...) jx_atan2_at(JX_HERE, __VA_ARGS__)
jx_val jx_and_at(jx_loc loc, jx_val a, jx_val b); /* bitwise; logical on bool */
#define jx_and(...) jx_and_at(JX_HERE, __VA_ARGS__)
jx_val jx_or_at(jx_loc loc, jx_val a, jx_val b);
#define jx_or(...) jx_or_at(JX_HERE, __VA_ARGS__)
jx_val jx_xor_at(jx_loc loc, jx_val a, jx_val b);
#define jx_xor(...) jx_xor_at(JX_HERE, __VA_ARGS__)
jx_val jx_shift_left_at(jx_loc loc, jx_val a, jx_val b);
#define jx_shift_left(...) jx_shift_left_at(JX_HERE, __VA_ARGS__)
jx_val jx_shift_right_logical_at(jx_loc loc, jx_val a, jx_val b);
#define jx_shift_right_logical(...) jx_shift_right_logical_at(JX_HERE, __VA_ARGS__)
jx_val jx_shift_right_arithmetic_at(jx_loc loc, jx_val a, jx_val b);
#define jx_shift_right_arithmetic(...) jx_shift_right_arithmetic_at(JX_HERE, __VA_ARGS__)

/* Comparisons give bool; NaN compares unequal to everything (ne is true). */
jx_val jx_eq_at(jx_loc loc, jx_val a, jx_val b);
#define jx_eq(...) jx_eq_at(JX_HERE, __VA_ARGS__)
jx_val jx_ne_at(jx_loc loc, jx_val a, jx_val b);
#define jx_ne(...) jx_ne_at(JX_HERE, __VA_ARGS__)
jx_val jx_lt_at(jx_loc loc, jx_val a, jx_val b);
#define jx_lt(...) jx_lt_at(JX_HERE, __VA_ARGS__)
jx_val jx_le_at(jx_loc loc, jx_val a, jx_val b);
#define jx_le(...) jx_le_at(JX_HERE, __VA_ARGS__)
jx_val jx_gt_at(jx_loc loc, jx_val a, jx_val b);
#define jx_gt(...) jx_gt_at(JX_HERE, __VA_ARGS__)
jx_val jx_ge_at(jx_loc loc, jx_val a, jx_val b);
#define jx_ge(...) jx_ge_at(JX_HERE, __VA_ARGS__)
/* pred ? on_true : on_false elementwise; pred is bool; broadcasts. */
jx_val jx_select_at(jx_loc loc, jx_val pred, jx_val on_true, jx_val on_false);
#define jx_select(...) jx_select_at(JX_HERE, __VA_ARGS__)
/* Float to int truncates toward zero and saturates; NaN gives 0. */
jx_val jx_convert_at(jx_loc loc, jx_val x, jx_dtype dtype);
#define jx_convert(...) jx_convert_at(JX_HERE, __VA_ARGS__)
/* Blocks derivatives: the value passes, its gradient is zero. */
jx_val jx_stop_gradient_at(jx_loc loc, jx_val x);
#define jx_stop_gradient(...) jx_stop_gradient_at(JX_HERE, __VA_ARGS__)

/* Shape ops. Negative axes count from the end wherever an axis is taken. */
/* dims[i] is the output dim that operand dim i maps to; operand dims are 1 or equal. */
jx_val jx_broadcast_in_dim_at(jx_loc loc, jx_val x, jx_ints shape, jx_ints dims);
#define jx_broadcast_in_dim(...) jx_broadcast_in_dim_at(JX_HERE, __VA_ARGS__)
jx_val jx_broadcast_to_at(jx_loc loc, jx_val x, jx_ints shape); /* numpy rules */
#define jx_broadcast_to(...) jx_broadcast_to_at(JX_HERE, __VA_ARGS__)
jx_val jx_reshape_at(jx_loc loc, jx_val x, jx_ints shape); /* one -1 may be inferred */
#define jx_reshape(...) jx_reshape_at(JX_HERE, __VA_ARGS__)
jx_val jx_transpose_at(jx_loc loc, jx_val x, jx_ints perm); /* out dim i = x dim perm[i] */
#define jx_transpose(...) jx_transpose_at(JX_HERE, __VA_ARGS__)
jx_val jx_squeeze_at(jx_loc loc, jx_val x, jx_ints dims); /* dims must have size 1 */
#define jx_squeeze(...) jx_squeeze_at(JX_HERE, __VA_ARGS__)
jx_val jx_expand_dims_at(jx_loc loc, jx_val x, jx_ints dims); /* dims of the output */
#define jx_expand_dims(...) jx_expand_dims_at(JX_HERE, __VA_ARGS__)
/* strides may be JX_NOINTS for all ones. */
jx_val jx_slice_at(jx_loc loc, jx_val x, jx_ints start, jx_ints limit, jx_ints strides);
#define jx_slice(...) jx_slice_at(JX_HERE, __VA_ARGS__)
/* starts: rank scalar integer values, read as JAX's lax.dynamic_slice reads them: a
 * negative start is wrapped once by the dim's size (s + n), then the start is clamped
 * so the slice stays in bounds: dynamic_slice(arange(5), -1, sizes 3) is [2, 3, 4], a
 * start of -7 gives [0, 1, 2]. jx_dynamic_update_slice reads its starts the same way.
 * (The IR primitives only clamp; the wrap is emitted before them, a select on a traced
 * start, nothing for a literal.) */
jx_val jx_dynamic_slice_at(jx_loc loc, jx_val x, const jx_val *starts, jx_ints sizes);
#define jx_dynamic_slice(...) jx_dynamic_slice_at(JX_HERE, __VA_ARGS__)
jx_val jx_dynamic_update_slice_at(jx_loc loc, jx_val x, jx_val update, const jx_val *starts);
#define jx_dynamic_update_slice(...) jx_dynamic_update_slice_at(JX_HERE, __VA_ARGS__)
/* lo/hi may be negative (cropping); interior inserts padding between elements. */
jx_val jx_pad_at(jx_loc loc, jx_val x, jx_val padding_value, jx_ints lo, jx_ints hi,
                 jx_ints interior);
#define jx_pad(...) jx_pad_at(JX_HERE, __VA_ARGS__)
jx_val jx_concatenate_at(jx_loc loc, int n, const jx_val *xs, int axis);
#define jx_concatenate(...) jx_concatenate_at(JX_HERE, __VA_ARGS__)
jx_val jx_rev_at(jx_loc loc, jx_val x, jx_ints dims);
#define jx_rev(...) jx_rev_at(JX_HERE, __VA_ARGS__)

/* Reductions over axes (JX_NOINTS: all of them). */
jx_val jx_reduce_sum_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_reduce_sum(...) jx_reduce_sum_at(JX_HERE, __VA_ARGS__)
jx_val jx_reduce_max_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_reduce_max(...) jx_reduce_max_at(JX_HERE, __VA_ARGS__)
jx_val jx_reduce_min_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_reduce_min(...) jx_reduce_min_at(JX_HERE, __VA_ARGS__)
jx_val jx_reduce_prod_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_reduce_prod(...) jx_reduce_prod_at(JX_HERE, __VA_ARGS__)
/* Index of the first maximum (NaN counts as the maximum) along axis. */
jx_val jx_argmax_at(jx_loc loc, jx_val x, int axis, jx_dtype index_dtype);
#define jx_argmax(...) jx_argmax_at(JX_HERE, __VA_ARGS__)
jx_val jx_argmin_at(jx_loc loc, jx_val x, int axis, jx_dtype index_dtype);
#define jx_argmin(...) jx_argmin_at(JX_HERE, __VA_ARGS__)
jx_val jx_cumsum_at(jx_loc loc, jx_val x, int axis, int reverse);
#define jx_cumsum(...) jx_cumsum_at(JX_HERE, __VA_ARGS__)
jx_val jx_cumprod_at(jx_loc loc, jx_val x, int axis, int reverse);
#define jx_cumprod(...) jx_cumprod_at(JX_HERE, __VA_ARGS__)
jx_val jx_cummax_at(jx_loc loc, jx_val x, int axis, int reverse);
#define jx_cummax(...) jx_cummax_at(JX_HERE, __VA_ARGS__)
jx_val jx_cummin_at(jx_loc loc, jx_val x, int axis, int reverse);
#define jx_cummin(...) jx_cummin_at(JX_HERE, __VA_ARGS__)

/* Contractions. Output dims: batch, then lhs free, then rhs free (lax.dot_general).
 * f16 and bf16 operands (both of one dtype) are multiplied in f32 and the result rounded
 * once to their dtype, as XLA's CPU backend does (traced as converts around an f32
 * dot_general, so grad and every backend see f32 GEMMs). */
jx_val jx_dot_general_at(jx_loc loc, jx_val lhs, jx_val rhs, jx_ints lhs_contract,
                         jx_ints rhs_contract, jx_ints lhs_batch, jx_ints rhs_batch);
#define jx_dot_general(...) jx_dot_general_at(JX_HERE, __VA_ARGS__)
/* numpy matmul: (...,m,k) @ (...,k,n), batch dims broadcast; rank-1 operands allowed. */
jx_val jx_matmul_at(jx_loc loc, jx_val a, jx_val b);
#define jx_matmul(...) jx_matmul_at(JX_HERE, __VA_ARGS__)

/* Dimension numbers of a convolution, as lax.conv_general_dilated takes them: one
 * letter per dim of lhs ('N' batch, 'C' features), rhs ('O' output and 'I' input
 * features) and the output ('N', 'C'); the other letters name the spatial dims and
 * must be the same set in all three (e.g. "HW"). Spatial dims are taken in the order
 * rhs lists them: strides, padding and dilations give one entry per spatial dim in
 * that order. All NULL means the canonical {"NC..", "OI..", "NC.."} (NCHW). */
typedef struct jx_conv_dims {
    const char *lhs, *rhs, *out;
} jx_conv_dims;
#define JX_CONV_NCHW ((jx_conv_dims){"NCHW", "OIHW", "NCHW"})
#define JX_CONV_NHWC ((jx_conv_dims){"NHWC", "HWIO", "NHWC"}) /* flax/TF layout */
#define JX_CONV_NWC ((jx_conv_dims){"NWC", "WIO", "NWC"})
#define JX_CONV_NDHWC ((jx_conv_dims){"NDHWC", "DHWIO", "NDHWC"})
/* JX_PADDING_EXPLICIT uses pad_lo/pad_hi; SAME pads so that out = ceil(in / stride)
 * (the odd cell at the end, like lax's "SAME"); VALID pads nothing. */
typedef enum jx_padding { JX_PADDING_EXPLICIT, JX_PADDING_SAME, JX_PADDING_VALID } jx_padding;

/* Convolution on lhs (N,C,spatial...) and rhs (O,C/groups,spatial...) giving
 * (N,O,spatial...). Zero-initialised fields take defaults: strides and dilations 1,
 * padding 0, one feature group. lhs_dilation > 1 makes a transposed convolution. */
typedef struct jx_conv_opts {
    jx_ints strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation;
    int64_t feature_groups;
} jx_conv_opts;
jx_val jx_conv_at(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *opts);
#define jx_conv(...) jx_conv_at(JX_HERE, __VA_ARGS__)
/* lax.conv_general_dilated with dimension numbers and a padding mode: jx_conv on
 * operands laid out as `dims` says (e.g. JX_CONV_NHWC: NHWC images, HWIO kernels, NHWC
 * result); opts as for jx_conv, its lists in the spatial order of dims.rhs; with SAME
 * or VALID padding, opts->pad_lo/pad_hi must be empty. Traced as transposes around the
 * one canonical conv_general_dilated primitive (docs/decisions.md), so grad, vmap and
 * jit see only that. */
jx_val jx_conv_general_dilated_at(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *opts,
                                  jx_conv_dims dims, jx_padding padding);
#define jx_conv_general_dilated(...) jx_conv_general_dilated_at(JX_HERE, __VA_ARGS__)
/* 2-D convolution of x (N,H,W,C) with w (KH,KW,C/groups,O) giving (N,H',W',O): the
 * layout of flax.linen.Conv, stride (sh, sw), SAME or VALID padding, one group. */
jx_val jx_conv2d_nhwc_at(jx_loc loc, jx_val x, jx_val w, int64_t sh, int64_t sw, jx_padding padding);
#define jx_conv2d_nhwc(...) jx_conv2d_nhwc_at(JX_HERE, __VA_ARGS__)

/* Linear algebra, as jax.lax.linalg (LAPACK/BLAS through OpenBLAS): leading dims are
 * batch dims, matrices are the last two; f32 or f64.
 * cholesky: the lower factor L of (x + x^T)/2 (x symmetric positive definite; a matrix
 * that is not gives NaNs in the lower triangle, like JAX). L's upper triangle is zero. */
jx_val jx_cholesky_at(jx_loc loc, jx_val x);
#define jx_cholesky(...) jx_cholesky_at(JX_HERE, __VA_ARGS__)
/* Flags of jx_triangular_solve (0: lax's defaults, right side and upper). */
enum {
    JX_SOLVE_LEFT = 1,          /* solve op(a) x = b rather than x op(a) = b */
    JX_SOLVE_LOWER = 2,         /* a is lower triangular (its other triangle is ignored) */
    JX_SOLVE_TRANSPOSE_A = 4,   /* op(a) = a^T */
    JX_SOLVE_UNIT_DIAGONAL = 8, /* a's diagonal is taken as ones */
};
/* lax.linalg.triangular_solve: x with op(a) x = b (JX_SOLVE_LEFT; b (..., m, n)) or
 * x op(a) = b (b (..., n, m)), a (..., m, m) triangular, batch dims equal. flags: an
 * or of JX_SOLVE_*. */
jx_val jx_triangular_solve_at(jx_loc loc, jx_val a, jx_val b, int flags);
#define jx_triangular_solve(...) jx_triangular_solve_at(JX_HERE, __VA_ARGS__)
/* jax.scipy.linalg.cho_solve((L, True), b): x with (L L^T) x = b for the lower factor L
 * of jx_cholesky, b (..., n, k); two triangular solves. */
jx_val jx_cho_solve_at(jx_loc loc, jx_val L, jx_val b);
#define jx_cho_solve(...) jx_cho_solve_at(JX_HERE, __VA_ARGS__)
/* lax.linalg.lu: partial-pivoting LU of a (..., m, n) (LAPACK getrf). *lu: L (unit
 * diagonal, not stored) below the diagonal and U on and above it, (..., m, n);
 * *pivots: i32 (..., min(m, n)), row i was swapped with row pivots[i]; *permutation:
 * i32 (..., m), a[permutation] = L U. A singular a is factored all the same (zeros on
 * U's diagonal), like JAX. Differentiable in a (JAX's rule); pivots and permutation
 * are not. */
void jx_lu_at(jx_loc loc, jx_val a, jx_val *lu, jx_val *pivots, jx_val *permutation);
#define jx_lu(...) jx_lu_at(JX_HERE, __VA_ARGS__)
/* lax.linalg.eigh: *v (..., n, n), the eigenvectors in its columns, and *w (..., n),
 * the eigenvalues in ascending order, of (x + x^T)/2 for x (..., n, n) (LAPACK syevd),
 * x = v diag(w) v^T. NaNs where syevd fails. Differentiable (JAX's rule; v's sign is
 * LAPACK's choice, so only sign-free functions of v have a meaningful derivative). */
void jx_eigh_at(jx_loc loc, jx_val x, jx_val *v, jx_val *w);
#define jx_eigh(...) jx_eigh_at(JX_HERE, __VA_ARGS__)
/* jnp.linalg.qr(a, mode="reduced") for a (..., m, n) (geqrf, orgqr), k = min(m, n): *q
 * (..., m, k) with orthonormal columns and *r (..., k, n) upper triangular (upper
 * trapezoidal when m < n), a = q r. Differentiable (JAX 0.10's rule, the wide case
 * included). */
void jx_qr_at(jx_loc loc, jx_val a, jx_val *q, jx_val *r);
#define jx_qr(...) jx_qr_at(JX_HERE, __VA_ARGS__)
/* lax.linalg.svd / jnp.linalg.svd of a (..., m, n) (LAPACK gesdd), k = min(m, n):
 * *s (..., k), the singular values in descending order; with compute_uv also *u and
 * *vt, a = u diag(s) vt: u (..., m, k) and vt (..., k, n), or with full_matrices
 * u (..., m, m) and vt (..., n, n). Without compute_uv, u and vt may be NULL and are not
 * written. NaNs where gesdd fails, like JAX. Differentiable (JAX's rule; the signs of
 * u's and vt's vectors are LAPACK's choice, so only sign-free functions of them have a
 * meaningful derivative; as in JAX, the derivative of u and vt with full_matrices is
 * an error unless a is square, and repeated singular values give infinities in it). */
void jx_svd_at(jx_loc loc, jx_val a, int full_matrices, int compute_uv, jx_val *u, jx_val *s, jx_val *vt);
#define jx_svd(...) jx_svd_at(JX_HERE, __VA_ARGS__)
/* jnp.linalg.solve: x with a x = b for a (..., m, m) and b (..., m, k), the batch dims of
 * a and b broadcast against each other (numpy rules: a (3, 3) and b (4, 3, 2) give x
 * (4, 3, 2)), or b (m) (one vector for every matrix of a; x (..., m): as in JAX, only a
 * b of rank 1 is a vector). Through jx_lu and two triangular solves, differentiable in a
 * and b. */
jx_val jx_solve_at(jx_loc loc, jx_val a, jx_val b);
#define jx_solve(...) jx_solve_at(JX_HERE, __VA_ARGS__)
/* jnp.linalg.inv: the inverse of each matrix of a (..., m, m), solving against I. */
jx_val jx_inv_at(jx_loc loc, jx_val a);
#define jx_inv(...) jx_inv_at(JX_HERE, __VA_ARGS__)
/* jnp.linalg.slogdet: *sign (-1, 0 or 1) and *logabsdet (log|det a|, -inf when a is
 * singular) of each matrix of a (..., m, m), both (...), from jx_lu's diagonal and its
 * row swaps. logabsdet is differentiable in a. */
void jx_slogdet_at(jx_loc loc, jx_val a, jx_val *sign, jx_val *logabsdet);
#define jx_slogdet(...) jx_slogdet_at(JX_HERE, __VA_ARGS__)

/* Windowed reductions over every dim of x (window 1 on dims not pooled); pad with
 * the reduction's identity. strides/pad may be JX_NOINTS. */
typedef enum jx_window_kind { JX_WINDOW_SUM, JX_WINDOW_MAX, JX_WINDOW_MIN } jx_window_kind;
jx_val jx_reduce_window_at(jx_loc loc, jx_val x, jx_window_kind kind, jx_ints window,
                           jx_ints strides, jx_ints pad_lo, jx_ints pad_hi);
#define jx_reduce_window(...) jx_reduce_window_at(JX_HERE, __VA_ARGS__)
/* The gradient of a max window: each window of operand adds its source element to the
 * position of the window's (first) maximum. source has reduce_window's output shape. */
jx_val jx_select_and_scatter_add_at(jx_loc loc, jx_val source, jx_val operand,
                                    jx_ints window, jx_ints strides, jx_ints pad_lo,
                                    jx_ints pad_hi);
#define jx_select_and_scatter_add(...) jx_select_and_scatter_add_at(JX_HERE, __VA_ARGS__)

/* Indexing. The first nbatch dims of x and indices are shared batch dims (0 for
 * plain take). gather: out = x.shape[:axis] + indices.shape[nbatch:] +
 * x.shape[axis+1:]. scatter_add is its transpose: updates has gather's output shape.
 * Indices follow jnp indexing (x[i], x.at[i].add(u)), not lax.gather: a negative
 * index is wrapped once by the axis size (-1 is the last element), then gather clamps
 * what is still out of range ([-1, 7, -7] on 5 elements reads 4, 4, 0) and
 * scatter_add drops it. (lax.gather itself does not wrap: it reads 0 for -1.) */
jx_val jx_gather_at(jx_loc loc, jx_val x, jx_val indices, int axis, int nbatch);
#define jx_gather(...) jx_gather_at(JX_HERE, __VA_ARGS__)
jx_val jx_scatter_add_at(jx_loc loc, jx_val x, jx_val indices, jx_val updates, int axis,
                         int nbatch);
#define jx_scatter_add(...) jx_scatter_add_at(JX_HERE, __VA_ARGS__)

/* Sorting along axis, stable, ascending; NaNs last. sort_multi sorts n operands of one
 * shape by the first (lexicographically by the first num_keys). */
jx_val jx_sort_at(jx_loc loc, jx_val x, int axis);
#define jx_sort(...) jx_sort_at(JX_HERE, __VA_ARGS__)
void jx_sort_multi_at(jx_loc loc, int n, const jx_val *xs, int axis, int num_keys,
                      jx_val *out);
#define jx_sort_multi(...) jx_sort_multi_at(JX_HERE, __VA_ARGS__)
jx_val jx_argsort_at(jx_loc loc, jx_val x, int axis); /* i32 indices */
#define jx_argsort(...) jx_argsort_at(JX_HERE, __VA_ARGS__)
/* The k largest along the last axis, descending, with their i32 indices. */
void jx_top_k_at(jx_loc loc, jx_val x, int k, jx_val *values, jx_val *indices);
#define jx_top_k(...) jx_top_k_at(JX_HERE, __VA_ARGS__)

/* The threefry2x32 block cipher on u32 arrays: (k0,k1) key, (x0,x1) counters. */
void jx_threefry2x32_at(jx_loc loc, jx_val k0, jx_val k1, jx_val x0, jx_val x1, jx_val *y0,
                        jx_val *y1);
#define jx_threefry2x32(...) jx_threefry2x32_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ composites */

/* relu(x) = max(x, 0), NaN passing through; its derivative at 0 is 0 as jax.nn.relu's. */
jx_val jx_relu_at(jx_loc loc, jx_val x);
#define jx_relu(...) jx_relu_at(JX_HERE, __VA_ARGS__)
jx_val jx_gelu_at(jx_loc loc, jx_val x); /* tanh approximation, as jax.nn.gelu */
#define jx_gelu(...) jx_gelu_at(JX_HERE, __VA_ARGS__)
/* The exact gelu, x * Phi(x) = x/2 * erfc(-x/sqrt(2)): jax.nn.gelu(x, approximate=False). */
jx_val jx_gelu_exact_at(jx_loc loc, jx_val x);
#define jx_gelu_exact(...) jx_gelu_exact_at(JX_HERE, __VA_ARGS__)
jx_val jx_sigmoid_at(jx_loc loc, jx_val x);
#define jx_sigmoid(...) jx_sigmoid_at(JX_HERE, __VA_ARGS__)
/* jnp.logaddexp: log(exp(x1) + exp(x2)) without overflow, numpy broadcasting, two f32
 * or two f64 operands; JAX's values and JAX's custom derivative t1 exp(x1 - out) +
 * t2 exp(x2 - out) (so 1/2 each where x1 == x2). */
jx_val jx_logaddexp_at(jx_loc loc, jx_val x1, jx_val x2);
#define jx_logaddexp(...) jx_logaddexp_at(JX_HERE, __VA_ARGS__)
/* jax.nn.softplus: log(1 + exp(x)) = logaddexp(x, 0), stable at any |x|; its
 * derivative is sigmoid(x) computed as exp(x - softplus(x)), as JAX's. */
jx_val jx_softplus_at(jx_loc loc, jx_val x);
#define jx_softplus(...) jx_softplus_at(JX_HERE, __VA_ARGS__)
jx_val jx_square_at(jx_loc loc, jx_val x);
#define jx_square(...) jx_square_at(JX_HERE, __VA_ARGS__)
jx_val jx_clamp_at(jx_loc loc, jx_val x, double lo, double hi);
#define jx_clamp(...) jx_clamp_at(JX_HERE, __VA_ARGS__)
/* Reductions that keep no dims; axes JX_NOINTS means all. */
jx_val jx_sum_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_sum(...) jx_sum_at(JX_HERE, __VA_ARGS__)
jx_val jx_mean_at(jx_loc loc, jx_val x, jx_ints axes);
#define jx_mean(...) jx_mean_at(JX_HERE, __VA_ARGS__)
jx_val jx_var_at(jx_loc loc, jx_val x, jx_ints axes); /* population variance */
#define jx_var(...) jx_var_at(JX_HERE, __VA_ARGS__)
jx_val jx_logsumexp_at(jx_loc loc, jx_val x, int axis); /* stable; axis is removed */
#define jx_logsumexp(...) jx_logsumexp_at(JX_HERE, __VA_ARGS__)
jx_val jx_softmax_at(jx_loc loc, jx_val x, int axis);
#define jx_softmax(...) jx_softmax_at(JX_HERE, __VA_ARGS__)
jx_val jx_log_softmax_at(jx_loc loc, jx_val x, int axis);
#define jx_log_softmax(...) jx_log_softmax_at(JX_HERE, __VA_ARGS__)
/* numpy's stack: n operands of one aval stacked along a new dim `axis` of the result. */
jx_val jx_stack_at(jx_loc loc, int n, const jx_val *xs, int axis);
#define jx_stack(...) jx_stack_at(JX_HERE, __VA_ARGS__)
/* lax.split: x cut along axis into sizes.n pieces of sizes.v[i] (they must add up to the
 * axis); out[] receives sizes.n values. */
void jx_split_at(jx_loc loc, jx_val x, jx_ints sizes, int axis, jx_val *out);
#define jx_split(...) jx_split_at(JX_HERE, __VA_ARGS__)
/* numpy's tile: x repeated reps[d] times along dim d (the shorter of x's shape and reps
 * padded with leading ones). */
jx_val jx_tile_at(jx_loc loc, jx_val x, jx_ints reps);
#define jx_tile(...) jx_tile_at(JX_HERE, __VA_ARGS__)
/* numpy's repeat with one count: each element repeated `repeats` times along axis. */
jx_val jx_repeat_at(jx_loc loc, jx_val x, int64_t repeats, int axis);
#define jx_repeat(...) jx_repeat_at(JX_HERE, __VA_ARGS__)
/* jnp.clip with traced bounds: min(max(x, lo), hi); lo and hi broadcast against x (a
 * scalar, a per-channel vector, ...), NaN passes through; gradients as JAX's (max/min:
 * ties split evenly). jx_clamp above takes C doubles. */
jx_val jx_clip_at(jx_loc loc, jx_val x, jx_val lo, jx_val hi);
#define jx_clip(...) jx_clip_at(JX_HERE, __VA_ARGS__)
/* jx_top_k along any axis (negative counts from the end): values and i32 indices have
 * x's shape with k along that axis. */
void jx_top_k_axis_at(jx_loc loc, jx_val x, int k, int axis, jx_val *values, jx_val *indices);
#define jx_top_k_axis(...) jx_top_k_axis_at(JX_HERE, __VA_ARGS__)
/* jnp.einsum on n operands: subscripts like "bij,bjk->bik", "ij,ij->", "...ij,...jk"
 * (letters a-z A-Z, "..." for leading dims, the output implicit as in numpy when "->"
 * is absent). Lowered to reduce_sum, dot_general (left to right) and transpose, so grad,
 * vmap and jit see only those. A label repeated in one operand takes the diagonal ("ii->i",
 * "ii->" the trace). */
jx_val jx_einsum_at(jx_loc loc, const char *subscripts, int n, const jx_val *xs);
#define jx_einsum(...) jx_einsum_at(JX_HERE, __VA_ARGS__)

/* Binary ops with a C double as the second operand (first for rsub/rdiv): x * 2.0 is
 * jx_mul_s(x, 2.0). The scalar takes x's dtype, like JAX's weak-typed Python scalars,
 * except that jx never promotes: a value that x's dtype cannot hold exactly as an
 * integer (2.5 or 300 for u8) is an error, not a promotion. */
jx_val jx_add_s_at(jx_loc loc, jx_val x, double v);
#define jx_add_s(...) jx_add_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_sub_s_at(jx_loc loc, jx_val x, double v); /* x - v */
#define jx_sub_s(...) jx_sub_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_mul_s_at(jx_loc loc, jx_val x, double v);
#define jx_mul_s(...) jx_mul_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_div_s_at(jx_loc loc, jx_val x, double v); /* x / v */
#define jx_div_s(...) jx_div_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_pow_s_at(jx_loc loc, jx_val x, double v); /* x ** v (floats) */
#define jx_pow_s(...) jx_pow_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_max_s_at(jx_loc loc, jx_val x, double v);
#define jx_max_s(...) jx_max_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_min_s_at(jx_loc loc, jx_val x, double v);
#define jx_min_s(...) jx_min_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_rsub_s_at(jx_loc loc, double v, jx_val x); /* v - x */
#define jx_rsub_s(...) jx_rsub_s_at(JX_HERE, __VA_ARGS__)
jx_val jx_rdiv_s_at(jx_loc loc, double v, jx_val x); /* v / x */
#define jx_rdiv_s(...) jx_rdiv_s_at(JX_HERE, __VA_ARGS__)

/* indices (any int dtype, shape S) -> S + [n] of dtype, 1 where index == class. */
jx_val jx_one_hot_at(jx_loc loc, jx_val indices, int64_t n, jx_dtype dtype);
#define jx_one_hot(...) jx_one_hot_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ control flow
 * Bodies are traced into nested functions; values of the enclosing trace used inside
 * a body are captured and passed in automatically. */

/* Calls a jx_fn from inside a traced body (a `call` equation). */
void jx_call_at(jx_loc loc, const jx_fn *f, int nin, const jx_val *in, int nout, jx_val *out);
#define jx_call(...) jx_call_at(JX_HERE, __VA_ARGS__)
/* lax.cond(pred, true_fun, false_fun, *operands): runs true_fn when pred (a bool or
 * integer scalar; an integer is true when nonzero) holds, else false_fn. Both take the
 * nin operands and give nout outputs of the same avals; both are traced (a `cond`
 * equation holding them, false_fn as branch 0 as in JAX's IR). Under vmap a batched
 * pred runs both and selects. */
void jx_cond_at(jx_loc loc, jx_val pred, jx_body true_fn, jx_body false_fn, void *user, int nin,
                const jx_val *in, int nout, jx_val *out);
#define jx_cond(...) jx_cond_at(JX_HERE, __VA_ARGS__)
/* lax.switch(index, branches, *operands): runs branches[index], the index an integer
 * scalar clamped into [0, nbranches - 1] as JAX clamps it (a bool picks 0 for false, 1
 * for true, with exactly 2 branches). Every branch takes the nin operands and gives
 * nout outputs of the same avals. Errors name the `cond` equation it binds. */
void jx_switch_at(jx_loc loc, jx_val index, int nbranches, const jx_body *branches, void *user,
                  int nin, const jx_val *in, int nout, jx_val *out);
#define jx_switch(...) jx_switch_at(JX_HERE, __VA_ARGS__)
/* while cond(carry) { carry = body(carry) }: cond gives a bool scalar. */
void jx_while_at(jx_loc loc, jx_body cond, jx_body body, void *user, int n, const jx_val *init,
                 jx_val *out);
#define jx_while(...) jx_while_at(JX_HERE, __VA_ARGS__)
/* scan: body(carry..., x_t...) -> (carry..., y_t...), over `length` steps along axis 0
 * of each xs (reverse: from the end). out gets ncarry final carries, then ny stacked ys. */
void jx_scan_at(jx_loc loc, jx_body body, void *user, int64_t length, int reverse, int ncarry,
                const jx_val *init, int nxs, const jx_val *xs, int ny, jx_val *out);
#define jx_scan(...) jx_scan_at(JX_HERE, __VA_ARGS__)
/* for (i = lower; i < upper; i++) carry = body(i, carry...): body gets in[0] = i (an i32
 * scalar) then the n carries, and writes the n new carries. The trip count is static, so
 * it is a scan underneath and reverse mode works (a jx_while does not). */
void jx_fori_loop_at(jx_loc loc, int64_t lower, int64_t upper, jx_body body, void *user, int n,
                     const jx_val *init, jx_val *out);
#define jx_fori_loop(...) jx_fori_loop_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ transformations
 * Each takes a jx_fn and returns a new one (release it), so they compose: the result of
 * jx_grad can be differentiated again, called from a traced body, or evaluated. Only
 * float inputs and outputs carry derivatives; integer and bool ones get zeros. On error
 * they return NULL with jx_errmsg() naming the function, the output or input, and its
 * shape. */

/* Forward mode: (x..., dx...) -> (f(x)..., df(x)[dx]...); dx has the inputs' avals. */
jx_fn *jx_jvp_at(jx_loc loc, const jx_fn *f);
#define jx_jvp(...) jx_jvp_at(JX_HERE, __VA_ARGS__)
/* Reverse mode: (x..., ybar...) -> (f(x)..., xbar...) where xbar = J(x)^T ybar, computed
 * as JAX does: jvp, split off the linear part, transpose it. */
jx_fn *jx_vjp_at(jx_loc loc, const jx_fn *f);
#define jx_vjp(...) jx_vjp_at(JX_HERE, __VA_ARGS__)
/* (x...) -> d out[0] / d x[argnums[i]] for each i; out[0] must be a float scalar.
 * argnums JX_NOINTS means input 0. */
jx_fn *jx_grad_at(jx_loc loc, const jx_fn *f, jx_ints argnums);
#define jx_grad(...) jx_grad_at(JX_HERE, __VA_ARGS__)
/* (x...) -> (out[0], out[1..]..., grads...): out[0] is differentiated, the other outputs
 * are auxiliary values passed through (has_aux in JAX). */
jx_fn *jx_value_and_grad_at(jx_loc loc, const jx_fn *f, jx_ints argnums);
#define jx_value_and_grad(...) jx_value_and_grad_at(JX_HERE, __VA_ARGS__)

/* Linearize: returns the known part, (x...) -> (f(x)..., residuals...), and in *linear
 * the linear part, (residuals..., dx...) -> (df(x)[dx]...): evaluate f once, then apply
 * its derivative to many dx cheaply (jax.linearize). Release both. */
jx_fn *jx_linearize_at(jx_loc loc, const jx_fn *f, jx_fn **linear);
#define jx_linearize(...) jx_linearize_at(JX_HERE, __VA_ARGS__)
/* Jacobian of output 0 with respect to input argnum, of shape out.shape + in.shape:
 * forward mode (one jvp per input element) or reverse mode (one vjp per output
 * element). (x...) -> (J). */
jx_fn *jx_jacfwd_at(jx_loc loc, const jx_fn *f, int argnum);
#define jx_jacfwd(...) jx_jacfwd_at(JX_HERE, __VA_ARGS__)
jx_fn *jx_jacrev_at(jx_loc loc, const jx_fn *f, int argnum);
#define jx_jacrev(...) jx_jacrev_at(JX_HERE, __VA_ARGS__)
/* Hessian of a scalar output 0 with respect to input argnum: jacfwd(jacrev(f)),
 * of shape in.shape + in.shape. */
jx_fn *jx_hessian_at(jx_loc loc, const jx_fn *f, int argnum);
#define jx_hessian(...) jx_hessian_at(JX_HERE, __VA_ARGS__)

/* User-defined derivatives, as calls inside a traced body (out = f(in)):
 * custom_jvp: jvp is (x..., dx...) -> (y..., dy...), used instead of differentiating f;
 * custom_vjp: fwd is (x...) -> (y..., residuals...), bwd is (residuals..., ybar...) ->
 * (xbar...), used in reverse mode (forward mode differentiates f itself, and so does
 * reverse mode once, when it makes the tangent: f must be differentiable by jx, as every
 * function of jx's primitives is). */
void jx_custom_jvp_call_at(jx_loc loc, const jx_fn *f, const jx_fn *jvp, int nin, const jx_val *in,
                           int nout, jx_val *out);
#define jx_custom_jvp_call(...) jx_custom_jvp_call_at(JX_HERE, __VA_ARGS__)
void jx_custom_vjp_call_at(jx_loc loc, const jx_fn *f, const jx_fn *fwd, const jx_fn *bwd, int nin,
                           const jx_val *in, int nout, jx_val *out);
#define jx_custom_vjp_call(...) jx_custom_vjp_call_at(JX_HERE, __VA_ARGS__)
/* Rematerialisation: out = f(in), but reverse mode recomputes f's intermediate values
 * in the backward pass instead of storing them (jax.checkpoint). */
void jx_checkpoint_at(jx_loc loc, const jx_fn *f, int nin, const jx_val *in, int nout, jx_val *out);
#define jx_checkpoint(...) jx_checkpoint_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ vmap
 * Vectorising map (jax.vmap): the returned function takes each mapped input with one
 * extra axis of size axis_size and computes f on every slice along it at once; no loop
 * of calls is left in its IR. It composes with grad and jit in any order and nests. */

/* in_axes entry for an input that is not mapped (every slice sees the whole input). */
#define JX_NOT_MAPPED INT64_MIN

/* in_axes: one entry per input of f: the axis of the input that is mapped (negative
 * counts from the end of the batched input's rank) or JX_NOT_MAPPED; JX_NOINTS maps
 * axis 0 of every input. out_axes: one entry per output: where the mapped axis goes
 * (negative counts from the end of the batched output's rank), or JX_NOT_MAPPED for an
 * output every slice gives alike (an error if it depends on the mapped axis); JX_NOINTS
 * puts it first.
 * axis_size: the mapped size (f's avals do not hold it, so it is always given; the
 * batched inputs then have it at their mapped axes). Mapped values of different sizes
 * meeting inside a transformation are an error naming both inputs and sizes; an axis
 * out of range names the input and its rank. */
jx_fn *jx_vmap_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, int64_t axis_size);
#define jx_vmap(...) jx_vmap_at(JX_HERE, __VA_ARGS__)
/* The same with a named axis: the collectives below, called inside f with this name,
 * combine values across the mapped slices (psum over a vmapped axis sums along it). */
jx_fn *jx_vmap_named_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes,
                        int64_t axis_size, const char *axis_name);
#define jx_vmap_named(...) jx_vmap_named_at(JX_HERE, __VA_ARGS__)

/* vmap applied to traced values inside a body (JAX's vmap(f)(*args)): the mapped size is
 * taken from the inputs, so mapped inputs of different sizes are an error naming both
 * inputs and both sizes. in_axes / out_axes as for jx_vmap, counted against the ranks of
 * the values given; every output gets the mapped axis (out_axes takes no JX_NOT_MAPPED). */
void jx_vmap_call_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, int nin,
                     const jx_val *in, int nout, jx_val *out);
#define jx_vmap_call(...) jx_vmap_call_at(JX_HERE, __VA_ARGS__)

/* Collectives over a named axis (bound by jx_vmap_named or jx_pmap). Outside of
 * any map binding the name they are an error when evaluated or compiled. */
jx_val jx_psum_at(jx_loc loc, jx_val x, const char *axis_name);
#define jx_psum(...) jx_psum_at(JX_HERE, __VA_ARGS__)
jx_val jx_pmax_at(jx_loc loc, jx_val x, const char *axis_name);
#define jx_pmax(...) jx_pmax_at(JX_HERE, __VA_ARGS__)
jx_val jx_pmin_at(jx_loc loc, jx_val x, const char *axis_name);
#define jx_pmin(...) jx_pmin_at(JX_HERE, __VA_ARGS__)
jx_val jx_pmean_at(jx_loc loc, jx_val x, const char *axis_name); /* psum / axis size */
#define jx_pmean(...) jx_pmean_at(JX_HERE, __VA_ARGS__)
/* Every slice's x stacked along a new leading axis (the same in every slice). The
 * result's shape needs the axis size, which f is traced without: axis_size must be the
 * size of the map that binds the name (vmap checks it). */
jx_val jx_all_gather_at(jx_loc loc, jx_val x, const char *axis_name, int64_t axis_size);
#define jx_all_gather(...) jx_all_gather_at(JX_HERE, __VA_ARGS__)
/* This slice's position along the named axis: an i32 scalar. */
jx_val jx_axis_index_at(jx_loc loc, const char *axis_name);
#define jx_axis_index(...) jx_axis_index_at(JX_HERE, __VA_ARGS__)
/* lax.ppermute: pairs lists (source, destination) device pairs flattened,
 * JX_INTS(0,1, 1,2, 2,0) for a ring; each slice gets the x of the slice that sends to
 * it, zeros where none does. No device is a source, or a destination, twice. */
jx_val jx_ppermute_at(jx_loc loc, jx_val x, const char *axis_name, jx_ints pairs);
#define jx_ppermute(...) jx_ppermute_at(JX_HERE, __VA_ARGS__)
/* lax.all_to_all with tiled=True: x's split_axis is cut into axis_size chunks, chunk j
 * goes to slice j, and each slice concatenates the chunks it receives, in slice order,
 * along concat_axis (its size is multiplied by axis_size, split_axis's divided). */
jx_val jx_all_to_all_at(jx_loc loc, jx_val x, const char *axis_name, int64_t axis_size, int split_axis,
                        int concat_axis);
#define jx_all_to_all(...) jx_all_to_all_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ pmap
 * Parallel map (jax.pmap, docs/pmap.md): f runs once per device of this process (see
 * "devices" below), device d on its own thread with slice d of each mapped input, and
 * the collectives above over axis_name combine values across the devices through shared
 * memory, in device order. It computes what jx_vmap_named(f, ..., device count,
 * axis_name) computes, and composes the same way: grad of a pmap, pmap of a grad, vmap
 * inside or outside, jit of a body calling it. */

/* in_axes / out_axes as for jx_vmap (JX_NOINTS: axis 0 everywhere; JX_NOT_MAPPED: an
 * input every device sees whole, or an output that is the same on every device, taken
 * from device 0). The mapped size is jx_local_device_count() at this call. */
jx_fn *jx_pmap_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, const char *axis_name);
#define jx_pmap(...) jx_pmap_at(JX_HERE, __VA_ARGS__)
/* pmap applied to traced values inside a body: a mapped input whose size is not the
 * device count is an error at the caller's line. */
void jx_pmap_call_at(jx_loc loc, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, const char *axis_name, int nin,
                     const jx_val *in, int nout, jx_val *out);
#define jx_pmap_call(...) jx_pmap_call_at(JX_HERE, __VA_ARGS__)

/* ------------------------------------------------------------------ jit
 * Compiles a function into an executable for a device: calls are inlined, the IR is
 * simplified, elementwise chains, movement and reductions are fused into loop-nest
 * kernels generated with LLVM for the host CPU, GEMMs and convolutions go to OpenBLAS,
 * buffers are reused by liveness. Executables are cached by (IR fingerprint, input
 * avals, device, options): compiling an equal function again costs a lookup. */

typedef enum jx_device {
    JX_DEVICE_CPU,    /* LLVM kernels + OpenBLAS, on a thread pool */
    JX_DEVICE_INTERP, /* the reference interpreter behind the executable interface */
    JX_DEVICE_CUDA,   /* an NVIDIA GPU: NVPTX kernels + cuBLAS (builds with JX_CUDA; docs/cuda.md) */
    JX_DEVICE_COUNT
} jx_device;

typedef struct jx_jit_opts {
    int nthreads;   /* worker threads, and the most threads compiling its kernels may use;
                     * 0: JX_NUM_THREADS from the environment, else all cores */
    jx_ints donate; /* inputs whose storage the run may reuse for outputs (their contents
                     * are undefined afterwards); a training step donates its parameters */
    int opt_level;  /* LLVM optimisation level 0-3; 0 in the struct means the default, 2 */
    /* the on-disk cache of compiled kernels (the CPU's objects, the CUDA backend's PTX):
     * NULL means JX_JIT_CACHE_DIR from the environment, else $XDG_CACHE_HOME/jx, else
     * ~/.cache/jx; "" (or JX_JIT_CACHE_DIR=off) means none. A file found there is used
     * only when it is whole and was made by this jx and LLVM for this target; it never
     * changes a result (docs/jit.md) */
    const char *cache_dir;
    /* subnormal f32/f64 values (docs/jit.md): JX_SUBNORMALS_DEFAULT follows the process's
     * default (JX_FLUSH_SUBNORMALS, flushing unless it is 0); JX_SUBNORMALS_FLUSH flushes
     * them to zero as XLA's CPU backend does (the CPU's FTZ and DAZ modes: arithmetic on a
     * subnormal sees zero, a result below the normal range is zero); JX_SUBNORMALS_KEEP
     * computes with them (IEEE, gradual underflow; arithmetic on them is ~50x slower on
     * most CPUs, which is why flushing is the default) */
    int subnormals;
    /* f32 matrix products (dot_general, jax's precision / default_matmul_precision):
     * JX_MATMUL_DEFAULT follows JX_MATMUL_PRECISION in the environment ("highest", the
     * default, or "tf32"); JX_MATMUL_HIGHEST computes them in full f32; JX_MATMUL_TF32 lets
     * a GPU round their operands to TF32 (10-bit mantissa, f32 accumulation: several
     * times the speed on tensor cores, about 1e-3 relative error). The CPU computes in
     * full f32 whatever is asked. */
    int matmul_precision;
} jx_jit_opts;
enum { JX_SUBNORMALS_DEFAULT, JX_SUBNORMALS_FLUSH, JX_SUBNORMALS_KEEP };
enum { JX_MATMUL_DEFAULT, JX_MATMUL_HIGHEST, JX_MATMUL_TF32 };
#define JX_JIT_DEFAULTS ((jx_jit_opts){0, JX_NOINTS, 0, NULL, JX_SUBNORMALS_DEFAULT, JX_MATMUL_DEFAULT})

typedef struct jx_exec jx_exec;

/* Compiles f (or finds it in the cache); opts may be NULL for the defaults. Returns NULL
 * with jx_errmsg() set on failure. Release the executable with jx_exec_release. */
jx_exec *jx_jit_at(jx_loc loc, const jx_fn *f, jx_device device, const jx_jit_opts *opts);
#define jx_jit(...) jx_jit_at(JX_HERE, __VA_ARGS__)
jx_exec *jx_exec_retain(jx_exec *x);
void jx_exec_release(jx_exec *x); /* NULL is fine */
/* The (simplified) function the executable computes: call it from a traced body to
 * compose jitted functions into one larger executable. Borrowed. */
const jx_fn *jx_exec_fn(const jx_exec *x);
/* Runs the executable: in must match the function's input avals; out receives nout new
 * references (release them). A NaN-checking run (JX_DEBUG_NANS=1) fails naming the
 * first primitive and the user's line that produced a NaN. */
jx_status jx_exec_run(jx_exec *x, int nin, jx_array *const *in, int nout, jx_array **out);

/* Compile cache counters, for tests and benchmarks. */
typedef struct jx_jit_stats {
    int64_t hits, misses; /* jx_jit calls answered from the cache / that compiled */
    int64_t kernels;      /* fused kernels generated in all */
    int64_t kernels_unoptimised; /* of those, CPU kernels so small (every value at most
                                  * JX_JIT_SMALL_KERNEL elements, 4096 by default) that
                                  * they were compiled without optimisation: faster to
                                  * compile, the same results */
    double compile_ms;    /* total time spent compiling */
    int64_t disk_hits;    /* compiled kernel modules loaded from the on-disk cache */
    int64_t disk_stores;  /* and written to it */
} jx_jit_stats;
jx_jit_stats jx_jit_stats_get(void);

/* Memory of a device's caching allocator, in bytes: handed out, held from the device
 * (in use plus cached), and the most ever in use. JX_ERR_UNSUPPORTED for a device with
 * no such allocator or no driver (CPU memory is malloc's). */
typedef struct jx_device_mem_stats {
    int64_t in_use, reserved, peak;
} jx_device_mem_stats;
jx_status jx_device_mem_stats_get(jx_device device, jx_device_mem_stats *s);

/* Device arrays. jx_array_to(a, JX_DEVICE_CUDA) copies a into GPU memory and returns the
 * device array (a new reference; a itself if it is there already); an executable for
 * JX_DEVICE_CUDA given any device input returns its outputs on the device too, so a
 * training loop keeps its parameters there with no copies to the host. Reading a device
 * array on the host (jx_array_data, jx_array_get, jx_array_copy_to, jx_array_print, a
 * CPU executable or jx_eval) copies it back once and keeps that copy.
 * jx_array_to(a, JX_DEVICE_CPU) (or JX_DEVICE_INTERP) gives a host array. NULL with the
 * error set: "jx_array_to: f32[3] to cuda: cuda: no CUDA device: ...", out of device
 * memory (naming the request and the allocator's usage), a build without JX_CUDA. */
jx_array *jx_array_to(jx_array *a, jx_device device);
/* Where a's values live: JX_DEVICE_CUDA for a device array, else JX_DEVICE_CPU. */
jx_device jx_array_device(const jx_array *a);
void jx_jit_cache_clear(void); /* drops every cached executable (counters kept) */

/* ------------------------------------------------------------------ devices
 * The devices pmap runs on (docs/pmap.md). A process exposes N CPU devices, N from
 * JX_CPU_DEVICES in the environment (read once; 1 when unset; JAX's
 * --xla_force_host_platform_device_count) or jx_set_cpu_device_count. Each device runs
 * its share of a pmap on its own thread. Across processes (jx_distributed_init) devices
 * are numbered globally: process p's devices follow those of the processes before it. */

typedef struct jx_device_info {
    int id;            /* global number, 0 .. jx_device_count() - 1 */
    int process_index; /* the process that owns it (the MPI rank; 0 without MPI) */
    int local_index;   /* its position among its process's devices */
    jx_device kind;    /* JX_DEVICE_CPU */
} jx_device_info;

int jx_device_count(void);       /* devices of every process */
int jx_local_device_count(void); /* devices of this process: what a pmap maps over */
int jx_process_index(void);      /* this process's rank (0 without jx_distributed_init) */
int jx_process_count(void);      /* processes in the job (1 without jx_distributed_init) */
/* Fills out[0..min(max, count)) with the global device list; returns the count (so
 * jx_devices(NULL, 0) only counts). */
int jx_devices(jx_device_info *out, int max);
/* Device id's description; JX_ERR_ARG naming the caller's line for an id out of range. */
jx_status jx_device_get_at(jx_loc loc, int id, jx_device_info *out);
#define jx_device_get(...) jx_device_get_at(JX_HERE, __VA_ARGS__)
const char *jx_device_kind_name(jx_device kind); /* "cpu"; static storage */
/* Sets this process's CPU device count (1..1024), overriding JX_CPU_DEVICES; pmaps built
 * before keep the count they were built with. */
jx_status jx_set_cpu_device_count_at(jx_loc loc, int n);
#define jx_set_cpu_device_count(...) jx_set_cpu_device_count_at(JX_HERE, __VA_ARGS__)

/* Joins the job when this process was started by mpirun (Open MPI): reads the rank, the
 * size and the local rank from MPI and numbers the devices globally; from then on a
 * pmap's collectives span every process's devices (each process passes its own devices'
 * slices, the axis index and size count globally). Without mpirun it does nothing, and
 * the program runs as one process. Every process must expose the same device count. In
 * a build without MPI it fails with JX_ERR_UNSUPPORTED under mpirun. */
jx_status jx_distributed_init_at(jx_loc loc);
#define jx_distributed_init() jx_distributed_init_at(JX_HERE)
jx_status jx_distributed_shutdown(void); /* MPI_Finalize, when init started MPI */
int jx_distributed_built(void);          /* 1 when jx was built with MPI */
int jx_distributed_local_rank(void);     /* this process's rank on its host (0 without MPI) */

#ifdef __cplusplus
}
#endif
#endif /* JX_H */
