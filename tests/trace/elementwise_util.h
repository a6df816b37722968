/* elementwise_util.h: helpers shared by the elementwise suites (test_elementwise*.c):
 * evaluating one op on host arrays, typed array literals, exact integer checks. */
#ifndef JX_TEST_ELEMENTWISE_UTIL_H
#define JX_TEST_ELEMENTWISE_UTIL_H

#include <stdio.h>

#include "harness.h"

/* A host array from a C list: JT_ARR(JX_I32, int32_t, 1, 2, 3) is i32[3]. */
#define JT_ARR(dtype, ctype, ...)                                                        \
    jx_array_new((dtype), JX_INTS((int64_t)(sizeof((ctype[]){__VA_ARGS__}) / sizeof(ctype))), \
                 (const ctype[]){__VA_ARGS__})

typedef jx_val (*jt_unop)(jx_loc, jx_val);
typedef jx_val (*jt_binop)(jx_loc, jx_val, jx_val);

/* One op to apply in a traced body, and the place it was called from. */
typedef struct jt_op {
    jt_unop un;
    jt_binop bin;
    jx_loc loc;
} jt_op;

static inline void jt_body_un(jx_val *out, const jx_val *in, void *user) {
    jt_op *op = user;
    op->loc = JX_HERE;
    out[0] = op->un(op->loc, in[0]);
}

static inline void jt_body_bin(jx_val *out, const jx_val *in, void *user) {
    jt_op *op = user;
    op->loc = JX_HERE;
    out[0] = op->bin(op->loc, in[0], in[1]);
}

/* f(x) evaluated with the interpreter; NULL (message in jx_errmsg) on failure. When op
 * is not NULL it receives the place of the call. */
static inline jx_array *jt_eval_un(jt_unop f, jx_array *x, jt_op *op) {
    jt_op local = {f, NULL, {NULL, 0}};
    jx_aval av = jx_array_aval(x);
    jx_array *y = NULL;
    jt_trace_eval(jt_body_un, &local, 1, &av, &x, 1, &y);
    if (op) *op = local;
    return y;
}

static inline jx_array *jt_eval_bin(jt_binop f, jx_array *a, jx_array *b, jt_op *op) {
    jt_op local = {NULL, f, {NULL, 0}};
    jx_aval av[2] = {jx_array_aval(a), jx_array_aval(b)};
    jx_array *in[2] = {a, b}, *y = NULL;
    jt_trace_eval(jt_body_bin, &local, 2, av, in, 1, &y);
    if (op) *op = local;
    return y;
}

/* Element i exactly as an int64 (jx_array_get goes through double). */
static inline int64_t jt_get_i64(const jx_array *a, int64_t i) {
    if (jx_array_dtype(a) == JX_I64) return ((const int64_t *)jx_array_data(a))[i];
    return (int64_t)jx_array_get(a, i);
}

/* True when a has dtype and n elements equal to want; prints the first difference. */
static inline int jt_ints_equal(const jx_array *a, jx_dtype dtype, const int64_t *want, int64_t n,
                                int line) {
    if (!a || jx_array_dtype(a) != dtype || jx_array_size(a) != n) {
        fprintf(stderr, "\n  line %d: wrong array (%s)\n", line, a ? "dtype or size" : jx_errmsg());
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        if (jt_get_i64(a, i) != want[i]) {
            fprintf(stderr, "\n  line %d: element %lld is %lld, want %lld\n", line, (long long)i,
                    (long long)jt_get_i64(a, i), (long long)want[i]);
            return 0;
        }
    return 1;
}
/* Asserts and releases: checks array a against the listed int64 values. */
#define JT_ASSERT_INTS(a, dtype, ...)                                                    \
    do {                                                                                 \
        const int64_t jt__w[] = {__VA_ARGS__};                                           \
        jx_array *jt__a = (a);                                                           \
        CU_ASSERT(jt_ints_equal(jt__a, (dtype), jt__w, (int64_t)(sizeof jt__w / sizeof *jt__w), __LINE__)); \
        jx_array_release(jt__a);                                                         \
    } while (0)

#endif /* JX_TEST_ELEMENTWISE_UTIL_H */
