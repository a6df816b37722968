/* test_jit_codegen.c: the CPU code generator against the interpreter. Small functions
 * are traced, fused (jx__fuse), every LOOP group compiled into one module and run
 * directly (jx__kernel_run, the range split into uneven chunks), and the outputs must
 * equal jx_eval's bit for bit (NaN matching NaN): every elementwise primitive on every
 * dtype it takes, conversions between all dtypes, broadcasts, transposes, reshapes,
 * reductions over each axis, argmax/argmin, column reductions (tiles, ragged sizes,
 * pools of 1/2/4 threads), iota, softmax; plus kernel counts, in-place
 * answers and the error for a group the generator cannot compile. */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/jit.h"
#include "harness.h"
#include "jit_util.h"

/* ------------------------------------------------------------------ running fused code */

/* The pieces of a kernel's range run on a pool (jx__pool_for). */
typedef struct pool_run {
    const jx__kernel *k;
    void *const *bufs;
} pool_run;
static void pool_chunk(void *ctx, int64_t b, int64_t e) {
    const pool_run *r = ctx;
    jx__kernel_run(r->k, r->bufs, b, e);
}

/* Runs f's groups (all must be LOOP) as compiled kernels; out receives new references.
 * Each kernel's range is run in `chunks` uneven pieces, or when chunks < 0 on the pool
 * of -chunks threads (grain 1). */
static jx_status run_kernels(const jx_fn *f, jx_array *const *in, jx_array **out, int chunks, bool fuse,
                             int *ngroups) {
    jx__fusion *fu = jx__fuse(f, fuse, NULL);
    jx__cpu_module *m = fu ? jx__cpu_module_new(2) : NULL;
    jx_array **vals = calloc((size_t)f->nvars + 1, sizeof *vals);
    jx__kernel **ks = calloc((size_t)(fu ? fu->ngroups : 0) + 1, sizeof *ks);
    jx_status st = m && vals && ks ? JX_OK : JX_ERR_INTERNAL;
    for (int g = 0; st == JX_OK && g < fu->ngroups; g++) {
        if (fu->groups[g].kind != JX__G_LOOP) st = jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "test", "group %d not LOOP", g);
        else if (!(ks[g] = jx__cpu_kernel_add(m, f, &fu->groups[g]))) st = jx_errcode();
    }
    if (st == JX_OK) st = jx__cpu_module_compile(m);
    for (int i = 0; i < f->nin; i++) vals[f->in[i]] = jx_array_retain(in[i]);
    for (int g = 0; st == JX_OK && g < fu->ngroups; g++) {
        const jx__group *gr = &fu->groups[g];
        void *bufs[64];
        for (int i = 0; i < gr->nin; i++) bufs[i] = vals[gr->in[i]]->data;
        for (int o = 0; o < gr->nout; o++) {
            vals[gr->out[o]] = jx__array_alloc(&f->vars[gr->out[o]]);
            bufs[gr->nin + o] = vals[gr->out[o]]->data;
        }
        int64_t n = jx__kernel_size(ks[g]), at = 0;
        if (chunks < 0) jx__pool_for(jx__pool_get(-chunks), n, 1, pool_chunk, &(pool_run){ks[g], bufs});
        for (int c = 0; c < chunks; c++) {
            int64_t to = c == chunks - 1 ? n : at + (n - at) * (c + 1) / (chunks + 1);
            jx__kernel_run(ks[g], bufs, at, to);
            at = to;
        }
    }
    for (int i = 0; st == JX_OK && i < f->nout; i++) out[i] = jx_array_retain(vals[f->out[i].var]);
    if (ngroups) *ngroups = fu ? fu->ngroups : 0;
    for (int v = 0; vals && v < f->nvars; v++) jx_array_release(vals[v]);
    free(vals);
    free(ks);
    jx__cpu_module_free(m);
    jx__fusion_free(fu);
    return st;
}

/* Bit equality, NaN matching any NaN. */
static bool same_bits(const jx_array *a, const jx_array *b) {
    if (!jx_aval_equal(&a->aval, &b->aval)) return false;
    size_t es = jx_dtype_size(a->aval.dtype);
    int64_t n = jx_aval_size(&a->aval);
    for (int64_t i = 0; i < n; i++) {
        const char *p = (const char *)a->data + i * (int64_t)es, *q = (const char *)b->data + i * (int64_t)es;
        if (memcmp(p, q, es) == 0) continue;
        if (jx_dtype_is_float(a->aval.dtype) && isnan(jx_array_get(a, i)) && isnan(jx_array_get(b, i))) continue;
        fprintf(stderr, "\n  element %lld: jit %.17g, interp %.17g\n", (long long)i, jx_array_get(a, i), jx_array_get(b, i));
        return false;
    }
    return true;
}

/* Traces body over avals, runs it both ways on in[] (the kernels' ranges split as
 * run_kernels' chunks says), and compares; returns the number of groups, or -1 when the
 * trace is refused (an op/dtype pair that does not exist). */
static int check_split(const char *what, jx_body body, void *user, int nin, jx_array *const *in, int nout,
                       int chunks) {
    jx_aval av[8];
    for (int i = 0; i < nin; i++) av[i] = in[i]->aval;
    jx_fn *f = jx_trace(what, body, user, nin, av, nout);
    if (!f) return -1;
    jx_array *want[4] = {0}, *got[4] = {0};
    int ngroups = 0;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, in, nout, want), JX_OK);
    jx_status st = run_kernels(f, in, got, chunks, true, &ngroups);
    if (st != JX_OK) fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    for (int o = 0; st == JX_OK && o < nout; o++) {
        bool same = same_bits(got[o], want[o]);
        if (!same) fprintf(stderr, "  in %s (%s)\n", what, jx__avs(&want[o]->aval));
        CU_ASSERT(same);
    }
    for (int o = 0; o < nout; o++) jx_array_release(want[o]), jx_array_release(got[o]);
    jx_fn_release(f);
    return ngroups;
}

static int check_body(const char *what, jx_body body, void *user, int nin, jx_array *const *in, int nout) {
    return check_split(what, body, user, nin, in, nout, 3);
}

/* Deterministic test data of dtype t with the awkward values of the dtype mixed in. */
static jx_array *data(jx_dtype t, jx_ints shape, unsigned seed) {
    jx_aval a = jx_aval_make(t, shape);
    int64_t n = jx_aval_size(&a);
    double *v = malloc(sizeof(double) * (size_t)(n + 1));
    static const double fl[] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.5, INFINITY, -INFINITY, NAN, 1e30, -7.25, 3.0};
    static const double in[] = {0, 1, -1, 2, -3, 7, 31, 32, 33, 100, -2147483648.0, 2147483647.0, 255, 64};
    uint32_t s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        bool special = (s >> 28) < 5;
        if (jx_dtype_is_float(t))
            v[i] = special ? fl[(s >> 8) % 13] : ((double)((s >> 8) % 20000) - 10000.0) / 1250.0;
        else if (t == JX_BOOL)
            v[i] = (s >> 20) & 1;
        else
            v[i] = special ? in[(s >> 8) % 14] : (double)((int)((s >> 8) % 200) - 100);
    }
    jx_array *d = jx_array_new(JX_F64, shape, v), *r = jx_array_astype(d, t);
    jx_array_release(d);
    free(v);
    return r;
}

static const jx_dtype ALL[] = {JX_F32, JX_F64, JX_I32, JX_U32, JX_I64, JX_U8, JX_BOOL};
enum { NALL = sizeof ALL / sizeof ALL[0] };

/* ------------------------------------------------------------------ elementwise */

typedef jx_val (*unary_op)(jx_loc, jx_val);
typedef jx_val (*binary_op)(jx_loc, jx_val, jx_val);
typedef struct P {
    unary_op u;
    binary_op b;
    jx_dtype t;
    int y;
    jx_ints s, d;
} P;

static void b_unary(jx_val *o, const jx_val *in, void *u) { o[0] = ((P *)u)->u(JX_HERE, in[0]); }
static void b_binary(jx_val *o, const jx_val *in, void *u) { o[0] = ((P *)u)->b(JX_HERE, in[0], in[1]); }
static void b_binary_lit(jx_val *o, const jx_val *in, void *u) {
    o[0] = ((P *)u)->b(JX_HERE, in[0], jx_scalar_like(in[0], 3));
}
static void b_binary_lit_left(jx_val *o, const jx_val *in, void *u) {
    o[0] = ((P *)u)->b(JX_HERE, jx_scalar_like(in[0], 2), in[0]);
}

static void test_unary(void) {
    static const unary_op ops[] = {jx_neg_at,  jx_exp_at,  jx_log_at,  jx_log1p_at, jx_expm1_at, jx_tanh_at,
                                   jx_logistic_at, jx_sin_at, jx_cos_at, jx_sqrt_at, jx_rsqrt_at, jx_abs_at,
                                   jx_sign_at, jx_floor_at, jx_ceil_at, jx_round_at, jx_not_at, jx_stop_gradient_at,
                                   jx_erf_at, jx_erfc_at, jx_lgamma_at, jx_digamma_at, jx_tan_at, jx_asin_at,
                                   jx_acos_at, jx_atan_at, jx_sinh_at, jx_cosh_at, jx_asinh_at, jx_acosh_at,
                                   jx_atanh_at, jx_is_finite_at};
    int checked = 0;
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        for (int t = 0; t < NALL; t++) {
            P p = {.u = ops[k]};
            jx_array *x = data(ALL[t], JX_INTS(3, 37), (unsigned)(k * 7 + (size_t)t));
            checked += check_body("unary", b_unary, &p, 1, &x, 1) > 0;
            jx_array_release(x);
        }
    CU_ASSERT(checked >= 30 * 2 + 4 * 3); /* every float op, the integer ones on ints */
}

static void test_binary(void) {
    static const binary_op ops[] = {jx_add_at, jx_sub_at, jx_mul_at, jx_div_at, jx_rem_at, jx_pow_at,
                                    jx_max_at, jx_min_at, jx_atan2_at, jx_and_at, jx_or_at, jx_xor_at,
                                    jx_shift_left_at, jx_shift_right_logical_at, jx_shift_right_arithmetic_at,
                                    jx_eq_at, jx_ne_at, jx_lt_at, jx_le_at, jx_gt_at, jx_ge_at};
    int checked = 0;
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        for (int t = 0; t < NALL; t++) {
            P p = {.b = ops[k]};
            jx_array *x[2] = {data(ALL[t], JX_INTS(5, 19), (unsigned)k), data(ALL[t], JX_INTS(5, 19), (unsigned)k + 99)};
            checked += check_body("binary", b_binary, &p, 2, x, 1) > 0;
            check_body("binary scalar right", b_binary_lit, &p, 1, x, 1);
            check_body("binary scalar left", b_binary_lit_left, &p, 1, x, 1);
            jx_array_release(x[0]);
            jx_array_release(x[1]);
        }
    CU_ASSERT(checked >= 21 * 2);
}

static void b_rank0(jx_val *o, const jx_val *in, void *u) { o[0] = jx_sub(in[0], jx_mul(in[1], in[0])); }
static void b_select(jx_val *o, const jx_val *in, void *u) { o[0] = jx_select(in[0], in[1], in[2]); }
static void b_convert(jx_val *o, const jx_val *in, void *u) { o[0] = jx_convert(in[0], ((P *)u)->t); }
static void b_convert2(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_convert(jx_convert(in[0], ((P *)u)->t), JX_F32); /* through f16/bf16 */
}
static void b_ipow(jx_val *o, const jx_val *in, void *u) { o[0] = jx_integer_pow(in[0], ((P *)u)->y); }

static void test_select_rank0_ipow(void) {
    jx_array *x[3] = {data(JX_F32, JX_INTS(4, 9), 1), data(JX_F32, JX_NOINTS, 2)};
    CU_ASSERT(check_body("rank-0 operand", b_rank0, NULL, 2, x, 1) == 1);
    jx_array_release(x[0]);
    jx_array_release(x[1]);
    static const jx_dtype st[] = {JX_F32, JX_F64, JX_I32, JX_U8, JX_BOOL, JX_I64};
    for (int t = 0; t < 6; t++) {
        jx_array *s[3] = {data(JX_BOOL, JX_INTS(33), 3), data(st[t], JX_INTS(33), 4), data(st[t], JX_INTS(33), 5)};
        CU_ASSERT(check_body("select", b_select, NULL, 3, s, 1) == 1);
        for (int i = 0; i < 3; i++) jx_array_release(s[i]);
    }
    static const jx_dtype pt[] = {JX_F32, JX_F64, JX_I32, JX_I64};
    static const int ys[] = {-3, 0, 1, 2, 5, 8};
    for (int t = 0; t < 4; t++)
        for (int y = 0; y < 6; y++) {
            if (ys[y] < 0 && t >= 2) continue;
            P p = {.y = ys[y]};
            jx_array *a = data(pt[t], JX_INTS(21), (unsigned)y);
            CU_ASSERT(check_body("integer_pow", b_ipow, &p, 1, &a, 1) == 1);
            jx_array_release(a);
        }
}

static void test_convert(void) {
    static const jx_dtype all[] = {JX_F32, JX_F64, JX_I32, JX_U32, JX_I64, JX_U8, JX_BOOL, JX_F16, JX_BF16};
    int checked = 0;
    for (int a = 0; a < 9; a++)
        for (int b = 0; b < 9; b++) {
            P p = {.t = all[b]};
            jx_array *x = data(all[a], JX_INTS(67), (unsigned)(a * 9 + b));
            checked += check_body("convert", b_convert, &p, 1, &x, 1) == 1;
            if (all[b] == JX_F16 || all[b] == JX_BF16) check_body("convert twice", b_convert2, &p, 1, &x, 1);
            jx_array_release(x);
        }
    CU_ASSERT_EQUAL(checked, 81);
}

/* ------------------------------------------------------------------ movement, reductions */

static void b_bcast_row(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_add(in[0], jx_broadcast_in_dim(in[1], JX_INTS(4, 6), JX_INTS(1)));
}
static void b_bcast_col(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_mul(in[0], jx_broadcast_in_dim(jx_reshape(in[1], JX_INTS(4, 1)), JX_INTS(4, 6), JX_INTS(0, 1)));
}
static void b_transpose(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_exp(jx_sub(jx_transpose(in[0], JX_INTS(2, 0, 1)), in[1]));
}
static void b_reshape(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_tanh(jx_add(jx_reshape(in[0], JX_INTS(3, 8)), in[1]));
}
static void b_squeeze(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_expand_dims(jx_neg(jx_squeeze(in[0], JX_INTS(1))), JX_INTS(0));
}
static void b_iota(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_add(in[0], jx_iota(JX_F32, JX_INTS(5, 7), 1));
    o[1] = jx_iota(JX_U8, JX_INTS(5, 7), 0);
}

static void test_movement(void) {
    jx_array *a[2] = {data(JX_F32, JX_INTS(4, 6), 1), data(JX_F32, JX_INTS(6), 2)};
    CU_ASSERT(check_body("broadcast row", b_bcast_row, NULL, 2, a, 1) == 1);
    jx_array_release(a[1]);
    a[1] = data(JX_F32, JX_INTS(4), 3);
    CU_ASSERT(check_body("broadcast column", b_bcast_col, NULL, 2, a, 1) == 1);
    jx_array *t[2] = {data(JX_F64, JX_INTS(2, 3, 4), 4), data(JX_F64, JX_INTS(4, 2, 3), 5)};
    CU_ASSERT(check_body("transpose", b_transpose, NULL, 2, t, 1) == 1);
    jx_array *r[2] = {data(JX_F32, JX_INTS(6, 4), 6), data(JX_F32, JX_INTS(3, 8), 7)};
    CU_ASSERT(check_body("reshape", b_reshape, NULL, 2, r, 1) == 1);
    jx_array *s = data(JX_I32, JX_INTS(3, 1, 5), 8);
    CU_ASSERT(check_body("squeeze", b_squeeze, NULL, 1, &s, 1) == 1);
    jx_array *i = data(JX_F32, JX_INTS(5, 7), 9);
    CU_ASSERT(check_body("iota", b_iota, NULL, 1, &i, 2) == 1);
    jx_array *all[] = {a[0], a[1], t[0], t[1], r[0], r[1], s, i};
    for (int k = 0; k < 8; k++) jx_array_release(all[k]);
}

typedef jx_val (*reduce_op)(jx_loc, jx_val, jx_ints);
typedef struct R {
    reduce_op op;
    jx_ints axes;
    int axis;
    bool argmin;
} R;
static void b_reduce(jx_val *o, const jx_val *in, void *u) {
    R *r = u;
    o[0] = r->op(JX_HERE, in[0], r->axes);
}
static void b_reduce_of_chain(jx_val *o, const jx_val *in, void *u) {
    R *r = u;
    o[0] = jx_mul(r->op(JX_HERE, jx_add(jx_mul(in[0], in[0]), in[0]), r->axes), jx_scalar_like(in[0], 2));
}
static void b_arg(jx_val *o, const jx_val *in, void *u) {
    R *r = u;
    o[0] = r->argmin ? jx_argmin(in[0], r->axis, JX_I32) : jx_argmax(in[0], r->axis, JX_I64);
}

static void test_reductions(void) {
    static const reduce_op ops[] = {jx_reduce_sum_at, jx_reduce_max_at, jx_reduce_min_at, jx_reduce_prod_at};
    static const jx_dtype ts[] = {JX_F32, JX_F64, JX_I32, JX_U8, JX_I64, JX_BOOL};
    jx_ints axes[] = {JX_INTS(0), JX_INTS(1), JX_INTS(2), JX_INTS(0, 2), JX_INTS(0, 1, 2), JX_NOINTS};
    int checked = 0;
    for (int k = 0; k < 4; k++)
        for (int t = 0; t < 6; t++) {
            jx_array *x = data(ts[t], JX_INTS(3, 4, 5), (unsigned)(k * 6 + t));
            for (int a = 0; a < 6; a++) {
                R r = {ops[k], axes[a], 0, false};
                checked += check_body("reduce", b_reduce, &r, 1, &x, 1) == 1;
                if (ts[t] != JX_BOOL) CU_ASSERT(check_body("reduce of chain", b_reduce_of_chain, &r, 1, &x, 1) == 1);
            }
            jx_array_release(x);
        }
    CU_ASSERT(checked >= 4 * 5 * 6 + 2 * 6);
    for (int t = 0; t < 5; t++) {
        jx_array *x = data(ts[t], JX_INTS(4, 6, 3), (unsigned)t + 50);
        for (int a = 0; a < 3; a++) {
            R r = {.axis = a};
            CU_ASSERT(check_body("argmax", b_arg, &r, 1, &x, 1) == 1);
            r.argmin = true;
            CU_ASSERT(check_body("argmin", b_arg, &r, 1, &x, 1) == 1);
        }
        jx_array_release(x);
    }
}

/* Column reductions (the operand's last axis kept): accumulated by tiles of an output
 * row, row by row of the operand; shapes with ragged tails, rows longer than a tile
 * (1024) and a last dim of 1. */
static void b_col_bias(jx_val *o, const jx_val *in, void *u) { /* a fused broadcast producer */
    R *r = u;
    o[0] = r->op(JX_HERE, jx_mul(jx_add(in[0], in[1]), in[1]), r->axes);
}
static void b_col_three(jx_val *o, const jx_val *in, void *u) { /* three in one kernel, two outputs */
    R *r = u;
    o[0] = jx_sub(r->op(JX_HERE, in[0], r->axes), jx_reduce_max(in[0], r->axes));
    o[1] = jx_mul(jx_reduce_min(in[0], r->axes), in[1]);
}

static void test_column_reductions(void) {
    static const reduce_op ops[] = {jx_reduce_sum_at, jx_reduce_max_at, jx_reduce_min_at, jx_reduce_prod_at};
    static const jx_dtype ts[] = {JX_F32, JX_F64, JX_I32};
    static const struct {
        int64_t shape[4];
        int rank;
        int64_t axes[2];
        int naxes;
    } cases[] = {
        {{7, 13}, 2, {0}, 1},      {{3, 1030}, 2, {0}, 1},       {{5, 3, 37}, 3, {0}, 1},
        {{5, 3, 37}, 3, {1}, 1},   {{5, 3, 37}, 3, {0, 1}, 2},   {{2, 3, 4, 5}, 4, {0, 2}, 2},
        {{9, 2, 1}, 3, {0}, 1},    {{2, 3, 2050}, 3, {1}, 1},
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    int checked = 0;
    for (int c = 0; c < NC; c++)
        for (int t = 0; t < 3; t++) {
            jx_ints shape = {cases[c].shape, cases[c].rank}, last = {&cases[c].shape[cases[c].rank - 1], 1};
            jx_ints axes = {cases[c].axes, cases[c].naxes};
            jx_array *x[2] = {data(ts[t], shape, (unsigned)(c * 3 + t)), data(ts[t], last, (unsigned)(c + 40))};
            for (int k = 0; k < 4; k++) {
                R r = {ops[k], axes, 0, false};
                checked += check_body("column reduce", b_reduce, &r, 1, x, 1) == 1;
                checked += check_body("column reduce of chain", b_reduce_of_chain, &r, 1, x, 1) == 1;
                checked += check_body("column reduce of a broadcast", b_col_bias, &r, 2, x, 1) == 1;
                checked += check_body("three column reductions", b_col_three, &r, 2, x, 2) == 1;
            }
            /* pools of 1, 2 and 4 threads (grain 1) on the biggest shapes */
            for (int p = 1; p <= 4 && c % 3 == 1; p *= 2) {
                R r = {ops[t], axes, 0, false};
                checked += check_split("column reduce on a pool", b_col_bias, &r, 2, x, 1, -p) == 1;
                checked += check_split("three column reductions on a pool", b_col_three, &r, 2, x, 2, -p) == 1;
            }
            jx_array_release(x[0]);
            jx_array_release(x[1]);
        }
    CU_ASSERT_EQUAL(checked, NC * 3 * 4 * 4 + 3 * 3 * 3 * 2);
}

static void b_softmax(jx_val *o, const jx_val *in, void *u) { o[0] = jx_softmax(in[0], *(int *)u); }
static void b_logsumexp(jx_val *o, const jx_val *in, void *u) { o[0] = jx_logsumexp(in[0], *(int *)u); }

static void test_composites(void) {
    jx_array *x = data(JX_F32, JX_INTS(7, 33), 11);
    /* no infinities: softmax of a row holding +inf and -inf is NaN either way, fine, but
     * keep the check about the arithmetic */
    jx_array *y = jx_array_astype(x, JX_F32);
    float *d = jx_array_data_mut(y);
    for (int64_t i = 0; i < 7 * 33; i++)
        if (!isfinite(d[i]) || fabsf(d[i]) > 50) d[i] = (float)(i % 9) - 4.0f;
    for (int axis = 0; axis < 2; axis++) {
        CU_ASSERT(check_body("softmax", b_softmax, &axis, 1, &y, 1) >= 1);
        CU_ASSERT(check_body("logsumexp", b_logsumexp, &axis, 1, &y, 1) >= 1);
    }
    jx_array_release(x);
    jx_array_release(y);
}

/* ------------------------------------------------------------------ kernels, errors */

static void b_transposed_read(jx_val *o, const jx_val *in, void *u) { o[0] = jx_add(in[0], jx_transpose(in[1], JX_INTS(1, 0))); }

static void test_chain_and_inplace(void) {
    jx_array *x[2] = {data(JX_F32, JX_INTS(1000), 1), data(JX_F32, JX_INTS(1000), 2)};
    int64_t before = jx__cpu_kernels_compiled();
    CU_ASSERT(check_body("chain of 8", ju_chain8, NULL, 2, x, 1) == 1);
    CU_ASSERT_EQUAL(jx__cpu_kernels_compiled(), before + 1);
    jx_fn *f = jx_trace("chain", ju_chain8, NULL, 2, (jx_aval[]){x[0]->aval, x[1]->aval}, 1);
    jx__fusion *fu = jx__fuse(f, true, NULL);
    jx__cpu_module *m = jx__cpu_module_new(3);
    jx__kernel *k = jx__cpu_kernel_add(m, f, &fu->groups[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(jx__kernel_size(k), 1000);
    CU_ASSERT(jx__kernel_inplace_ok(k, 0, 0));
    CU_ASSERT(jx__kernel_inplace_ok(k, 1, 0));
    CU_ASSERT(!jx__kernel_inplace_ok(k, 2, 0));
    CU_ASSERT_EQUAL(jx__cpu_module_compile(m), JX_OK);
    /* in place: the output overwrites input 0 and still equals the interpreter's */
    jx_array *want = NULL, *x0 = jx_array_astype(x[0], JX_F32);
    CU_ASSERT_EQUAL(jx_eval(f, 2, x, 1, &want), JX_OK);
    void *bufs[3] = {x0->data, x[1]->data, x0->data};
    jx__kernel_run(k, bufs, 0, 1000);
    CU_ASSERT(same_bits(x0, want));
    jx_array_release(want);
    jx_array_release(x0);
    jx__cpu_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(f);
    /* a transposed read is not in place */
    jx_array *sq[2] = {data(JX_F32, JX_INTS(8, 8), 3), data(JX_F32, JX_INTS(8, 8), 4)};
    f = jx_trace("tr", b_transposed_read, NULL, 2, (jx_aval[]){sq[0]->aval, sq[1]->aval}, 1);
    fu = jx__fuse(f, true, NULL);
    m = jx__cpu_module_new(2);
    k = jx__cpu_kernel_add(m, f, &fu->groups[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    int direct = fu->groups[0].in[0] == f->in[0] ? 0 : 1; /* inputs in order of first use */
    CU_ASSERT(jx__kernel_inplace_ok(k, direct, 0));
    CU_ASSERT(!jx__kernel_inplace_ok(k, 1 - direct, 0));
    jx__cpu_module_free(m); /* never compiled: freeing must still be clean */
    jx__fusion_free(fu);
    jx_fn_release(f);
    CU_ASSERT(check_body("transposed read", b_transposed_read, NULL, 2, sq, 1) == 1);
    for (int i = 0; i < 2; i++) jx_array_release(x[i]), jx_array_release(sq[i]);
}

static int dot_line;
static void b_dot(jx_val *o, const jx_val *in, void *u) {
    dot_line = __LINE__ + 1;
    o[0] = jx_matmul(in[0], in[1]);
}

static void test_unsupported_group(void) {
    jx_fn *f = jx_trace("dot", b_dot, NULL, 2, (jx_aval[]){JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3, 4)}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__fusion *fu = jx__fuse(f, true, NULL);
    CU_ASSERT_EQUAL(fu->ngroups, 1);
    CU_ASSERT_EQUAL(fu->groups[0].kind, JX__G_DOT);
    jx__group g = fu->groups[0];
    g.kind = JX__G_LOOP; /* pretend: the generator must refuse, naming the op and line */
    jx__cpu_module *m = jx__cpu_module_new(2);
    CU_ASSERT_PTR_NULL(jx__cpu_kernel_add(m, f, &g));
    JT_ASSERT_ERR("dot_general");
    JT_ASSERT_ERR("cannot compile");
    JT_ASSERT_ERR(jt_place(__FILE__, dot_line));
    CU_ASSERT_EQUAL(jx__cpu_module_compile(m), JX_OK); /* an empty module compiles */
    jx__cpu_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

static void test_unfused_equals_fused(void) {
    jx_array *x[2] = {data(JX_F64, JX_INTS(4, 6), 1), data(JX_F64, JX_INTS(6), 2)};
    jx_fn *f = jx_trace("row", b_bcast_row, NULL, 2, (jx_aval[]){x[0]->aval, x[1]->aval}, 1);
    jx_array *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    CU_ASSERT_EQUAL(run_kernels(f, x, &a, 1, true, &na), JX_OK);
    CU_ASSERT_EQUAL(run_kernels(f, x, &b, 5, false, &nb), JX_OK);
    CU_ASSERT_EQUAL(na, 1);
    CU_ASSERT_EQUAL(nb, 2);
    CU_ASSERT(a && b && same_bits(a, b));
    jx_array_release(a);
    jx_array_release(b);
    jx_fn_release(f);
    jx_array_release(x[0]);
    jx_array_release(x[1]);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"unary ops, every dtype", test_unary},
        {"binary and compare ops, every dtype", test_binary},
        {"select, rank-0 operands, integer_pow", test_select_rank0_ipow},
        {"convert between every pair of dtypes", test_convert},
        {"broadcast, transpose, reshape, squeeze, iota", test_movement},
        {"reductions over each axis, argmax/argmin", test_reductions},
        {"column reductions, fused, on pools", test_column_reductions},
        {"softmax and logsumexp", test_composites},
        {"chain of 8, kernel count, in-place", test_chain_and_inplace},
        {"a group the generator cannot do", test_unsupported_group},
        {"unfused kernels equal fused", test_unfused_equals_fused},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit codegen", tests);
}
