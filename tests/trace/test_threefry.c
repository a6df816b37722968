/* test_threefry.c: threefry2x32 against Random123's known answers, jax.random's key
 * splits, and a plain C reference on vectors of counters and keys; and its errors. */
#include <stdint.h>

#include "harness.h"

/* The reference: Threefry-2x32, 20 rounds, written out round by round. */
static uint32_t rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }
static void ref_threefry(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t *y0, uint32_t *y1) {
    const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
    const uint32_t ks[3] = {k0, k1, k2};
    static const int r[8] = {13, 15, 26, 6, 17, 29, 16, 24};
    uint32_t x0 = c0 + k0, x1 = c1 + k1;
    for (int i = 0; i < 20; i++) {
        x0 += x1;
        x1 = rotl(x1, r[i % 8]) ^ x0;
        if (i % 4 == 3) {
            int s = i / 4 + 1;
            x0 += ks[s % 3];
            x1 += ks[(s + 1) % 3] + (uint32_t)s;
        }
    }
    *y0 = x0;
    *y1 = x1;
}

static int tf_line;
static void tf_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    tf_line = __LINE__ + 1;
    jx_threefry2x32(in[0], in[1], in[2], in[3], &out[0], &out[1]);
}

/* Evaluates threefry on (k0, k1, x0, x1) arrays; y receives two new arrays. */
static void run(jx_array **in, jx_array **y) {
    jx_aval av[4];
    for (int i = 0; i < 4; i++) av[i] = jx_array_aval(in[i]);
    jx_status st = jt_trace_eval(tf_body, NULL, 4, av, in, 2, y);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
}

static jx_array *u32s(jx_ints shape, const uint32_t *v) { return jx_array_new(JX_U32, shape, v); }

static void release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

static void test_known_answers(void) {
    /* Random123 kat_vectors, 20 rounds: key, counter -> output */
    static const uint32_t kat[3][6] = {
        {0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, 0xc4923a9c, 0x483df7a0},
        {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x6b200159, 0x99ba4efe},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x1cb996fc, 0xbb002be7},
    };
    for (int t = 0; t < 3; t++) {
        jx_array *in[4], *y[2] = {NULL, NULL};
        for (int i = 0; i < 4; i++) in[i] = u32s(JX_NOINTS, &kat[t][i]);
        run(in, y);
        CU_ASSERT_EQUAL(jx_array_rank(y[0]), 0);
        CU_ASSERT_EQUAL(*(const uint32_t *)jx_array_data(y[0]), kat[t][4]);
        CU_ASSERT_EQUAL(*(const uint32_t *)jx_array_data(y[1]), kat[t][5]);
        uint32_t r0, r1;
        ref_threefry(kat[t][0], kat[t][1], kat[t][2], kat[t][3], &r0, &r1);
        CU_ASSERT(r0 == kat[t][4] && r1 == kat[t][5]); /* the reference agrees too */
        release_all(2, y);
        release_all(4, in);
    }
}

static void test_jax_key_splits(void) {
    /* jax.random.split(key(0)): (0,0) with counters (0,i) (partitionable split) and
     * (0,2), (1,3) (the original split): published key values */
    uint32_t zero = 0;
    jx_array *in[4] = {u32s(JX_NOINTS, &zero), u32s(JX_NOINTS, &zero),
                       u32s(JX_INTS(5), (uint32_t[]){0, 0, 0, 0, 1}),
                       u32s(JX_INTS(5), (uint32_t[]){0, 1, 2, 3, 3})};
    jx_array *y[2] = {NULL, NULL};
    run(in, y);
    static const uint32_t w0[5] = {1797259609u, 928981903u, 4146024105u, 2467461003u, 967050713u};
    static const uint32_t w1[5] = {2579123966u, 3453687069u, 2718843009u, 3840466878u, 1272950319u};
    const uint32_t *y0 = jx_array_data(y[0]), *y1 = jx_array_data(y[1]);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(y0[i], w0[i]);
        CU_ASSERT_EQUAL(y1[i], w1[i]);
    }
    release_all(2, y);
    release_all(4, in);
}

/* A small deterministic generator for test inputs (xorshift32). */
static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check_vector(int per_element_keys) {
    enum { N = 96 };
    uint32_t k0[N], k1[N], c0[N], c1[N], seed = 2463534242u;
    for (int i = 0; i < N; i++) {
        k0[i] = next(&seed);
        k1[i] = next(&seed);
        c0[i] = (uint32_t)i; /* counters as jax uses them, then arbitrary ones */
        c1[i] = i < N / 2 ? (uint32_t)(i + N) : next(&seed);
    }
    jx_ints kshape = per_element_keys ? JX_INTS(8, 12) : JX_NOINTS;
    jx_array *in[4] = {u32s(kshape, k0), u32s(kshape, k1), u32s(JX_INTS(8, 12), c0), u32s(JX_INTS(8, 12), c1)};
    jx_array *y[2] = {NULL, NULL};
    run(in, y);
    CU_ASSERT_EQUAL(jx_array_dtype(y[0]), JX_U32);
    CU_ASSERT_EQUAL(jx_array_shape(y[1])[1], 12);
    const uint32_t *y0 = jx_array_data(y[0]), *y1 = jx_array_data(y[1]);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int k = per_element_keys ? i : 0;
        uint32_t r0, r1;
        ref_threefry(k0[k], k1[k], c0[i], c1[i], &r0, &r1);
        bad += y0[i] != r0 || y1[i] != r1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    release_all(2, y);
    release_all(4, in);
}

static void test_vector_scalar_key(void) { check_vector(0); }
static void test_vector_per_element_keys(void) { check_vector(1); }

static void test_empty(void) {
    uint32_t one = 1;
    jx_array *in[4] = {u32s(JX_NOINTS, &one), u32s(JX_NOINTS, &one), u32s(JX_INTS(0, 3), NULL),
                       u32s(JX_INTS(0, 3), NULL)};
    jx_array *y[2] = {NULL, NULL};
    run(in, y);
    CU_ASSERT_EQUAL(jx_array_size(y[0]), 0);
    CU_ASSERT_EQUAL(jx_array_shape(y[1])[1], 3);
    release_all(2, y);
    release_all(4, in);
}

static void expect_err(const jx_aval *av, jx_status code, const char *msg) {
    tf_line = -1;
    jx_fn *f = jx_trace("bad", tf_body, NULL, 4, av, 2);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, tf_line));
}

static void test_errors(void) {
    jx_aval s = JX_SCALAR(JX_U32), v = JX_AVAL(JX_U32, 3);
    expect_err((jx_aval[]){s, s, JX_AVAL(JX_I32, 3), v}, JX_ERR_DTYPE, "threefry2x32: x0 must be u32, got i32[3]");
    expect_err((jx_aval[]){JX_SCALAR(JX_U8), s, v, v}, JX_ERR_DTYPE, "k0 must be u32, got u8[]");
    expect_err((jx_aval[]){s, s, v, JX_AVAL(JX_U32, 4)}, JX_ERR_SHAPE,
               "threefry2x32: x0 and x1 differ in shape: u32[3] vs u32[4]");
    expect_err((jx_aval[]){s, JX_AVAL(JX_U32, 1), v, v}, JX_ERR_SHAPE,
               "key k1 must be a scalar or have the counters' shape u32[3], got u32[1]");
}

static int null_line;
static void null_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    (void)out;
    null_line = __LINE__ + 1;
    jx_threefry2x32(in[0], in[0], in[0], in[0], NULL, &out[0]);
}

static void test_null_output(void) {
    jx_aval s = JX_SCALAR(JX_U32);
    jx_fn *f = jx_trace("bad", null_body, NULL, 1, &s, 1);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    JT_ASSERT_ERR("threefry2x32: y0 or y1 is NULL");
    JT_ASSERT_ERR(jt_place(__FILE__, null_line));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"Random123 known answers", test_known_answers},
        {"jax.random key(0) splits", test_jax_key_splits},
        {"vector of counters, scalar key", test_vector_scalar_key},
        {"vector of counters and keys", test_vector_per_element_keys},
        {"size-0 counters", test_empty},
        {"errors name the line", test_errors},
        {"NULL output", test_null_output},
        CU_TEST_INFO_NULL,
    };
    return jt_run("threefry", tests);
}
