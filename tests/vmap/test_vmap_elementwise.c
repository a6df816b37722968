/* test_vmap_elementwise.c: every elementwise primitive (unary, binary, compare, select,
 * convert_element_type, integer_pow, stop_gradient) under vmap, for each dtype it takes,
 * with the mapped axis first, last, in the middle, an operand not mapped, and rank-0
 * operands (mapped, unmapped, literal), against a loop of calls (jt_check_vmap). Also
 * checks that an unmapped scalar stays a scalar (no broadcast is emitted for it). */
#include <stdlib.h>

#include "vmap_check.h"

typedef jx_val (*un_op)(jx_loc, jx_val);
typedef jx_val (*bin_op)(jx_loc, jx_val, jx_val);

#define B 4 /* the mapped size */

/* The batched shape of f's aval `s` with B inserted at axis (JX_NOT_MAPPED: s itself). */
static jx_ints batched(jx_ints s, int64_t axis, int64_t *buf) {
    if (axis == JX_NOT_MAPPED) {
        for (int i = 0; i < s.n; i++) buf[i] = s.v[i];
        return (jx_ints){buf, s.n};
    }
    int r = s.n + 1, a = (int)(axis < 0 ? axis + r : axis);
    for (int i = 0, k = 0; i < r; i++) buf[i] = i == a ? B : s.v[k++];
    return (jx_ints){buf, r};
}

static const char *dn(jx_dtype t) { return jx_dtype_name(t); }

/* An in_axes entry for messages: "NM" for not mapped (rotating buffers). */
static const char *axs(int64_t a) {
    static char buf[4][24];
    static int k;
    char *b = buf[k++ & 3];
    if (a == JX_NOT_MAPPED) snprintf(b, 24, "NM");
    else snprintf(b, 24, "%lld", (long long)a);
    return b;
}

/* ------------------------------------------------------------------ unary */

typedef struct unary_case {
    const char *name;
    un_op op;
    jx_dtype dtypes[4];
    int ndt;
    double lo, hi;
} unary_case;

static jx_val ipow3(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, 3); }
static jx_val ipowm2(jx_loc l, jx_val x) { return jx_integer_pow_at(l, x, -2); }
static jx_val to_i32(jx_loc l, jx_val x) { return jx_convert_at(l, x, JX_I32); }
static jx_val to_f64(jx_loc l, jx_val x) { return jx_convert_at(l, x, JX_F64); }
static jx_val to_f32(jx_loc l, jx_val x) { return jx_convert_at(l, x, JX_F32); }

#define FL {JX_F32, JX_F64}, 2
static const unary_case unary_cases[] = {
    {"exp", jx_exp_at, FL, -2, 2},         {"log", jx_log_at, FL, 0.1, 3},
    {"log1p", jx_log1p_at, FL, -0.5, 3},   {"expm1", jx_expm1_at, FL, -2, 2},
    {"tanh", jx_tanh_at, FL, -2, 2},       {"logistic", jx_logistic_at, FL, -3, 3},
    {"sin", jx_sin_at, FL, -3, 3},         {"cos", jx_cos_at, FL, -3, 3},
    {"sqrt", jx_sqrt_at, FL, 0.1, 4},      {"rsqrt", jx_rsqrt_at, FL, 0.1, 4},
    {"floor", jx_floor_at, FL, -3, 3},     {"ceil", jx_ceil_at, FL, -3, 3},
    {"round", jx_round_at, FL, -3, 3},
    {"neg", jx_neg_at, {JX_F32, JX_F64, JX_I32}, 3, -5, 5},
    {"abs", jx_abs_at, {JX_F32, JX_F64, JX_I32}, 3, -5, 5},
    {"sign", jx_sign_at, {JX_F32, JX_F64, JX_I32}, 3, -5, 5},
    {"not", jx_not_at, {JX_I32, JX_BOOL}, 2, 0, 2},
    {"integer_pow 3", ipow3, {JX_F32, JX_F64, JX_I32}, 3, -4, 4},
    {"integer_pow -2", ipowm2, FL, 0.5, 3},
    {"convert to i32", to_i32, {JX_F32, JX_F64, JX_BOOL}, 3, -9, 9},
    {"convert to f64", to_f64, {JX_F32, JX_I32, JX_BOOL}, 3, -9, 9},
    {"convert to f32", to_f32, {JX_F64, JX_U8}, 2, 0, 200},
    {"stop_gradient", jx_stop_gradient_at, {JX_F32, JX_I32, JX_BOOL}, 3, -5, 5},
};

static void body_unary(jx_val *out, const jx_val *in, void *user) {
    out[0] = ((const unary_case *)user)->op(JX_HERE, in[0]);
}

/* One unary case on f's input shape `s`, mapped at each axis in axes[0..n). */
static void check_unary(const unary_case *c, jx_dtype t, jx_ints s, const int64_t *axes, int n) {
    jx_aval av = jx_aval_make(t, s);
    jx_fn *f = jx_trace(c->name, body_unary, (void *)c, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int k = 0; k < n; k++) {
        int64_t buf[JX_MAX_RANK];
        jx_array *x = jt_rnd(t, batched(s, axes[k], buf), c->lo, c->hi, 17u + (unsigned)k);
        char what[128];
        snprintf(what, sizeof what, "%s %s rank %d in_axes %s", c->name, dn(t), s.n, axs(axes[k]));
        jt_check_vmap(what, f, (jx_ints){&axes[k], 1}, 1, &x, 1e-6);
        jx_array_release(x);
    }
    jx_fn_release(f);
}

static void test_unary(void) {
    static const int64_t axes3[] = {0, -1, 1}, axes0[] = {0};
    for (size_t i = 0; i < sizeof unary_cases / sizeof *unary_cases; i++)
        for (int d = 0; d < unary_cases[i].ndt; d++) {
            check_unary(&unary_cases[i], unary_cases[i].dtypes[d], JX_INTS(2, 3), axes3, 3);
            check_unary(&unary_cases[i], unary_cases[i].dtypes[d], JX_NOINTS, axes0, 1);
        }
}

/* ------------------------------------------------------------------ binary, compare */

typedef struct binary_case {
    const char *name;
    bin_op op;
    jx_dtype dtypes[4];
    int ndt;
    double alo, ahi, blo, bhi;
} binary_case;

#define NUM {JX_F32, JX_F64, JX_I32}, 3
static const binary_case binary_cases[] = {
    {"add", jx_add_at, {JX_F32, JX_F64, JX_I32, JX_U32}, 4, -5, 5, 0, 5},
    {"sub", jx_sub_at, NUM, -5, 5, -5, 5},
    {"mul", jx_mul_at, NUM, -5, 5, -5, 5},
    {"div", jx_div_at, NUM, -9, 9, 1, 4},
    {"rem", jx_rem_at, NUM, -9, 9, 1, 4},
    {"max", jx_max_at, NUM, -5, 5, -5, 5},
    {"min", jx_min_at, NUM, -5, 5, -5, 5},
    {"pow", jx_pow_at, FL, 0.5, 2, -2, 2},
    {"atan2", jx_atan2_at, FL, -2, 2, -2, 2},
    {"and", jx_and_at, {JX_I32, JX_BOOL}, 2, 0, 2, 0, 2},
    {"or", jx_or_at, {JX_I32, JX_BOOL}, 2, 0, 2, 0, 2},
    {"xor", jx_xor_at, {JX_I32, JX_BOOL}, 2, -7, 7, 0, 2},
    {"shift_left", jx_shift_left_at, {JX_I32, JX_U32}, 2, 0, 99, 0, 6},
    {"shift_right_logical", jx_shift_right_logical_at, {JX_I32, JX_U32}, 2, 0, 99, 0, 6},
    {"shift_right_arithmetic", jx_shift_right_arithmetic_at, {JX_I32, JX_U32}, 2, 0, 99, 0, 6},
    {"eq", jx_eq_at, {JX_F32, JX_I32, JX_BOOL}, 3, 0, 2, 0, 2},
    {"ne", jx_ne_at, {JX_F32, JX_I32, JX_BOOL}, 3, 0, 2, 0, 2},
    {"lt", jx_lt_at, {JX_F32, JX_F64, JX_I32}, 3, -2, 2, -2, 2},
    {"le", jx_le_at, {JX_F32, JX_I32, JX_BOOL}, 3, 0, 2, 0, 2},
    {"gt", jx_gt_at, {JX_F32, JX_F64, JX_I32}, 3, -2, 2, -2, 2},
    {"ge", jx_ge_at, {JX_F32, JX_I32, JX_BOOL}, 3, -2, 2, -2, 2},
};

static void body_binary(jx_val *out, const jx_val *in, void *user) {
    out[0] = ((const binary_case *)user)->op(JX_HERE, in[0], in[1]);
}
/* x op 2 with a literal operand (and 2 op x) */
static void body_binary_lit(jx_val *out, const jx_val *in, void *user) {
    const binary_case *c = user;
    jx_val two = jx_scalar_like(in[0], jx_dtype_of(in[0]) == JX_BOOL ? 1 : 2);
    out[0] = c->op(JX_HERE, in[0], two);
    out[1] = c->op(JX_HERE, two, in[0]);
}

/* f's operand shapes and the in_axes combinations to try on them */
typedef struct shape_case {
    jx_ints sa, sb;
    int64_t axes[5][2];
    int naxes;
} shape_case;

static void check_binary(const binary_case *c, jx_dtype t, const shape_case *s) {
    jx_aval av[2] = {jx_aval_make(t, s->sa), jx_aval_make(t, s->sb)};
    jx_fn *f = jx_trace(c->name, body_binary, (void *)c, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int k = 0; k < s->naxes; k++) {
        int64_t b1[JX_MAX_RANK], b2[JX_MAX_RANK];
        const int64_t *ax = s->axes[k];
        jx_array *in[2] = {jt_rnd(t, batched(s->sa, ax[0], b1), c->alo, c->ahi, 5u + (unsigned)k),
                           jt_rnd(t, batched(s->sb, ax[1], b2), c->blo, c->bhi, 9u + (unsigned)k)};
        char what[160];
        snprintf(what, sizeof what, "%s %s ranks %d,%d in_axes (%s,%s)", c->name, dn(t), s->sa.n,
                 s->sb.n, axs(ax[0]), axs(ax[1]));
        jt_check_vmap(what, f, (jx_ints){ax, 2}, 2, in, 1e-6);
        jx_array_release(in[0]);
        jx_array_release(in[1]);
    }
    jx_fn_release(f);
}

static void check_binary_lit(const binary_case *c, jx_dtype t) {
    jx_aval av = JX_AVAL(t, 2, 3);
    jx_fn *f = jx_trace(c->name, body_binary_lit, (void *)c, 1, &av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x = jt_rnd(t, JX_INTS(2, B, 3), c->alo, c->ahi, 3);
    char what[128];
    snprintf(what, sizeof what, "%s %s with a literal", c->name, dn(t));
    jt_check_vmap(what, f, JX_INTS(1), 1, &x, 1e-6);
    jx_array_release(x);
    jx_fn_release(f);
}

#define NM JX_NOT_MAPPED
static const shape_case shape_cases[] = {
    {JX_INTS(2, 3), JX_INTS(2, 3), {{0, 0}, {-1, 0}, {1, NM}, {NM, 2}, {1, -1}}, 5},
    {JX_INTS(2, 3), JX_NOINTS, {{0, 0}, {1, NM}, {NM, 0}, {-1, 0}}, 4},
    {JX_NOINTS, JX_INTS(3), {{0, 1}, {0, NM}, {NM, 0}}, 3},
    {JX_NOINTS, JX_NOINTS, {{0, NM}, {NM, -1}, {0, 0}}, 3},
};

static void test_binary(void) {
    for (size_t i = 0; i < sizeof binary_cases / sizeof *binary_cases; i++)
        for (int d = 0; d < binary_cases[i].ndt; d++) {
            for (size_t s = 0; s < sizeof shape_cases / sizeof *shape_cases; s++)
                check_binary(&binary_cases[i], binary_cases[i].dtypes[d], &shape_cases[s]);
            check_binary_lit(&binary_cases[i], binary_cases[i].dtypes[d]);
        }
}

/* ------------------------------------------------------------------ select */

static void body_select(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_select(in[0], in[1], in[2]);
}

static void check_select(jx_dtype t, jx_ints sp, jx_ints st, jx_ints sf, const int64_t (*axes)[3], int n) {
    jx_aval av[3] = {jx_aval_make(JX_BOOL, sp), jx_aval_make(t, st), jx_aval_make(t, sf)};
    jx_fn *f = jx_trace("select", body_select, NULL, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int k = 0; k < n; k++) {
        int64_t b0[JX_MAX_RANK], b1[JX_MAX_RANK], b2[JX_MAX_RANK];
        jx_array *in[3] = {jt_rnd(JX_BOOL, batched(sp, axes[k][0], b0), 0, 2, 1u + (unsigned)k),
                           jt_rnd(t, batched(st, axes[k][1], b1), -5, 5, 2u + (unsigned)k),
                           jt_rnd(t, batched(sf, axes[k][2], b2), -5, 5, 3u + (unsigned)k)};
        char what[160];
        snprintf(what, sizeof what, "select %s ranks %d,%d,%d in_axes (%s,%s,%s)", dn(t), sp.n,
                 st.n, sf.n, axs(axes[k][0]), axs(axes[k][1]), axs(axes[k][2]));
        jt_check_vmap(what, f, (jx_ints){axes[k], 3}, 3, in, 0);
        for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    }
    jx_fn_release(f);
}

static void test_select(void) {
    static const int64_t full[][3] = {{0, 0, 0}, {0, NM, NM}, {NM, 1, NM}, {NM, NM, -1},
                                      {-1, 0, 1}, {1, NM, 2}};
    static const int64_t pscalar[][3] = {{NM, 0, NM}, {0, NM, NM}, {0, 1, -1}};
    static const int64_t bscalar[][3] = {{1, NM, NM}, {NM, 0, 0}, {0, 0, NM}};
    jx_dtype ts[] = {JX_F32, JX_I32, JX_BOOL, JX_F64};
    for (int i = 0; i < 4; i++) {
        check_select(ts[i], JX_INTS(2, 3), JX_INTS(2, 3), JX_INTS(2, 3), full, 6);
        /* a rank-0 predicate, mapped or not */
        check_select(ts[i], JX_NOINTS, JX_INTS(2, 3), JX_INTS(2, 3), pscalar, 3);
        /* rank-0 branches */
        check_select(ts[i], JX_INTS(2, 3), JX_NOINTS, JX_NOINTS, bscalar, 3);
    }
}

/* ------------------------------------------------------------------ what is emitted */

static void body_scale(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[0], in[1]);
}

/* x[2,3] * s with s an unmapped rank-0 input: the batched mul still takes s as a scalar
 * (one equation, no broadcast); with x unmapped and s mapped, the result is mapped. */
static void test_scalar_stays_scalar(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = jx_trace("scale", body_scale, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_vmap(f, JX_INTS(0, NM), JX_NOINTS, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    char *text = jx_fn_to_string(g);
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text) CU_ASSERT_PTR_NULL(strstr(text, "broadcast_in_dim"));
    free(text);
    jx_fn_release(g);
    /* mapped at the last axis: still one equation, and the output is mapped there too,
     * so out_axes -1 needs no transpose */
    g = jx_vmap(f, JX_INTS(-1, NM), JX_INTS(-1), 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"unary ops, convert, integer_pow, stop_gradient", test_unary},
        {"binary ops and comparisons", test_binary},
        {"select", test_select},
        {"an unmapped scalar stays a scalar", test_scalar_stays_scalar},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_elementwise", tests);
}
