/* test_jit_cache_key.c: the jit cache's key, the structural hash and equality of a
 * jx_fn (src/trace/fn_hash.c): functions that print the same are equal and share one
 * executable; a different literal, constant, source line, nested function or name is
 * another function and compiles anew. */
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

/* out = x * c + 1 where c is the literal *(double *)u; two lines when u is NULL */
static void lit_body(jx_val *out, const jx_val *in, void *u) {
    double c = u ? *(const double *)u : 2.0;
    if (u) out[0] = jx_add(jx_mul(in[0], jx_scalar(JX_F32, c)), jx_scalar(JX_F32, 1.0));
    else
        out[0] = jx_add(jx_mul(in[0], jx_scalar(JX_F32, c)),
                        jx_scalar(JX_F32, 1.0)); /* the add on another line than lit_body's */
}

/* out = x + the constant array u */
static void const_body(jx_val *out, const jx_val *in, void *u) { out[0] = jx_add(in[0], jx_const((jx_array *)u)); }

/* out = the call of the function u on x */
static void call_body(jx_val *out, const jx_val *in, void *u) { jx_call((const jx_fn *)u, 1, in, 1, out); }

static jx_fn *lit_fn(const char *name, double *c) {
    jx_aval av = JX_AVAL(JX_F32, 8);
    return jx_trace(name, lit_body, c, 1, &av, 1);
}

static void test_equal_traces(void) {
    double two = 2.0;
    jx_fn *a = lit_fn("f", &two), *b = lit_fn("f", &two);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(jx__fn_hash(a), jx__fn_hash(b));
    CU_ASSERT(jx__fn_equal(a, b));
    CU_ASSERT_NOT_EQUAL(jx__fn_hash(a), 0); /* 0 means "not computed" */
    CU_ASSERT_EQUAL(a->shash, jx__fn_hash(a)); /* computed once, kept in the function */
    char *ta = jx_fn_to_string(a), *tb = jx_fn_to_string(b);
    CU_ASSERT_STRING_EQUAL(ta, tb);
    free(ta);
    free(tb);
    jx_fn_release(a);
    jx_fn_release(b);
}

static void test_differences(void) {
    double two = 2.0, three = 3.0;
    jx_fn *base = lit_fn("f", &two);
    jx_fn *other[] = {lit_fn("f", &three), lit_fn("g", &two), lit_fn("f", NULL)};
    const char *why[] = {"literal", "name", "source line"};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(other[i]);
        if (jx__fn_equal(base, other[i]) || jx__fn_hash(base) == jx__fn_hash(other[i]))
            fprintf(stderr, "\n  a different %s compares equal\n", why[i]);
        CU_ASSERT(!jx__fn_equal(base, other[i]));
        CU_ASSERT_NOT_EQUAL(jx__fn_hash(base), jx__fn_hash(other[i]));
        jx_fn_release(other[i]);
    }
    jx_fn_release(base);
}

static void test_constants_and_nested(void) {
    jx_aval av = JX_AVAL(JX_F32, 3);
    double v1[3] = {1, 2, 3}, v2[3] = {1, 2, 4};
    jx_array *c1 = jt_array(JX_F32, JX_INTS(3), v1), *c1b = jt_array(JX_F32, JX_INTS(3), v1),
             *c2 = jt_array(JX_F32, JX_INTS(3), v2);
    jx_fn *f1 = jx_trace("k", const_body, c1, 1, &av, 1), *f1b = jx_trace("k", const_body, c1b, 1, &av, 1),
          *f2 = jx_trace("k", const_body, c2, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
    CU_ASSERT(jx__fn_equal(f1, f1b)); /* equal contents in two arrays */
    CU_ASSERT(!jx__fn_equal(f1, f2)); /* one element differs */
    CU_ASSERT_NOT_EQUAL(jx__fn_hash(f1), jx__fn_hash(f2));
    /* nested functions compare by structure too */
    jx_fn *g1 = jx_trace("outer", call_body, f1, 1, &av, 1), *g1b = jx_trace("outer", call_body, f1b, 1, &av, 1),
          *g2 = jx_trace("outer", call_body, f2, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g2);
    CU_ASSERT(jx__fn_equal(g1, g1b));
    CU_ASSERT(!jx__fn_equal(g1, g2));
    /* and the jit cache follows: g1b hits g1's executable, g2 compiles */
    jx_jit_cache_clear();
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_exec *x1 = jx_jit(g1, JX_DEVICE_CPU, NULL), *x1b = jx_jit(g1b, JX_DEVICE_CPU, NULL),
            *x2 = jx_jit(g2, JX_DEVICE_CPU, NULL);
    jx_jit_stats s1 = jx_jit_stats_get();
    CU_ASSERT_PTR_NOT_NULL_FATAL(x1);
    CU_ASSERT_PTR_EQUAL(x1, x1b);
    CU_ASSERT_PTR_NOT_EQUAL(x1, x2);
    CU_ASSERT_EQUAL(s1.misses - s0.misses, 2);
    CU_ASSERT_EQUAL(s1.hits - s0.hits, 1);
    jx_array *in = jt_array(JX_F32, JX_INTS(3), v1), *out = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x2, 1, &in, 1, &out), JX_OK);
    const double want[3] = {2, 4, 7};
    JT_ASSERT_ARRAY(out, want, 3, 0);
    jx_array_release(out);
    jx_array_release(in);
    jx_exec *xs[] = {x1, x1b, x2};
    for (int i = 0; i < 3; i++) jx_exec_release(xs[i]);
    jx_fn *fs[] = {f1, f1b, f2, g1, g1b, g2};
    for (int i = 0; i < 6; i++) jx_fn_release(fs[i]);
    jx_array_release(c1);
    jx_array_release(c1b);
    jx_array_release(c2);
    jx_jit_cache_clear();
}

int main(void) {
    CU_TestInfo tests[] = {
        {"two traces of one body: equal hash, equal functions", test_equal_traces},
        {"a different literal, name or source line: another function", test_differences},
        {"constants by content, nested functions by structure; the cache follows", test_constants_and_nested},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_cache_key", tests);
}
