/* test_passes.c: the IR passes (typecheck, dce, cse, fold, simplify): equation counts,
 * exact typecheck messages on corrupted IR, nested bodies, and bit-identical results
 * before and after every pass. */
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

/* ------------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random contents; floats start with -0.0, +inf and NaN to catch unsafe identities. */
static jx_array *rand_array(jx_aval a) {
    jx_array *x = jx_array_new(a.dtype, (jx_ints){a.shape, a.rank}, NULL);
    if (!x) return NULL;
    void *d = jx_array_data_mut(x);
    int64_t n = jx_array_size(x);
    for (int64_t i = 0; i < n; i++) {
        double v = (double)(int64_t)(rng() % 801) / 100.0 - 4.0;
        if (i == 0) v = -0.0;
        if (i == 1) v = INFINITY;
        if (i == 2) v = NAN;
        switch (a.dtype) {
        case JX_F32: ((float *)d)[i] = (float)v; break;
        case JX_F64: ((double *)d)[i] = v; break;
        case JX_I32: ((int32_t *)d)[i] = (int32_t)(rng() % 201) - 100; break;
        case JX_I64: ((int64_t *)d)[i] = (int64_t)(rng() % 201) - 100; break;
        case JX_U32: ((uint32_t *)d)[i] = (uint32_t)rng(); break;
        case JX_BOOL:
        case JX_U8: ((uint8_t *)d)[i] = (uint8_t)(rng() & (a.dtype == JX_BOOL ? 1 : 255)); break;
        default: break;
        }
    }
    return x;
}

/* f and g have the same signature and give bit-identical outputs on random inputs. */
static void assert_same_results(const jx_fn *f, const jx_fn *g) {
    int nin = jx_fn_num_inputs(f), nout = jx_fn_num_outputs(f);
    CU_ASSERT_EQUAL_FATAL(jx_fn_num_inputs(g), nin);
    CU_ASSERT_EQUAL_FATAL(jx_fn_num_outputs(g), nout);
    jx_array *in[8] = {0}, *a[8] = {0}, *b[8] = {0};
    CU_ASSERT_FATAL(nin <= 8 && nout <= 8);
    for (int i = 0; i < nin; i++) {
        jx_aval fa = jx_fn_input_aval(f, i), ga = jx_fn_input_aval(g, i);
        CU_ASSERT(jx_aval_equal(&fa, &ga));
        in[i] = rand_array(fa);
    }
    for (int i = 0; i < nout; i++) {
        jx_aval fa = jx_fn_output_aval(f, i), ga = jx_fn_output_aval(g, i);
        CU_ASSERT(jx_aval_equal(&fa, &ga));
    }
    jx_status sf = jt_eval(f, nin, in, nout, a);
    if (sf != JX_OK) fprintf(stderr, "\n  eval before: %s\n", jx_errmsg());
    jx_status sg = jt_eval(g, nin, in, nout, b);
    if (sg != JX_OK) fprintf(stderr, "\n  eval after: %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(sf, JX_OK);
    CU_ASSERT_EQUAL(sg, JX_OK);
    for (int i = 0; i < nout && sf == JX_OK && sg == JX_OK; i++) {
        CU_ASSERT_EQUAL(jx_array_nbytes(a[i]), jx_array_nbytes(b[i]));
        if (jx_array_nbytes(a[i]) == jx_array_nbytes(b[i]))
            CU_ASSERT(memcmp(jx_array_data(a[i]), jx_array_data(b[i]), jx_array_nbytes(a[i])) == 0);
    }
    for (int i = 0; i < 8; i++) {
        jx_array_release(in[i]);
        jx_array_release(a[i]);
        jx_array_release(b[i]);
    }
}

typedef jx_fn *(*pass_fn)(const jx_fn *);

/* Shape ops bound directly: the public wrappers skip no-op reshapes and transposes,
 * but other transformations may well produce them. */
static jx_val raw_reshape(jx_val x, jx_ints shape) {
    jx__attr a = jx__a_ints(JX_A_SHAPE, shape);
    return jx__bind1(JX_HERE, JX_PRIM_RESHAPE, 1, &x, 1, &a);
}
static jx_val raw_transpose(jx_val x, jx_ints perm) {
    jx__attr a = jx__a_ints(JX_A_PERM, perm);
    return jx__bind1(JX_HERE, JX_PRIM_TRANSPOSE, 1, &x, 1, &a);
}
static jx_val raw_broadcast(jx_val x, jx_ints shape, jx_ints dims) {
    jx__attr a[2] = {jx__a_ints(JX_A_SHAPE, shape), jx__a_ints(JX_A_DIMS, dims)};
    return jx__bind1(JX_HERE, JX_PRIM_BROADCAST_IN_DIM, 1, &x, 2, a);
}

/* Runs a pass and checks what holds for every pass: the result typechecks, the input is
 * unchanged, and the results are bit-identical. */
static jx_fn *run_pass(pass_fn pass, const jx_fn *f) {
    int before = jx_fn_num_eqns_total(f);
    jx_fn *g = pass(f);
    if (!g) fprintf(stderr, "\n  pass failed: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(g);
    if (!g) return NULL;
    CU_ASSERT_EQUAL(jx_fn_typecheck(g), JX_OK);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(f), before);
    CU_ASSERT_STRING_EQUAL(jx_fn_name(g), jx_fn_name(f));
    assert_same_results(f, g);
    return g;
}

/* Eqn count (nested included) of pass(f), or -1; the result is checked and released. */
static int count_after(pass_fn pass, const jx_fn *f) {
    jx_fn *g = run_pass(pass, f);
    int n = g ? jx_fn_num_eqns_total(g) : -1;
    jx_fn_release(g);
    return n;
}

static jx_fn *trace2(const char *name, jx_body body, void *user, jx_aval a, int nout) {
    jx_aval av[2] = {a, a};
    jx_fn *f = jx_trace(name, body, user, 2, av, nout);
    if (!f) fprintf(stderr, "\n  trace failed: %s\n", jx_errmsg());
    return f;
}

/* ------------------------------------------------------------------ dce */

static int dce_line;
static void dead_chain(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val dead = jx_sin(jx_exp(in[0]));
    (void)jx_add(dead, in[1]);
    dce_line = __LINE__ + 1;
    out[0] = jx_mul(in[0], in[1]);
    out[1] = in[1];                  /* an input passed through */
    out[2] = jx_scalar(JX_F32, 2.5); /* a literal output */
}

static void test_dce_dead_chain(void) {
    jx_fn *f = trace2("dce", dead_chain, NULL, JX_AVAL(JX_F32, 2, 3), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 4);
    jx_fn *g = run_pass(jx_fn_dce, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    CU_ASSERT_EQUAL(g->eqns[0].prim, JX_PRIM_MUL);
    CU_ASSERT_EQUAL(g->eqns[0].loc.line, dce_line); /* the user's line survives */
    CU_ASSERT_STRING_EQUAL(g->eqns[0].loc.file, __FILE__);
    jx_aval o = jx_fn_output_aval(g, 2);
    CU_ASSERT_EQUAL(o.rank, 0);
    CU_ASSERT_EQUAL(o.dtype, JX_F32);
    jx_fn *h = run_pass(jx_fn_dce, g); /* nothing left to remove */
    CU_ASSERT_EQUAL(jx_fn_num_eqns(h), 1);
    jx_fn_release(h);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* top_k has two outputs; only one is used, so the equation must stay whole. */
static void half_used(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val v, i;
    jx_top_k(in[0], 2, &v, &i); /* its indices stay unused */
    (void)i;
    out[0] = v;
}

static void test_dce_keeps_multi_output(void) {
    jx_aval a = JX_AVAL(JX_F32, 5);
    jx_fn *f = jx_trace("topk", half_used, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(count_after(jx_fn_dce, f), jx_fn_num_eqns(f));
    jx_fn_release(f);
}

static void all_dead(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    (void)jx_neg(jx_exp(in[0]));
    out[0] = in[0];
}

static void test_dce_everything_dead(void) {
    jx_aval a = JX_AVAL(JX_F32, 0, 3); /* a size-0 dim changes nothing */
    jx_fn *f = jx_trace("dead", all_dead, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(count_after(jx_fn_dce, f), 0);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ cse */

static void dup_mul(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val a = jx_mul(in[0], in[1]), b = jx_mul(in[0], in[1]);
    out[0] = jx_add(jx_exp(a), jx_exp(b)); /* the exps merge once the muls have */
}

static void test_cse_merges(void) {
    jx_fn *f = trace2("cse", dup_mul, NULL, JX_AVAL(JX_F32, 4), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 5);
    CU_ASSERT_EQUAL(count_after(jx_fn_cse, f), 3);
    jx_fn_release(f);
}

static void attr_variants(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0];
    jx_val s0 = jx_reduce_sum(x, JX_INTS(0)), s1 = jx_reduce_sum(x, JX_INTS(1));
    jx_val s0b = jx_reduce_sum(x, JX_INTS(0));                   /* merges with s0 */
    out[0] = jx_add(jx_add(s0, s1), s0b);
    jx_val p = jx_add(x, jx_scalar(JX_F32, 1)), q = jx_add(x, jx_scalar(JX_F32, 2));
    jx_val z = jx_add(x, jx_scalar(JX_F32, 0.0)), nz = jx_add(x, jx_scalar(JX_F32, -0.0));
    jx_val p2 = jx_add(x, jx_scalar(JX_F32, 1));                 /* merges with p */
    out[1] = jx_add(jx_add(jx_add(p, q), jx_add(z, nz)), p2);
}

static void test_cse_respects_attrs_and_literals(void) {
    jx_fn *f = trace2("cse_attrs", attr_variants, NULL, JX_AVAL(JX_F32, 3, 3), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 14);
    CU_ASSERT_EQUAL(count_after(jx_fn_cse, f), 12);
    jx_fn_release(f);
}

/* A long chain where every step is computed twice. */
static void long_chain(jx_val *out, const jx_val *in, void *user) {
    int steps = *(const int *)user;
    jx_val v = in[0];
    for (int i = 0; i < steps; i++) {
        jx_val a = jx_add(v, in[1]), b = jx_add(v, in[1]);
        v = jx_mul(a, b);
    }
    out[0] = v;
}

static void test_cse_large(void) {
    int steps = 5000;
    jx_fn *f = trace2("chain", long_chain, &steps, JX_SCALAR(JX_F64), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 15000);
    jx_fn *g = jx_fn_cse(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 10000);
    CU_ASSERT_EQUAL(jx_fn_typecheck(g), JX_OK);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ fold */

static void lit_chain(jx_val *out, const jx_val *in, void *user) {
    (void)in, (void)user;
    out[0] = jx_add(jx_mul(jx_scalar(JX_F32, 2), jx_scalar(JX_F32, 3)), jx_scalar(JX_F32, 1));
    out[1] = jx_add(jx_scalar(JX_I32, 2147483647), jx_scalar(JX_I32, 1)); /* wraps */
    out[2] = jx_convert(jx_scalar(JX_F32, 1.5), JX_F16);
    out[3] = jx_div(jx_scalar(JX_F64, 0), jx_scalar(JX_F64, 0)); /* NaN */
}

static void test_fold_literals(void) {
    jx_fn *f = jx_trace("lits", lit_chain, NULL, 0, NULL, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 5);
    jx_fn *g = run_pass(jx_fn_fold, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 0);
    CU_ASSERT_EQUAL(g->out[0].var, -1);
    CU_ASSERT_EQUAL(g->out[0].dtype, JX_F32);
    CU_ASSERT_EQUAL(g->out[0].lit.f, 7.0);
    CU_ASSERT_EQUAL(g->out[1].lit.i, INT32_MIN);
    CU_ASSERT_EQUAL(g->out[2].dtype, JX_F16);
    CU_ASSERT_EQUAL(g->out[2].lit.f, 1.5);
    CU_ASSERT(isnan(g->out[3].lit.f));
    jx_fn_release(g);
    jx_fn_release(f);
}

static void mixed_fold(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val six = jx_mul(jx_scalar(JX_F32, 2), jx_scalar(JX_F32, 3));
    jx_val zero = jx_sub(jx_scalar(JX_F32, 5), jx_scalar(JX_F32, 5)); /* +0.0 */
    out[0] = jx_sub(jx_mul(in[0], six), zero);                        /* x*6 - 0.0 = x*6 */
    out[1] = jx_broadcast_in_dim(jx_scalar(JX_F32, 4), JX_INTS(3), JX_NOINTS); /* rank 1: stays */
    out[2] = jx_select(jx_lt(jx_scalar(JX_F32, 1), jx_scalar(JX_F32, 2)), in[0], in[1]);
}

static void test_fold_with_variables(void) {
    jx_fn *f = trace2("mixed", mixed_fold, NULL, JX_AVAL(JX_F32, 3), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 7);
    jx_fn *g = run_pass(jx_fn_fold, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 2); /* mul x 6.0, broadcast_in_dim 4.0 */
    CU_ASSERT_EQUAL(g->eqns[0].prim, JX_PRIM_MUL);
    CU_ASSERT_EQUAL(g->eqns[0].in[1].var, -1);
    CU_ASSERT_EQUAL(g->eqns[0].in[1].lit.f, 6.0);
    CU_ASSERT_EQUAL(g->out[2].var, g->in[0]); /* select(true, x, y) is x */
    jx_fn_release(g);
    jx_fn_release(f);
}

/* Algebraic identities: each case is one equation on x (and y); `gone` says whether
 * fold may remove it. */
enum { K_ADD, K_RADD, K_SUB, K_MUL, K_RMUL, K_DIV, K_RDIV, K_CONVERT, K_RESHAPE, K_TRANSPOSE, K_BCAST, K_SELECT };
typedef struct ident_case {
    int kind;
    jx_dtype dtype;
    double v; /* the literal; the target dtype for convert; the predicate for select */
    int gone;
    const char *what;
} ident_case;

static void ident_body(jx_val *out, const jx_val *in, void *user) {
    const ident_case *c = user;
    jx_val x = in[0], lit = jx_scalar(c->dtype, c->v);
    switch (c->kind) {
    case K_ADD: out[0] = jx_add(x, lit); break;
    case K_RADD: out[0] = jx_add(lit, x); break;
    case K_SUB: out[0] = jx_sub(x, lit); break;
    case K_MUL: out[0] = jx_mul(x, lit); break;
    case K_RMUL: out[0] = jx_mul(lit, x); break;
    case K_DIV: out[0] = jx_div(x, lit); break;
    case K_RDIV: out[0] = jx_div(lit, x); break;
    case K_CONVERT: out[0] = jx_convert(x, (jx_dtype)c->v); break;
    case K_RESHAPE: out[0] = raw_reshape(x, c->v ? JX_INTS(3, 2) : JX_INTS(2, 3)); break;
    case K_TRANSPOSE: out[0] = raw_transpose(x, c->v ? JX_INTS(1, 0) : JX_INTS(0, 1)); break;
    case K_BCAST:
        out[0] = c->v ? raw_broadcast(x, JX_INTS(4, 2, 3), JX_INTS(1, 2)) : raw_broadcast(x, JX_INTS(2, 3), JX_INTS(0, 1));
        break;
    case K_SELECT: out[0] = jx_select(jx_scalar(JX_BOOL, c->v), x, in[1]); break;
    }
}

static void test_fold_identities(void) {
    static const ident_case cases[] = {
        {K_ADD, JX_F32, -0.0, 1, "x + -0.0"},
        {K_RADD, JX_F64, -0.0, 1, "-0.0 + x"},
        {K_ADD, JX_F32, 0.0, 0, "x + 0.0 (wrong for x = -0.0)"},
        {K_RADD, JX_F32, 0.0, 0, "0.0 + x"},
        {K_ADD, JX_I32, 0, 1, "x + 0 (i32)"},
        {K_RADD, JX_U32, 0, 1, "0 + x (u32)"},
        {K_ADD, JX_I32, 1, 0, "x + 1"},
        {K_SUB, JX_F32, 0.0, 1, "x - 0.0"},
        {K_SUB, JX_F32, -0.0, 0, "x - -0.0"},
        {K_SUB, JX_I64, 0, 1, "x - 0 (i64)"},
        {K_MUL, JX_F32, 1, 1, "x * 1.0"},
        {K_RMUL, JX_F64, 1, 1, "1.0 * x"},
        {K_MUL, JX_F32, 0.0, 0, "x * 0.0 (NaN, inf)"},
        {K_MUL, JX_I32, 1, 1, "x * 1 (i32)"},
        {K_DIV, JX_F32, 1, 1, "x / 1.0"},
        {K_DIV, JX_I32, 1, 1, "x / 1 (i32)"},
        {K_RDIV, JX_F32, 1, 0, "1.0 / x"},
        {K_CONVERT, JX_F32, JX_F32, 1, "convert f32 -> f32"},
        {K_CONVERT, JX_F32, JX_F64, 0, "convert f32 -> f64"},
        {K_RESHAPE, JX_F32, 0, 1, "reshape to the same shape"},
        {K_RESHAPE, JX_F32, 1, 0, "reshape to another shape"},
        {K_TRANSPOSE, JX_F32, 0, 1, "transpose (0,1)"},
        {K_TRANSPOSE, JX_F32, 1, 0, "transpose (1,0)"},
        {K_BCAST, JX_F32, 0, 1, "broadcast to the same shape"},
        {K_BCAST, JX_F32, 1, 0, "broadcast to a larger shape"},
        {K_SELECT, JX_F32, 1, 1, "select(true, x, y)"},
        {K_SELECT, JX_F32, 0, 1, "select(false, x, y)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const ident_case *c = &cases[i];
        jx_fn *f = trace2(c->what, ident_body, (void *)c, JX_AVAL(c->dtype, 2, 3), 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        int n = count_after(jx_fn_fold, f);
        int want = jx_fn_num_eqns(f) - c->gone;
        if (n != want) fprintf(stderr, "\n  %s: %d equations after fold, want %d\n", c->what, n, want);
        CU_ASSERT_EQUAL(n, want);
        jx_fn_release(f);
    }
}

/* x + 0.0 at x = -0.0 is +0.0: the folded function must still give +0.0. */
static void add_pos_zero(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(in[0], jx_scalar(JX_F32, 0.0));
}

static void test_fold_keeps_neg_zero_semantics(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    jx_fn *f = jx_trace("pz", add_pos_zero, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_fn_simplify(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *x = jx_array_scalar(JX_F32, -0.0), *y = NULL;
    CU_ASSERT_EQUAL(jt_eval(g, 1, &x, 1, &y), JX_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(jx_array_get(y, 0), 0.0);
    CU_ASSERT(!signbit(jx_array_get(y, 0)));
    jx_array_release(x);
    jx_array_release(y);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ simplify */

static void messy(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val k = jx_add(jx_mul(jx_scalar(JX_F32, 2), jx_scalar(JX_F32, 3)), jx_scalar(JX_F32, 1)); /* 7 */
    jx_val a = jx_mul(in[0], k), b = jx_mul(in[0], k);
    jx_val c = jx_mul(jx_add(a, jx_scalar(JX_F32, -0.0)), jx_scalar(JX_F32, 1)); /* a */
    (void)jx_exp(jx_sub(a, b));                                                   /* dead */
    jx_val t = raw_transpose(raw_reshape(in[1], JX_INTS(2, 2)), JX_INTS(0, 1));   /* in[1] */
    out[0] = jx_add(jx_add(c, b), t);
}

static void test_simplify_fixed_point(void) {
    jx_fn *f = trace2("messy", messy, NULL, JX_AVAL(JX_F32, 2, 2), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 12);
    jx_fn *g = run_pass(jx_fn_simplify, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 3); /* a = x*7; a + a; + y */
    jx_fn *h = run_pass(jx_fn_simplify, g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(h), 3);
    jx_fn *d = run_pass(jx_fn_dce, h), *c = run_pass(jx_fn_cse, h), *o = run_pass(jx_fn_fold, h);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(d), 3);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(c), 3);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(o), 3);
    jx_fn_release(d);
    jx_fn_release(c);
    jx_fn_release(o);
    jx_fn_release(h);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ nested bodies */

/* carry' = carry + x_t*x_t (written twice), with dead code and a foldable literal. */
static void scan_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val c = in[0], xt = in[1];
    (void)jx_exp(c);
    jx_val sq = jx_mul(xt, xt), sq2 = jx_mul(xt, xt);
    jx_val two = jx_mul(jx_scalar(JX_F32, 1), jx_scalar(JX_F32, 2));
    out[0] = jx_add(c, jx_mul(jx_add(sq, sq2), two));
    out[1] = jx_mul(sq2, jx_scalar(JX_F32, 1));
}

static void with_scan(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val init = jx_reduce_sum(in[1], JX_INTS(0)), res[2];
    jx_scan(scan_body, NULL, 4, 0, 1, &init, 1, &in[0], 1, res);
    out[0] = res[0];
    out[1] = res[1];
}

static const jx_fn *nested_fn(const jx_fn *f, jx_prim prim, jx__akey key, int j) {
    for (int k = 0; k < f->neqn; k++)
        if (f->eqns[k].prim == (int)prim) {
            const jx__attr *a = jx__attr_get(f->eqns[k].nattr, f->eqns[k].attrs, key);
            return a && a->kind == JX_AK_FNS && a->n > j ? a->u.fns[j] : NULL;
        }
    return NULL;
}

static void test_passes_recurse_into_scan(void) {
    jx_fn *f = trace2("scan", with_scan, NULL, JX_AVAL(JX_F32, 4, 3), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int top = jx_fn_num_eqns(f), total = jx_fn_num_eqns_total(f);
    CU_ASSERT_EQUAL(total - top, 8);
    CU_ASSERT_EQUAL(count_after(jx_fn_dce, f), total - 1);
    CU_ASSERT_EQUAL(count_after(jx_fn_cse, f), total - 1);
    CU_ASSERT_EQUAL(count_after(jx_fn_fold, f), total - 2);
    jx_fn *g = run_pass(jx_fn_simplify, f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), top);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(g), top + 4); /* sq, add, mul 2, add */
    const jx_fn *body = nested_fn(g, JX_PRIM_SCAN, JX_A_BODY, 0), *old = nested_fn(f, JX_PRIM_SCAN, JX_A_BODY, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(body), jx_fn_num_inputs(old)); /* signature kept */
    CU_ASSERT_EQUAL(jx_fn_num_outputs(body), jx_fn_num_outputs(old));
    jx_fn_release(g);
    jx_fn_release(f);
}

static void branch0(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    (void)jx_sin(in[0]);                                    /* dead */
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_mul(in[0], in[1])); /* duplicate */
}

static void branch1(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_div(in[1], jx_scalar(JX_F32, 1)); /* identity */
}

static void with_cond(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_body br[2] = {branch0, branch1};
    jx_val pred = jx_gt(jx_reduce_sum(in[0], JX_NOINTS), jx_scalar(JX_F32, 0));
    jx_switch(pred, 2, br, NULL, 2, in, 1, out);
}

static void test_passes_recurse_into_cond(void) {
    jx_fn *f = trace2("cond", with_cond, NULL, JX_AVAL(JX_F32, 3), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int total = jx_fn_num_eqns_total(f);
    CU_ASSERT_EQUAL(count_after(jx_fn_dce, f), total - 1);
    CU_ASSERT_EQUAL(count_after(jx_fn_cse, f), total - 1);
    CU_ASSERT_EQUAL(count_after(jx_fn_fold, f), total - 1);
    CU_ASSERT_EQUAL(count_after(jx_fn_simplify, f), total - 3);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ typecheck */

static void test_typecheck_accepts_traced(void) {
    jx_fn *fs[4] = {trace2("messy", messy, NULL, JX_AVAL(JX_F32, 2, 2), 1),
                    trace2("scan", with_scan, NULL, JX_AVAL(JX_F32, 4, 3), 2),
                    trace2("cond", with_cond, NULL, JX_AVAL(JX_F32, 3), 1),
                    trace2("cse_attrs", attr_variants, NULL, JX_AVAL(JX_F32, 3, 3), 2)};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_PTR_NOT_NULL(fs[i]);
        if (fs[i] && jx_fn_typecheck(fs[i]) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
        if (fs[i]) CU_ASSERT_EQUAL(jx_fn_typecheck(fs[i]), JX_OK);
        jx_fn_release(fs[i]);
    }
}

static jx__atom var_atom(const jx_fn *f, int v) {
    jx__atom a;
    memset(&a, 0, sizeof a);
    a.var = v;
    a.dtype = f->vars[v].dtype;
    return a;
}

static void set_eqn(jx_fn *f, int k, jx_prim prim, jx__atom a, jx__atom b, int out, int line) {
    jx__eqn *e = &f->eqns[k];
    e->prim = (int16_t)prim;
    e->nin = 2;
    e->nout = 1;
    e->in = jx__arena_alloc(&f->arena, 2 * sizeof *e->in);
    e->in[0] = a;
    e->in[1] = b;
    e->out = jx__arena_alloc(&f->arena, sizeof *e->out);
    e->out[0] = out;
    e->loc = (jx_loc){"model.c", line};
}

/* bad(x:f32[2], y:f32[2]) = { a = add x y  # model.c:12;  b = mul a x  # model.c:13 } -> b */
static jx_fn *hand_fn(void) {
    jx_fn *f = jx__fn_alloc();
    f->name = "bad";
    f->nvars = 4;
    f->vars = jx__arena_alloc(&f->arena, 4 * sizeof *f->vars);
    for (int v = 0; v < 4; v++) f->vars[v] = JX_AVAL(JX_F32, 2);
    f->nin = 2;
    f->in = jx__arena_alloc(&f->arena, 2 * sizeof *f->in);
    f->in[0] = 0;
    f->in[1] = 1;
    f->neqn = 2;
    f->eqns = jx__arena_alloc(&f->arena, 2 * sizeof *f->eqns);
    set_eqn(f, 0, JX_PRIM_ADD, var_atom(f, 0), var_atom(f, 1), 2, 12);
    set_eqn(f, 1, JX_PRIM_MUL, var_atom(f, 2), var_atom(f, 0), 3, 13);
    f->nout = 1;
    f->out = jx__arena_alloc(&f->arena, sizeof *f->out);
    f->out[0] = var_atom(f, 3);
    return f;
}

static void expect_typecheck(jx_fn *f, const char *msg) {
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_ERR_TYPECHECK);
    if (strcmp(jx_errmsg(), msg) != 0) fprintf(stderr, "\n  got  '%s'\n  want '%s'\n", jx_errmsg(), msg);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), msg);
}

static void test_typecheck_rejects(void) {
    jx_fn *f = hand_fn();
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    assert_same_results(f, f);
    f->vars[3] = JX_AVAL(JX_F32, 3); /* wrong recorded aval */
    expect_typecheck(f, "model.c:13: typecheck: equation 1 (mul): recorded f32[3], rule gives f32[2]");
    f->vars[3] = JX_AVAL(JX_F32, 2);
    f->vars[1] = JX_AVAL(JX_F32, 3); /* operands the rule rejects */
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_ERR_TYPECHECK);
    JT_ASSERT_ERR("model.c:12: typecheck: equation 0 (add): ");
    JT_ASSERT_ERR("f32[2]");
    JT_ASSERT_ERR("f32[3]");
    jx_fn_release(f);

    f = hand_fn();
    f->eqns[0].in[1] = var_atom(f, 3); /* read before defined */
    expect_typecheck(f, "model.c:12: typecheck: equation 0 (add): operand 1 reads variable 3 before it is defined");
    f->eqns[0].in[1].var = 9;
    expect_typecheck(f, "model.c:12: typecheck: equation 0 (add): operand 1 is variable 9, out of range (4 variables)");
    f->eqns[0].in[1] = jx__lit_make(JX_F32, 1);
    f->eqns[0].in[1].dtype = (jx_dtype)99;
    expect_typecheck(f, "model.c:12: typecheck: equation 0 (add): operand 1 is a literal of invalid dtype 99");
    jx_fn_release(f);

    f = hand_fn();
    f->eqns[1].out[0] = 2; /* defined twice */
    expect_typecheck(f, "model.c:13: typecheck: equation 1 (mul): output 0 redefines variable 2");
    f->eqns[1].out[0] = -1;
    expect_typecheck(f, "model.c:13: typecheck: equation 1 (mul): output 0 is variable -1, out of range (4 variables)");
    f->eqns[1].out[0] = 3;
    f->eqns[1].nin = 1;
    expect_typecheck(f, "model.c:13: typecheck: equation 1 (mul): takes 2 operands, has 1");
    f->eqns[1].nin = 2;
    f->in[1] = 0; /* inputs must be distinct */
    expect_typecheck(f, "typecheck: function 'bad': input 1 repeats variable 0");
    f->in[1] = 1;
    f->out[0].var = 5;
    expect_typecheck(f, "typecheck: function 'bad': output 0 is variable 5, out of range (4 variables)");
    f->out[0].var = 3;
    f->eqns[1].prim = JX_PRIM_COUNT;
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_ERR_TYPECHECK);
    JT_ASSERT_ERR("model.c:13: typecheck: equation 1 (?): unknown primitive");
    f->eqns[1].prim = JX_PRIM_MUL;
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    jx_fn_release(f);
}

/* A corrupted body is reported with the path to it. */
static void test_typecheck_nested(void) {
    jx_fn *inner = hand_fn();
    jx_fn *outer = jx__fn_alloc();
    outer->name = "outer";
    outer->nvars = 3;
    outer->vars = jx__arena_alloc(&outer->arena, 3 * sizeof *outer->vars);
    for (int v = 0; v < 3; v++) outer->vars[v] = JX_AVAL(JX_F32, 2);
    outer->nin = 2;
    outer->in = jx__arena_alloc(&outer->arena, 2 * sizeof *outer->in);
    outer->in[0] = 0;
    outer->in[1] = 1;
    outer->neqn = 1;
    outer->eqns = jx__arena_alloc(&outer->arena, sizeof *outer->eqns);
    set_eqn(outer, 0, JX_PRIM_CALL, var_atom(outer, 0), var_atom(outer, 1), 2, 40);
    jx__attr a = jx__a_fns(JX_A_FN, 1, &inner);
    outer->eqns[0].attrs = jx__attrs_copy(&outer->arena, 1, &a); /* retains inner */
    outer->eqns[0].nattr = 1;
    outer->nout = 1;
    outer->out = jx__arena_alloc(&outer->arena, sizeof *outer->out);
    outer->out[0] = var_atom(outer, 2);
    CU_ASSERT_EQUAL(jx_fn_typecheck(outer), JX_OK);
    jx_fn *g = run_pass(jx_fn_simplify, outer);
    jx_fn_release(g);
    inner->vars[3] = JX_AVAL(JX_F64, 2);
    expect_typecheck(outer, "model.c:13: typecheck: equation 0 (call) fn[0]: equation 1 (mul): recorded f64[2], "
                            "rule gives f32[2]");
    /* a pass refuses ill-typed IR rather than building on it */
    CU_ASSERT_PTR_NULL(jx_fn_dce(outer));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TYPECHECK);
    JT_ASSERT_ERR("recorded f64[2], rule gives f32[2]");
    jx_fn_release(inner);
    jx_fn_release(outer);
}

static int corrupt_line;
static void one_add(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    corrupt_line = __LINE__ + 1;
    out[0] = jx_add(in[0], in[1]);
}

/* A traced function names the user's line in a typecheck error. */
static void test_typecheck_names_user_line(void) {
    jx_fn *f = trace2("one_add", one_add, NULL, JX_AVAL(JX_F32, 5), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    f->vars[f->eqns[0].out[0]] = JX_AVAL(JX_I32, 5);
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_ERR_TYPECHECK);
    JT_ASSERT_ERR(jt_place(__FILE__, corrupt_line));
    JT_ASSERT_ERR("typecheck: equation 0 (add): recorded i32[5], rule gives f32[5]");
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ misc */

/* A loc file owned by the old function's arena (as the parser makes them) must be
 * copied: the new function outlives the old one. */
static void test_loc_file_is_copied(void) {
    jx_fn *f = hand_fn();
    char *owned = jx__arena_strdup(&f->arena, "owned.c");
    f->eqns[0].loc.file = owned;
    f->eqns[1].loc.file = owned;
    jx_fn *g = jx_fn_cse(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_fn_release(f);
    CU_ASSERT_STRING_EQUAL(g->eqns[0].loc.file, "owned.c");
    CU_ASSERT_EQUAL(g->eqns[1].loc.line, 13);
    jx_fn_release(g);
}

/* Parsed IR owns its loc files; passes on it must outlive it. */
static void test_parsed_ir(void) {
    jx_fn *f = trace2("scan", with_scan, NULL, JX_AVAL(JX_F32, 4, 3), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *text = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    jx_fn *p = jx_fn_parse(text);
    free(text);
    if (!p) fprintf(stderr, "\n  parse: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    jx_fn *g = run_pass(jx_fn_simplify, p);
    jx_fn_release(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(g), jx_fn_num_eqns(f) + 4);
    text = jx_fn_to_string(g);
    CU_ASSERT_PTR_NOT_NULL(text);
    CU_ASSERT(text && strstr(text, "test_passes.c:") != NULL);
    free(text);
    jx_fn_release(g);
    jx_fn_release(f);
}

static void test_null_arguments(void) {
    pass_fn passes[] = {jx_fn_dce, jx_fn_cse, jx_fn_fold, jx_fn_simplify};
    for (int i = 0; i < 4; i++) {
        jx_clear_error();
        CU_ASSERT_PTR_NULL(passes[i](NULL));
        CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
        JT_ASSERT_ERR("function is NULL");
    }
    CU_ASSERT_EQUAL(jx_fn_typecheck(NULL), JX_ERR_ARG);
}

/* A pass leaves the caller's error state alone when it succeeds, even where a fold
 * was attempted and skipped. */
static void test_no_stale_error(void) {
    jx_fn *f = trace2("messy", messy, NULL, JX_AVAL(JX_F32, 2, 2), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_clear_error();
    jx_fn *g = jx_fn_simplify(f);
    CU_ASSERT_PTR_NOT_NULL(g);
    CU_ASSERT_EQUAL(jx_errcode(), JX_OK);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "");
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"dce removes dead chains", test_dce_dead_chain},
        {"dce keeps multi-output equations whole", test_dce_keeps_multi_output},
        {"dce of an all-dead function", test_dce_everything_dead},
        {"cse merges duplicates", test_cse_merges},
        {"cse respects attributes and literals", test_cse_respects_attrs_and_literals},
        {"cse on 15000 equations", test_cse_large},
        {"fold evaluates literal chains", test_fold_literals},
        {"fold with variables", test_fold_with_variables},
        {"fold identities, and the unsafe ones", test_fold_identities},
        {"fold keeps x + 0.0 at -0.0", test_fold_keeps_neg_zero_semantics},
        {"simplify reaches a fixed point", test_simplify_fixed_point},
        {"passes recurse into scan", test_passes_recurse_into_scan},
        {"passes recurse into cond", test_passes_recurse_into_cond},
        {"typecheck accepts traced functions", test_typecheck_accepts_traced},
        {"typecheck rejects corrupted IR", test_typecheck_rejects},
        {"typecheck of nested functions", test_typecheck_nested},
        {"typecheck names the user's line", test_typecheck_names_user_line},
        {"loc files are copied", test_loc_file_is_copied},
        {"passes on parsed IR", test_parsed_ir},
        {"NULL arguments", test_null_arguments},
        {"no stale error after a pass", test_no_stale_error},
        CU_TEST_INFO_NULL,
    };
    return jt_run("passes", tests);
}
