/* test_random.c: jx/random.h against jax.random, bit for bit (vectors made by
 * data/gen_random.py, whose header records the JAX version and configuration). Every
 * sample is computed by the interpreter and by the CPU jit; both must match. */
#include <stdlib.h>
#include <string.h>

#include "data/random_vectors.h"
#include "harness.h"
#include "jx/nn.h"
#include "jx/random.h"

typedef struct sample {
    int kind;
    jx_dtype dtype;
    int64_t shape[3];
    int rank;
    double a, b;
    int axis;
    jx_array *extra;
} sample;

enum { BITS, UNIFORM, NORMAL, TNORMAL, BERNOULLI, CATEGORICAL, PERM, SHUFFLE, SPLIT, FOLD };

static void sample_body(jx_val *out, const jx_val *in, void *user) {
    sample *s = user;
    jx_ints shape = {s->shape, s->rank};
    jx_val k = in[0];
    switch (s->kind) {
    case BITS: out[0] = jx_random_bits(k, shape); break;
    case UNIFORM: out[0] = jx_random_uniform(k, s->dtype, shape, s->a, s->b); break;
    case NORMAL: out[0] = jx_random_normal(k, s->dtype, shape); break;
    case TNORMAL: out[0] = jx_random_truncated_normal(k, s->dtype, shape, s->a, s->b); break;
    case BERNOULLI: out[0] = jx_random_bernoulli(k, s->a, shape); break;
    case CATEGORICAL: out[0] = jx_random_categorical(k, in[1], s->axis); break;
    case PERM: out[0] = jx_random_permutation(k, s->shape[0]); break;
    case SHUFFLE: out[0] = jx_random_shuffle(k, in[1], s->axis); break;
    case SPLIT: out[0] = jx_random_split(k, s->shape[0]); break;
    case FOLD: out[0] = jx_random_fold_in(k, jx_scalar(JX_I32, s->a)); break;
    }
}

/* Runs the sample on key(seed) with the interpreter and the jit; returns how many of
 * the n 32-bit words differ from want in the interpreter's output (jit's must equal
 * the interpreter's exactly; an f64 is two words), or -1 on error. *maxulp gets the largest difference in
 * units of the last place when the output is f32. */
static int64_t run_sample(sample *s, int64_t seed, const void *want, int64_t n, int64_t *maxulp) {
    jx_array *key = jx_random_key_new(seed);
    jx_array *in[2] = {key, s->extra};
    int nin = s->extra ? 2 : 1;
    jx_aval av[2] = {jx_array_aval(key), s->extra ? jx_array_aval(s->extra) : jx_array_aval(key)};
    jx_fn *f = jx_trace("sample", sample_body, s, nin, av, 1);
    if (!f) {
        fprintf(stderr, "\n%s\n", jx_errmsg());
        jx_array_release(key);
        return -1;
    }
    jx_array *y = NULL, *yj = NULL;
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    int64_t bad = -1;
    if (jx_eval(f, nin, in, 1, &y) == JX_OK && x && jx_exec_run(x, nin, in, 1, &yj) == JX_OK &&
        (jx_array_dtype(y) == JX_BOOL ? jx_array_size(y) : (int64_t)jx_array_nbytes(y) / 4) == n) {
        const uint32_t *w = want;
        bad = 0;
        if (maxulp) *maxulp = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t g = jx_array_dtype(y) == JX_BOOL ? ((const uint8_t *)jx_array_data(y))[i]
                                                      : ((const uint32_t *)jx_array_data(y))[i];
            bad += g != w[i];
            int64_t d = llabs((int64_t)(int32_t)g - (int64_t)(int32_t)w[i]);
            if (maxulp && d > *maxulp) *maxulp = d;
        }
        CU_ASSERT(memcmp(jx_array_data(y), jx_array_data(yj), jx_array_nbytes(y)) == 0);
    } else {
        fprintf(stderr, "\n%s\n", jx_errmsg());
    }
    jx_array_release(y), jx_array_release(yj), jx_exec_release(x), jx_fn_release(f), jx_array_release(key);
    return bad;
}

static void test_keys(void) {
    const uint32_t *want[4] = {key_0, key_2a, key_75bcd15, key_ffffffff};
    int64_t seeds[4] = {0, 42, 123456789, -1};
    for (int i = 0; i < 4; i++) {
        jx_array *k = jx_random_key_new(seeds[i]);
        CU_ASSERT(memcmp(jx_array_data(k), want[i], 8) == 0);
        jx_array_release(k);
    }
    sample s = {.kind = SPLIT, .shape = {3}, .rank = 1};
    CU_ASSERT_EQUAL(run_sample(&s, 42, split_42_3, 6, NULL), 0);
    sample fo = {.kind = FOLD, .a = 7};
    CU_ASSERT_EQUAL(run_sample(&fo, 42, fold_in_42_7, 2, NULL), 0);
    /* host forms */
    jx_array *k = jx_random_key_new(42), *ks = jx_random_split_new(k, 3), *k1 = jx_random_key_row_new(ks, 1);
    jx_array *f = jx_random_fold_in_new(k, 7);
    CU_ASSERT(memcmp(jx_array_data(ks), split_42_3, 24) == 0);
    CU_ASSERT(memcmp(jx_array_data(k1), split_42_3 + 2, 8) == 0);
    CU_ASSERT(memcmp(jx_array_data(f), fold_in_42_7, 8) == 0);
    jx_array_release(k), jx_array_release(ks), jx_array_release(k1), jx_array_release(f);
}

static void test_bits_uniform(void) {
    sample s = {.kind = BITS, .shape = {2, 7}, .rank = 2};
    CU_ASSERT_EQUAL(run_sample(&s, 42, bits_42_2x7, 14, NULL), 0);
    sample s0 = {.kind = BITS, .rank = 0};
    CU_ASSERT_EQUAL(run_sample(&s0, 42, bits_42_scalar, 1, NULL), 0);
    sample u = {.kind = UNIFORM, .dtype = JX_F32, .shape = {2, 5}, .rank = 2, .a = -2, .b = 3};
    CU_ASSERT_EQUAL(run_sample(&u, 42, uniform_42_2x5, 10, NULL), 0);
    sample u1 = {.kind = UNIFORM, .dtype = JX_F32, .shape = {1000}, .rank = 1, .a = 0, .b = 1};
    CU_ASSERT_EQUAL(run_sample(&u1, 0, uniform_0_1000, 1000, NULL), 0);
    /* f64, against JAX with jax_enable_x64: 52 bits of the 64-bit draw */
    sample d = {.kind = UNIFORM, .dtype = JX_F64, .shape = {2, 5}, .rank = 2, .a = -2, .b = 3};
    CU_ASSERT_EQUAL(run_sample(&d, 42, uniform_x64_42_2x5, 20, NULL), 0);
    sample d1 = {.kind = UNIFORM, .dtype = JX_F64, .shape = {1000}, .rank = 1, .a = 0, .b = 1};
    CU_ASSERT_EQUAL(run_sample(&d1, 0, uniform_x64_0_1000, 2000, NULL), 0);
}

/* Bit for bit: erf_inv's log1p follows XLA's CPU code for f32 (src/nn/random.c). */
static void test_normal(void) {
    int64_t ulp = 0;
    sample n = {.kind = NORMAL, .dtype = JX_F32, .shape = {1000}, .rank = 1};
    CU_ASSERT_EQUAL(run_sample(&n, 42, normal_42_1000, 1000, &ulp), 0);
    sample n7 = {.kind = NORMAL, .dtype = JX_F32, .shape = {8192}, .rank = 1};
    int64_t bad = run_sample(&n7, 7, normal_7_8192, 8192, &ulp);
    if (bad) fprintf(stderr, " [normal: %lld of 8192 differ, max %lld ulp]", (long long)bad, (long long)ulp);
    CU_ASSERT_EQUAL(bad, 0);
    sample t = {.kind = TNORMAL, .dtype = JX_F32, .shape = {1000}, .rank = 1, .a = -2, .b = 2};
    CU_ASSERT_EQUAL(run_sample(&t, 42, tnormal_42_1000, 1000, &ulp), 0);
}

static void test_discrete(void) {
    sample b = {.kind = BERNOULLI, .shape = {64}, .rank = 1, .a = 0.3};
    CU_ASSERT_EQUAL(run_sample(&b, 42, bernoulli_42_64, 64, NULL), 0);
    jx_array *logits = jx_array_new(JX_F32, JX_INTS(3, 4), categorical_logits);
    sample c = {.kind = CATEGORICAL, .axis = -1, .extra = logits};
    CU_ASSERT_EQUAL(run_sample(&c, 42, (const uint32_t *)categorical_42, 3, NULL), 0);
    sample c0 = {.kind = CATEGORICAL, .axis = 0, .extra = logits};
    CU_ASSERT_EQUAL(run_sample(&c0, 42, (const uint32_t *)categorical_42_axis0, 4, NULL), 0);
    jx_array_release(logits);
    sample p = {.kind = PERM, .shape = {10}};
    CU_ASSERT_EQUAL(run_sample(&p, 42, (const uint32_t *)permutation_42_10, 10, NULL), 0);
    sample p2 = {.kind = PERM, .shape = {3000}};
    CU_ASSERT_EQUAL(run_sample(&p2, 42, (const uint32_t *)permutation_42_3000, 3000, NULL), 0);
    jx_array *x = jx_array_arange(JX_I32, 0, 12, 1), *x2 = NULL;
    x2 = jx_array_new(JX_I32, JX_INTS(4, 3), jx_array_data(x));
    sample sh = {.kind = SHUFFLE, .axis = 0, .extra = x2};
    CU_ASSERT_EQUAL(run_sample(&sh, 42, (const uint32_t *)shuffle_42_4x3, 12, NULL), 0);
    jx_array_release(x), jx_array_release(x2);
}

static int bad_line;
static void bad_key_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    bad_line = __LINE__, out[0] = jx_random_uniform(in[0], JX_F32, JX_INTS(3), 0, 1);
}
static void bad_dtype_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_random_normal(in[0], JX_I32, JX_INTS(3));
}

static void test_errors(void) {
    jx_aval a = JX_AVAL(JX_U32, 3);
    CU_ASSERT_PTR_NULL(jx_trace("bad", bad_key_body, NULL, 1, &a, 1));
    JT_ASSERT_ERR("random_uniform: a key is u32[2], got u32[3]");
    JT_ASSERT_ERR(jt_place(__FILE__, bad_line));
    a = JX_AVAL(JX_U32, 2);
    CU_ASSERT_PTR_NULL(jx_trace("bad", bad_dtype_body, NULL, 1, &a, 1));
    JT_ASSERT_ERR("random_normal: dtype must be f32, got i32");
    jx_array *k = jx_random_key_new(0);
    CU_ASSERT_PTR_NULL(jx_random_split_new(k, 0));
    JT_ASSERT_ERR("random_split: split into 0 keys");
    jx_array_release(k);
}

int main(void) {
    CU_TestInfo tests[] = {{"keys, split, fold_in", test_keys},
                           {"bits and uniform", test_bits_uniform},
                           {"normal and truncated normal", test_normal},
                           {"bernoulli, categorical, permutation", test_discrete},
                           {"errors", test_errors},
                           CU_TEST_INFO_NULL};
    return jt_run("nn/random", tests);
}
