/* test_negative_index.c: JAX's reading of negative indices in the public ops: a
 * negative start or index is wrapped once by the dim's size, then dynamic_slice and
 * dynamic_update_slice clamp the window into range, gather clamps the index (as
 * jnp's x[i] does) and scatter_add drops what is still out of range (x.at[i].add).
 * Literal and traced starts, under vmap (batched starts) and grad; each expected value
 * is JAX 0.10's. */
#include "harness.h"

typedef struct {
    int op;        /* 0 dynamic_slice, 1 dynamic_update_slice, 2 gather, 3 scatter_add */
    int lit;       /* the start as a literal (else in[1]) */
    int64_t start; /* the literal start */
} spec;

static void body(jx_val *out, const jx_val *in, void *u) {
    const spec *s = u;
    jx_val st = s->lit ? jx_scalar(JX_I32, (double)s->start) : in[1];
    switch (s->op) {
    case 0: out[0] = jx_dynamic_slice(in[0], &st, JX_INTS(3)); break;
    case 1: out[0] = jx_dynamic_update_slice(in[0], jx_full(JX_F64, JX_INTS(2), 9), &st); break;
    case 2: out[0] = jx_gather(in[0], in[1], 0, 0); break;
    default: out[0] = jx_scatter_add(in[0], in[1], jx_full(JX_F64, JX_INTS(5), 1), 0, 0); break;
    }
}

/* op on x = [0, 1, 2, 3, 4] (f64) with the start as a literal and as a traced i32. */
static void check(int line, int op, int64_t start, const double *want, int n) {
    for (int lit = 0; lit < 2; lit++) {
        spec s = {op, lit, start};
        jx_array *in[2] = {jx_array_arange(JX_F64, 0, 5, 1), jx_array_scalar(JX_I32, (double)start)};
        jx_array *y = jt_eval1(body, &s, lit ? 1 : 2, in);
        if (lit) jx_array_release(in[1]); /* jt_eval1 released the ones it took */
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        if (jt_max_err(y, want, n) != 0) fprintf(stderr, "\n  line %d (literal %d) differs\n", line, lit);
        JT_ASSERT_ARRAY(y, want, n, 0);
        jx_array_release(y);
    }
}
#define CHECK(op, start, n, ...) check(__LINE__, op, start, (double[]){__VA_ARGS__}, n)

static void test_dynamic_slice(void) {
    CHECK(0, -1, 3, 2, 3, 4); /* lax.dynamic_slice(arange(5), (-1,), (3,)) */
    CHECK(0, -7, 3, 0, 1, 2);
    CHECK(0, -3, 3, 2, 3, 4);
    CHECK(0, 4, 3, 2, 3, 4);
}

static void test_dynamic_update_slice(void) {
    CHECK(1, -1, 5, 0, 1, 2, 9, 9); /* lax.dynamic_update_slice(arange(5), [9, 9], (-1,)) */
    CHECK(1, -7, 5, 9, 9, 2, 3, 4);
    CHECK(1, -3, 5, 0, 1, 9, 9, 4);
}

static void test_gather_scatter(void) {
    double idx[5] = {-1, 7, -7, -5, 2}, want_g[5] = {4, 4, 0, 0, 2}; /* arange(5)[idx] */
    double want_s[5] = {1, 1, 3, 3, 5};                              /* arange(5).at[idx].add(1) */
    for (int op = 2; op <= 3; op++) {
        spec s = {op, 0, 0};
        jx_array *in[2] = {jx_array_arange(JX_F64, 0, 5, 1), jt_array(JX_I32, JX_INTS(5), idx)};
        jx_array *y = jt_eval1(body, &s, 2, in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        JT_ASSERT_ARRAY(y, op == 2 ? want_g : want_s, 5, 0);
        jx_array_release(y);
    }
}

/* Evaluates g on (arange(5.), start), asserts the n values want, and releases g, f and
 * the arrays. */
static void eval_release(jx_fn *g, jx_fn *f, jx_array *start, const double *want, int n) {
    jx_array *in[2] = {jx_array_arange(JX_F64, 0, 5, 1), start}, *y = NULL;
    CU_ASSERT_EQUAL(jt_eval(g, 2, in, 1, &y), JX_OK);
    JT_ASSERT_ARRAY(y, want, n, 0);
    jx_array_release(y);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* vmap over the start: jax.vmap(lambda s: lax.dynamic_slice(x, (s,), (3,)))([-1, 0, -7]) */
static void test_vmap_starts(void) {
    spec s = {0, 0, 0};
    jx_aval av[2] = {JX_AVAL(JX_F64, 5), JX_SCALAR(JX_I32)};
    jx_fn *f = jx_trace("ds", body, &s, 2, av, 1);
    int64_t ia[2] = {JX_NOT_MAPPED, 0}, oa[1] = {0};
    jx_fn *v = f ? jx_vmap(f, (jx_ints){ia, 2}, (jx_ints){oa, 1}, 3) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double st[3] = {-1, 0, -7}, want[9] = {2, 3, 4, 0, 1, 2, 0, 1, 2};
    eval_release(v, f, jt_array(JX_I32, JX_INTS(3), st), want, 9);
}

static void body_sum(jx_val *out, const jx_val *in, void *u) {
    jx_val y;
    body(&y, in, u);
    out[0] = jx_reduce_sum(y, JX_NOINTS);
}

/* jax.grad(lambda x: lax.dynamic_slice(x, (-1,), (3,)).sum())(arange(5.)) = [0,0,1,1,1] */
static void test_grad(void) {
    spec s = {0, 0, 0};
    jx_aval av[2] = {JX_AVAL(JX_F64, 5), JX_SCALAR(JX_I32)};
    jx_fn *f = jx_trace("ds", body_sum, &s, 2, av, 1), *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double want[5] = {0, 0, 1, 1, 1};
    eval_release(g, f, jx_array_scalar(JX_I32, -1), want, 5);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"dynamic_slice wraps then clamps", test_dynamic_slice},
        {"dynamic_update_slice wraps then clamps", test_dynamic_update_slice},
        {"gather clamps, scatter_add drops, after wrapping", test_gather_scatter},
        {"vmap over negative starts", test_vmap_starts},
        {"grad through a negative start", test_grad},
        CU_TEST_INFO_NULL,
    };
    return jt_run("negative_index", tests);
}
