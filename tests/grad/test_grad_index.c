/* test_grad_index.c: derivatives of gather, scatter_add, sort and top_k: jvp against
 * finite differences and vjp against jvp (out-of-range indices included, which gather
 * clamps and scatter_add drops), embedding-lookup gradients in closed form, sort and
 * top_k tangents as permutations, and exactly-zero gradients through integer results. */
#include "gradcheck.h"

/* An i32 constant in the current trace (the trace keeps its own reference). */
static jx_val const_i32(jx_ints shape, const double *v) {
    jx_array *a = jt_array(JX_I32, shape, v);
    jx_val c = jx_const(a);
    jx_array_release(a);
    return c;
}

/* ------------------------------------------------------------------ gather */

/* Embedding lookup: rows idx of table (5,3), scaled so outputs differ. */
static const double emb_idx[6] = {1, 3, 1, 0, 1, 4};

static void f_embed(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val rows = jx_gather(in[0], const_i32(JX_INTS(6), emb_idx), 0, 0); /* (6,3) */
    out[0] = jx_mul(rows, rows);
}

/* gather along axis 1 with a batch dim and out-of-range indices (clamped). */
static void f_gather_batched(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[2 * 4] = {0, 4, -3, 2, /* */ 9, 1, 1, 3};
    jx_val g = jx_gather(in[0], const_i32(JX_INTS(2, 4), idx), 1, 1); /* (2,4,3) of (2,5,3) */
    out[0] = jx_sin(g);
}

/* Scalar indices and a rank-0 result from a vector. */
static void f_gather_scalar(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double two = 2;
    jx_val g = jx_gather(in[0], const_i32(JX_NOINTS, &two), 0, 0);
    out[0] = jx_mul(g, g);
}

static void test_gather_grads(void) {
    jx_aval t = JX_AVAL(JX_F64, 5, 3);
    CU_ASSERT(jt_check_grads("embedding", f_embed, NULL, 1, &t, -1, 1, 1e-6));
    jx_aval b = JX_AVAL(JX_F64, 2, 5, 3);
    CU_ASSERT(jt_check_grads("gather batched, clamped", f_gather_batched, NULL, 1, &b, -1, 1, 1e-6));
    jx_aval v = JX_AVAL(JX_F64, 4);
    CU_ASSERT(jt_check_grads("gather scalar index", f_gather_scalar, NULL, 1, &v, -1, 1, 1e-6));
}

/* d sum(gather(E, idx) * C) / dE[r] = sum of C's rows j with idx[j] = r: with C all
 * ones, each row's lookup count. */
static void f_embed_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[7] = {1, 3, 1, 0, 1, 7, -2}; /* 7 clamps to 4, -2 wraps to 3 */
    jx_val rows = jx_gather(in[0], const_i32(JX_INTS(7), idx), 0, 0);
    out[0] = jx_reduce_sum(jx_mul(rows, in[1]), JX_NOINTS);
}

static void test_embedding_grad_counts(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 5, 2), JX_AVAL(JX_F64, 7, 2)};
    jx_fn *f = jx_trace("embed_loss", f_embed_loss, NULL, 2, a, 1);
    jx_fn *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *e = jx_array_zeros(JX_F64, JX_INTS(5, 2));
    jx_array *c = jx_array_ones(JX_F64, JX_INTS(7, 2));
    jx_array *in[2] = {e, c}, *ge = NULL;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 1, &ge), JX_OK);
    double want[10] = {1, 1, 3, 3, 0, 0, 2, 2, 1, 1};
    JT_ASSERT_ARRAY(ge, want, 10, 0);
    jx_array_release(ge);
    jx_array_release(c);
    /* a weighted cotangent: row 1 gets C rows 0, 2 and 4, row 3 rows 1 and 6 */
    double cv[14];
    for (int i = 0; i < 14; i++) cv[i] = i + 1;
    c = jt_array(JX_F64, JX_INTS(7, 2), cv);
    in[1] = c;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 1, &ge), JX_OK);
    double want2[10] = {7, 8, 1 + 5 + 9, 2 + 6 + 10, 0, 0, 3 + 13, 4 + 14, 11, 12};
    JT_ASSERT_ARRAY(ge, want2, 10, 0);
    jx_array_release(ge);
    jx_array_release(c);
    jx_array_release(e);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ scatter_add */

/* scatter_add(x, idx, upd) with duplicates and out-of-range indices (dropped). */
static void f_scatter(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[5] = {2, 0, 2, 6, -1};
    jx_val s = jx_scatter_add(in[0], const_i32(JX_INTS(5), idx), in[1], 0, 0); /* (4,3) */
    out[0] = jx_mul(s, s);
}

/* Batched along axis 1: x (2,3,2), idx (2,2), updates (2,2,2). */
static void f_scatter_batched(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[4] = {1, 1, 2, 5};
    jx_val s = jx_scatter_add(in[0], const_i32(JX_INTS(2, 2), idx), in[1], 1, 1);
    out[0] = jx_sin(s);
}

/* Only the updates vary: the x tangent is zero and scattered into zeros. */
static void f_scatter_upd_only(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[3] = {0, 0, 3};
    jx_val x = jx_full(JX_F64, JX_INTS(4), 0.5);
    jx_val s = jx_scatter_add(x, const_i32(JX_INTS(3), idx), in[0], 0, 0);
    out[0] = jx_mul(s, s);
}

static void test_scatter_add_grads(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 4, 3), JX_AVAL(JX_F64, 5, 3)};
    CU_ASSERT(jt_check_grads("scatter_add", f_scatter, NULL, 2, a, -1, 1, 1e-6));
    jx_aval b[2] = {JX_AVAL(JX_F64, 2, 3, 2), JX_AVAL(JX_F64, 2, 2, 2)};
    CU_ASSERT(jt_check_grads("scatter_add batched", f_scatter_batched, NULL, 2, b, -1, 1, 1e-6));
    jx_aval c = JX_AVAL(JX_F64, 3);
    CU_ASSERT(jt_check_grads("scatter_add updates only", f_scatter_upd_only, NULL, 1, &c, -1, 1, 1e-6));
}

/* The updates' gradient is the cotangent gathered at the indices, and 0 for the
 * dropped ones (index 6 and -1): d sum(scatter_add(x, idx, upd) * C) / d upd. */
static void f_scatter_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[5] = {2, 0, 2, 6, -1};
    jx_val s = jx_scatter_add(in[0], const_i32(JX_INTS(5), idx), in[1], 0, 0);
    out[0] = jx_reduce_sum(jx_mul(s, in[2]), JX_NOINTS);
}

static void test_scatter_grad_values(void) {
    jx_aval a[3] = {JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 5), JX_AVAL(JX_F64, 4)};
    jx_fn *f = jx_trace("scatter_loss", f_scatter_loss, NULL, 3, a, 1);
    jx_fn *g = f ? jx_grad(f, JX_INTS(0, 1)) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double cv[4] = {10, 20, 30, 40};
    jx_array *in[3] = {jx_array_zeros(JX_F64, JX_INTS(4)), jx_array_zeros(JX_F64, JX_INTS(5)),
                       jt_array(JX_F64, JX_INTS(4), cv)};
    jx_array *out[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 2, out), JX_OK);
    double gu[5] = {30, 10, 30, 0, 40}; /* -1 wraps to 3 */
    JT_ASSERT_ARRAY(out[0], cv, 4, 0);
    JT_ASSERT_ARRAY(out[1], gu, 5, 0);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    for (int i = 0; i < 2; i++) jx_array_release(out[i]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ sort, top_k */

typedef struct sort_case {
    int axis;
} sort_case;

static void f_sort(jx_val *out, const jx_val *in, void *u) {
    const sort_case *c = u;
    jx_val s = jx_sort(in[0], c->axis);
    out[0] = jx_mul(s, jx_iota(JX_F64, (jx_ints){jx_aval_of(s).shape, jx_rank(s)}, c->axis));
}

/* Two operands sorted by the first: both tangents follow the keys' permutation. */
static void f_sort_multi(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val s[2];
    jx_sort_multi(2, in, 0, 1, s);
    out[0] = jx_add(jx_mul(s[0], jx_iota(JX_F64, JX_INTS(5, 2), 0)), jx_sin(s[1]));
}

static void f_top_k(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val v, i;
    jx_top_k(in[0], 2, &v, &i);
    out[0] = jx_mul(v, v);
}

static void test_sort_top_k_grads(void) {
    jx_aval a = JX_AVAL(JX_F64, 3, 4, 5);
    sort_case c[4] = {{0}, {1}, {2}, {-2}};
    for (int i = 0; i < 4; i++) CU_ASSERT(jt_check_grads("sort", f_sort, &c[i], 1, &a, -1, 1, 1e-6));
    jx_aval v = JX_AVAL(JX_F64, 6);
    CU_ASSERT(jt_check_grads("sort 1-D", f_sort, &c[0], 1, &v, -1, 1, 1e-6));
    jx_aval m[2] = {JX_AVAL(JX_F64, 5, 2), JX_AVAL(JX_F64, 5, 2)};
    CU_ASSERT(jt_check_grads("sort_multi", f_sort_multi, NULL, 2, m, -1, 1, 1e-6));
    jx_aval t = JX_AVAL(JX_F64, 3, 5);
    CU_ASSERT(jt_check_grads("top_k", f_top_k, NULL, 1, &t, -1, 1, 1e-6));
    jx_aval t1 = JX_AVAL(JX_F64, 4);
    CU_ASSERT(jt_check_grads("top_k 1-D", f_top_k, NULL, 1, &t1, -1, 1, 1e-6));
    jx_aval e = JX_AVAL(JX_F64, 3, 0);
    CU_ASSERT(jt_check_grads("sort size 0", f_sort, &c[1], 1, &e, -1, 1, 1e-6));
}

/* The jvp of sort is the tangent permuted like the values; of top_k, the tangent at
 * the returned indices. */
static void f_sort_plain(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sort(in[0], 1);
    jx_val i;
    jx_top_k(in[0], 2, &out[1], &i);
}

static void test_sort_top_k_tangent_values(void) {
    jx_aval a = JX_AVAL(JX_F64, 2, 3);
    jx_fn *f = jx_trace("sort_plain", f_sort_plain, NULL, 1, &a, 2);
    jx_fn *j = f ? jx_jvp(f) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double xv[6] = {3, 1, 2, -1, -5, 0}, dv[6] = {30, 10, 20, -10, -50, 0};
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(2, 3), xv), jt_array(JX_F64, JX_INTS(2, 3), dv)};
    jx_array *out[4] = {NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(j, 2, in, 4, out), JX_OK);
    double ys[6] = {1, 2, 3, -5, -1, 0}, dys[6] = {10, 20, 30, -50, -10, 0};
    double yk[4] = {3, 2, 0, -1}, dyk[4] = {30, 20, 0, -10};
    JT_ASSERT_ARRAY(out[0], ys, 6, 0);
    JT_ASSERT_ARRAY(out[1], yk, 4, 0);
    JT_ASSERT_ARRAY(out[2], dys, 6, 0);
    JT_ASSERT_ARRAY(out[3], dyk, 4, 0);
    for (int i = 0; i < 4; i++) jx_array_release(out[i]);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(j);
    jx_fn_release(f);
}

/* Integer results carry no derivative: a loss built from argsort's and top_k's
 * indices has an exactly zero gradient, and so does an integer sort key's effect. */
static void f_int_paths(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val v, i;
    jx_top_k(in[0], 3, &v, &i);
    jx_val a = jx_convert(jx_argsort(in[0], 0), JX_F64);
    out[0] = jx_add(jx_reduce_sum(jx_convert(i, JX_F64), JX_NOINTS), jx_reduce_sum(a, JX_NOINTS));
}

static void test_integer_paths_zero_grad(void) {
    jx_aval a = JX_AVAL(JX_F64, 5);
    jx_fn *f = jx_trace("int_paths", f_int_paths, NULL, 1, &a, 1);
    jx_fn *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[5] = {0.3, -1, 2, 0.7, 5};
    jx_array *x = jt_array(JX_F64, JX_INTS(5), xv), *gx = NULL;
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 1, &x, 1, &gx), JX_OK);
    double zero[5] = {0, 0, 0, 0, 0};
    JT_ASSERT_ARRAY(gx, zero, 5, 0);
    jx_array_release(gx);
    jx_array_release(x);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* Second order: the gradient of a loss through gather, scatter_add and sort is itself
 * differentiated (its jvp and vjp checked), which transposes the transposes. */
static void f_index_second(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const double idx[5] = {2, 0, 2, 7, -1};
    jx_val g = jx_gather(in[0], const_i32(JX_INTS(5), idx), 0, 0);      /* (5,3) */
    jx_val s = jx_scatter_add(in[0], const_i32(JX_INTS(5), idx), jx_sin(g), 0, 0);
    jx_val v = jx_sort(jx_mul(s, s), 1);
    out[0] = jx_reduce_sum(jx_mul(v, jx_iota(JX_F64, JX_INTS(4, 3), 1)), JX_NOINTS);
}

static void test_second_order(void) {
    jx_aval a = JX_AVAL(JX_F64, 4, 3);
    jx_fn *f = jx_trace("index_second", f_index_second, NULL, 1, &a, 1);
    jx_fn *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    uint64_t seed = 5;
    jx_array *x = jt_random(JX_INTS(4, 3), -1, 1, &seed);
    double ej = jt_jvp_error(g, &x, 1e-6, 3), ev = jt_vjp_error(g, &x, 5);
    if (!(ej <= 1e-6 && ev <= 1e-10)) fprintf(stderr, "\n  second order: jvp %g vjp %g\n", ej, ev);
    CU_ASSERT(ej <= 1e-6);
    CU_ASSERT(ev <= 1e-10);
    jx_array_release(x);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"gather: embedding, batched, clamped, scalar", test_gather_grads},
        {"embedding gradient counts rows", test_embedding_grad_counts},
        {"scatter_add: duplicates, dropped, batched", test_scatter_add_grads},
        {"scatter_add gradient values", test_scatter_grad_values},
        {"sort, sort_multi and top_k", test_sort_top_k_grads},
        {"sort and top_k tangents are permutations", test_sort_top_k_tangent_values},
        {"integer results give zero gradients", test_integer_paths_zero_grad},
        {"second order through gather, scatter_add, sort", test_second_order},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad index", tests);
}
