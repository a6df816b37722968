/* test_jit_reduce_order.c: the blocked pairwise order of floating sums and products
 * (src/trace/reduce_util.h): an f32 sum of 2^22 values within 1e-6 of the exact sum;
 * the interpreter equal, bit for bit, to an independent fold in the documented order,
 * over one axis, several axes, leading axes (column sums) and products; the jit equal
 * bit for bit to the interpreter with 1 and 2 threads, fused with an elementwise
 * producer or not. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "jit_util.h"

/* splitmix64 of i as a uniform [0,1) double (bench/reduce_accuracy.c's generator). */
static double gen(uint64_t i) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

typedef struct {
    int64_t axes[4];
    int naxes;
    bool prod, square; /* reduce_prod instead of reduce_sum; x * x fused as the operand */
    bool row;          /* the (C) result reshaped to (1, 1, C), as batch norm's statistics */
} red_spec;

static void body_red(jx_val *out, const jx_val *in, void *u) {
    const red_spec *s = u;
    jx_val x = s->square ? jx_mul(in[0], in[0]) : in[0];
    jx_ints axes = s->naxes ? (jx_ints){s->axes, s->naxes} : JX_NOINTS;
    out[0] = s->prod ? jx_reduce_prod(x, axes) : jx_reduce_sum(x, axes);
    if (s->row) out[0] = jx_reshape(out[0], JX_INTS(1, 1, jx_dim(out[0], -1)));
}

/* The documented order over n values v (double arithmetic rounded to f32 when f32). */
static double ref_fold(const double *v, int64_t n, bool f32, bool prod) {
    double stack[64], acc = prod;
    int top = 0;
#define RND(a) (f32 ? (double)(float)(a) : (a))
#define OP(a, b) RND(prod ? (a) * (b) : (a) + (b))
    for (int64_t s = 0, c = 1; s < n; s += 128, c++) {
        acc = prod;
        for (int64_t j = s; j < n && j < s + 128; j++) acc = OP(acc, v[j]);
        for (int64_t t = c; !(t & 1); t >>= 1) acc = OP(stack[--top], acc);
        stack[top++] = acc;
    }
    if (top) acc = stack[--top];
    while (top > 0) acc = OP(stack[--top], acc);
    return acc;
#undef OP
#undef RND
}

/* x of dtype t and shape sh (values near 1 for products), reduced per spec through the
 * interpreter (checked against ref_fold on each output's values in row-major order)
 * and the jit with 1 and 2 threads (checked bit for bit against the interpreter). */
static void check_order(jx_dtype t, jx_ints sh, red_spec s) {
    jx_aval av = jx_aval_make(t, sh);
    int64_t n = jx_aval_size(&av);
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        v[i] = s.prod ? 1 + (gen((uint64_t)i) - 0.5) / 64 : gen((uint64_t)i);
        if (t == JX_F32) v[i] = (float)v[i];
    }
    jx_array *x = jt_array(t, sh, v);
    jx_fn *f = jx_trace("red", body_red, &s, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *yi = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 1, &x, 1, &yi), JX_OK);
    /* reference: per output, its values in row-major order of the reduced dims */
    bool red[JX_MAX_RANK] = {false};
    for (int i = 0; i < s.naxes; i++) red[s.axes[i]] = true;
    if (!s.naxes)
        for (int d = 0; d < av.rank; d++) red[d] = true;
    int64_t nout = jx_array_size(yi), m = n / nout, st[JX_MAX_RANK], acc = 1;
    for (int d = av.rank - 1; d >= 0; d--) st[d] = acc, acc *= av.shape[d];
    double *vals = malloc(sizeof(double) * (size_t)m);
    int bad = 0;
    for (int64_t o = 0; o < nout; o++) {
        for (int64_t r = 0; r < m; r++) { /* o over kept dims, r over reduced dims */
            int64_t off = 0, oo = o, rr = r;
            for (int d = av.rank - 1; d >= 0; d--) {
                int64_t *k = red[d] ? &rr : &oo;
                off += (*k % av.shape[d]) * st[d], *k /= av.shape[d];
            }
            vals[r] = s.square ? (t == JX_F32 ? (double)(float)(v[off] * v[off]) : v[off] * v[off]) : v[off];
        }
        double want = ref_fold(vals, m, t == JX_F32, s.prod), got = jx_array_get(yi, o);
        if (got != want && bad++ == 0) fprintf(stderr, "\n  output %lld: %.17g, want %.17g\n", (long long)o, got, want);
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int th = 1; th <= 2; th++) {
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = th;
        jx_exec *ex = jx_jit(f, JX_DEVICE_CPU, &o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ex);
        jx_array *yj = NULL;
        CU_ASSERT_EQUAL(jx_exec_run(ex, 1, &x, 1, &yj), JX_OK);
        CU_ASSERT(yj && ju_same_bits(yj, yi));
        jx_array_release(yj);
        jx_exec_release(ex);
    }
    free(vals);
    free(v);
    jx_array_release(yi);
    jx_array_release(x);
    jx_fn_release(f);
}

static void test_long_sum_accuracy(void) {
    enum { N = 1 << 22 };
    float *x = malloc(sizeof(float) * N);
    long double exact = 0, c = 0;
    for (int64_t i = 0; i < N; i++) {
        x[i] = (float)gen((uint64_t)i);
        long double y = (long double)x[i] - c, s = exact + y;
        c = (s - exact) - y, exact = s;
    }
    jx_array *a = jx_array_new(JX_F32, JX_INTS(N), x);
    red_spec s = {{0}, 0, false, false, false};
    jx_aval av = JX_AVAL(JX_F32, N);
    jx_fn *f = jx_trace("sum", body_red, &s, 1, &av, 1);
    jx_array *y = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 1, &a, 1, &y), JX_OK);
    double got = *(const float *)jx_array_data(y);
    CU_ASSERT(fabsl((got - exact) / exact) < 1e-6);
    jx_array_release(y);
    jx_array_release(a);
    jx_fn_release(f);
    free(x);
}

static void test_order_one_axis(void) {
    check_order(JX_F32, JX_INTS(3, 1000), (red_spec){{1}, 1, false, false, false});
    check_order(JX_F64, JX_INTS(2, 129), (red_spec){{1}, 1, false, true, false});
    check_order(JX_F32, JX_INTS(40000), (red_spec){{0}, 1, false, true, false});
    /* 8 blocks and more: the jit folds groups of 8 blocks side by side (codegen_loop.c),
     * then the blocks after them one by one (here 4100 = 32 blocks and 4 values) */
    check_order(JX_F32, JX_INTS(3, 4100), (red_spec){{1}, 1, false, false, false});
    check_order(JX_F64, JX_INTS(2, 2048), (red_spec){{1}, 1, false, true, false});
}

static void test_order_several_axes(void) {
    check_order(JX_F32, JX_INTS(40, 3, 50), (red_spec){{0, 2}, 2, false, false, false});
    check_order(JX_F32, JX_INTS(50, 3, 61), (red_spec){{0, 2}, 2, false, true, false}); /* 23 blocks and 106 */
    check_order(JX_F64, JX_INTS(7, 11, 13), (red_spec){{0}, 0, false, false, false});
}

static void test_order_leading_axes(void) { /* column sums: the jit's tiled path, blocked or not */
    check_order(JX_F32, JX_INTS(3000, 5), (red_spec){{0}, 1, false, true, false});
    check_order(JX_F32, JX_INTS(100, 6), (red_spec){{0}, 1, false, false, false});
    /* batch norm's statistics: N*H*W rows of C, reshaped to (1, 1, C) or not */
    check_order(JX_F32, JX_INTS(9, 70, 33), (red_spec){{0, 1}, 2, false, true, true});
    check_order(JX_F64, JX_INTS(40, 25, 3), (red_spec){{0, 1}, 2, false, false, false});
    check_order(JX_F32, JX_INTS(300, 4), (red_spec){{0}, 1, true, false, true});
}

static void test_order_products(void) {
    check_order(JX_F32, JX_INTS(5, 700), (red_spec){{1}, 1, true, false, false});
    check_order(JX_F32, JX_INTS(2, 2200), (red_spec){{1}, 1, true, false, false});
    check_order(JX_F64, JX_INTS(600, 3), (red_spec){{0}, 1, true, false, false});
}

/* reduce_max / reduce_min over long rows (the jit folds them in any order, vectorised, and
 * again in order where that result is a NaN or compares equal to zero): the sequential
 * fold's bits, corner cases included. */
static void max_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_max(in[0], JX_INTS(1));
    out[1] = jx_reduce_min(jx_neg(in[0]), JX_INTS(1));
}

static float nan_with(uint32_t payload) {
    uint32_t bits = 0x7fc00000u | payload;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t bits_of(const jx_array *a, int64_t i) {
    uint32_t b;
    memcpy(&b, (const float *)jx_array_data(a) + i, sizeof b);
    return b;
}

/* Rows of n values; the corner cases sit at the same fractions of a row as in 2500. */
static void check_extremes(int64_t N) {
    enum { R = 5 };
#define AT(i) ((int64_t)(i) * N / 2500)
    float *x = malloc(sizeof(float) * R * (size_t)N);
    for (int64_t i = 0; i < R * N; i++) x[i] = (float)gen((uint64_t)i) - 2.0f; /* all negative */
    x[0 * N + AT(300)] = -0.0f, x[0 * N + AT(1500)] = 0.0f, x[0 * N + AT(2400)] = -0.0f; /* ties: the first */
    x[1 * N + AT(100)] = nan_with(1), x[1 * N + AT(2100)] = nan_with(2), x[1 * N + AT(2200)] = 5; /* the last NaN */
    x[2 * N + N - 1] = 7;                                                                /* in the rest */
    x[3 * N + AT(40)] = 1e-40f, x[3 * N + AT(900)] = 3e-40f, x[3 * N + AT(2000)] = 0.0f; /* 0 when flushed */
    for (int64_t j = 0; j < N; j += 97) x[4 * N + j] = 3; /* many copies of the max */
#undef AT
    jx_array *a = jx_array_new(JX_F32, JX_INTS(R, N), x);
    jx_aval av = JX_AVAL(JX_F32, R, N);
    jx_fn *f = jx_trace("extremes", max_body, NULL, 1, &av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *want[2] = {0}, *got[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 1, &a, 2, want), JX_OK);
    jx_exec *ex = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ex);
    CU_ASSERT_EQUAL(jx_exec_run(ex, 1, &a, 2, got), JX_OK);
    for (int o = 0; o < 2; o++) CU_ASSERT(got[o] && ju_same_bits(got[o], want[o]));
    CU_ASSERT_EQUAL(bits_of(got[0], 0), 0x80000000u); /* -0: the first of the zeros */
    CU_ASSERT_EQUAL(bits_of(got[1], 0), 0x00000000u); /* min of the negation: +0 = -(-0), first */
    CU_ASSERT_EQUAL(bits_of(got[0], 1), 0x7fc00002u); /* the last NaN */
    CU_ASSERT_EQUAL(bits_of(got[1], 1), 0xffc00002u); /* negated */
    CU_ASSERT_EQUAL(jx_array_get(got[0], 2), 7);
    CU_ASSERT_EQUAL(jx_array_get(got[0], 4), 3);
    CU_ASSERT_EQUAL(jx_array_get(got[1], 4), -3);
    jx_array *arrs[] = {a, want[0], want[1], got[0], got[1]};
    for (int i = 0; i < 5; i++) jx_array_release(arrs[i]);
    jx_exec_release(ex);
    jx_fn_release(f);
    free(x);
}

/* 2500 values: the blocks side by side where the vectorised result is not kept; 300: the
 * sequential fold there; 40: just over the vectorised fold's least length. */
static void test_extremes(void) {
    check_extremes(2500);
    check_extremes(300);
    check_extremes(40);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"f32 sum of 2^22 within 1e-6", test_long_sum_accuracy},
        {"order over one axis", test_order_one_axis},
        {"order over several axes", test_order_several_axes},
        {"order over leading axes", test_order_leading_axes},
        {"order of products", test_order_products},
        {"max and min of long rows: ties, NaNs", test_extremes},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_reduce_order", tests);
    jx_jit_cache_clear(); /* the cached executables' code, so valgrind sees nothing held */
    return rc;
}
