/* test_init.c: jx/init.h against jax.nn.initializers on the same key and shape
 * (vectors from data/gen_random.py), bit for bit, the normal kinds included. */
#include <stdlib.h>
#include <string.h>

#include "data/random_vectors.h"
#include "harness.h"
#include "jx/nn.h"

/* Draws init on key(42) and counts the words that differ from want; *ulp the largest
 * difference. */
static int64_t compare(const jx_init *init, jx_ints shape, const uint32_t *want, int64_t n, int64_t *ulp) {
    jx_array *key = jx_random_key_new(42);
    jx_array *w = jx_init_new(init, key, JX_F32, shape);
    jx_array_release(key);
    if (!w || jx_array_size(w) != n) {
        fprintf(stderr, "\n%s\n", jx_errmsg());
        jx_array_release(w);
        return -1;
    }
    const uint32_t *got = jx_array_data(w);
    int64_t bad = 0;
    *ulp = 0;
    for (int64_t i = 0; i < n; i++) {
        bad += got[i] != want[i];
        int64_t d = llabs((int64_t)(int32_t)got[i] - (int64_t)(int32_t)want[i]);
        if (d > *ulp) *ulp = d;
    }
    jx_array_release(w);
    return bad;
}

static void test_uniform_kinds(void) {
    int64_t ulp;
    CU_ASSERT_EQUAL(compare(&jx_init_glorot_uniform, JX_INTS(30, 20), init_glorot_uniform, 600, &ulp), 0);
    CU_ASSERT_EQUAL(compare(&jx_init_he_uniform, JX_INTS(3, 3, 4, 8), init_he_uniform, 288, &ulp), 0);
    CU_ASSERT_EQUAL(compare(&jx_init_lecun_uniform, JX_INTS(30, 20), init_lecun_uniform, 600, &ulp), 0);
}

static void test_normal_kinds(void) {
    struct {
        const jx_init *init;
        jx_init vs;
        int64_t shape[4];
        int rank;
        const uint32_t *want;
    } cases[] = {
        {&jx_init_glorot_normal, {0}, {30, 20}, 2, init_glorot_normal},
        {&jx_init_he_normal, {0}, {3, 3, 4, 8}, 4, init_he_normal},
        {&jx_init_lecun_normal, {0}, {30, 20}, 2, init_lecun_normal},
        {NULL, {JX_INIT_VARIANCE_SCALING, 2.0, JX_FAN_AVG, JX_DIST_NORMAL}, {30, 20}, 2, init_vs_fan_avg_normal},
        {NULL, {JX_INIT_VARIANCE_SCALING, 0.5, JX_FAN_OUT, JX_DIST_NORMAL}, {30, 20}, 2, init_vs_fan_out_untrunc},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ulp, n = 1;
        for (int d = 0; d < cases[i].rank; d++) n *= cases[i].shape[d];
        int64_t bad = compare(cases[i].init ? cases[i].init : &cases[i].vs, (jx_ints){cases[i].shape, cases[i].rank},
                              cases[i].want, n, &ulp);
        CU_ASSERT_EQUAL(bad, 0);
        if (bad) fprintf(stderr, " [case %zu: %lld of %lld differ, max %lld ulp]", i, (long long)bad, (long long)n,
                         (long long)ulp);
    }
}

static void test_fans_and_constants(void) {
    double fi, fo;
    CU_ASSERT(jx_init_fans(JX_INTS(3, 3, 4, 8), &fi, &fo) == JX_OK);
    CU_ASSERT_DOUBLE_EQUAL(fi, 36, 0);
    CU_ASSERT_DOUBLE_EQUAL(fo, 72, 0);
    CU_ASSERT(jx_init_fans(JX_INTS(5), &fi, &fo) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("init: fans need a weight of rank 2 or more, got rank 1");
    jx_init c = jx_init_constant(0.25);
    jx_array *a = jx_init_new(&c, NULL, JX_F64, JX_INTS(2, 2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(jx_array_get(a, 3), 0.25);
    jx_array_release(a);
    a = jx_init_new(&jx_init_ones, NULL, JX_F32, JX_INTS(3));
    CU_ASSERT_EQUAL(jx_array_get(a, 2), 1.0);
    jx_array_release(a);
    CU_ASSERT_PTR_NULL(jx_init_new(&jx_init_he_normal, NULL, JX_F32, JX_INTS(3, 3)));
    JT_ASSERT_ERR("init: a random initializer needs a key");
    jx_array *key = jx_random_key_new(0);
    CU_ASSERT_PTR_NULL(jx_init_new(&jx_init_he_normal, key, JX_F32, JX_INTS(3)));
    JT_ASSERT_ERR("variance scaling needs a weight of rank 2 or more, got rank 1");
    jx_array_release(key);
}

int main(void) {
    CU_TestInfo tests[] = {{"glorot/he/lecun uniform, bit-exact", test_uniform_kinds},
                           {"glorot/he/lecun normal and variance scaling", test_normal_kinds},
                           {"fans, constants, errors", test_fans_and_constants},
                           CU_TEST_INFO_NULL};
    return jt_run("nn/init", tests);
}
