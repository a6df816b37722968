/* test_window.c: reduce_window_sum/max/min, select_and_scatter_add and
 * select_and_gather_add: pooling by hand, padding with each reduction's identity,
 * strides and overlaps, a naive reference, ties (the first maximum wins), the
 * scatter/gather transpose identity, edge cases, and every error with the caller's line. */
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

/* ------------------------------------------------------------------ running the ops */

typedef struct win_args {
    jx_window_kind kind;
    jx_ints window, strides, lo, hi;
    int scatter; /* select_and_scatter_add(in[0], in[1]) instead of reduce_window(in[0]) */
    int line;
} win_args;

static void win_body(jx_val *out, const jx_val *in, void *user) {
    win_args *a = user;
    if (a->scatter) {
        a->line = __LINE__ + 1;
        out[0] = jx_select_and_scatter_add(in[0], in[1], a->window, a->strides, a->lo, a->hi);
    } else {
        a->line = __LINE__ + 1;
        out[0] = jx_reduce_window(in[0], a->kind, a->window, a->strides, a->lo, a->hi);
    }
}

/* reduce_window on x; a new array or NULL. */
static jx_array *pool(jx_array *x, jx_window_kind kind, jx_ints window, jx_ints strides, jx_ints lo,
                      jx_ints hi) {
    win_args a = {kind, window, strides, lo, hi, 0, 0};
    jx_aval av = jx_array_aval(x);
    jx_array *y = NULL;
    if (jt_trace_eval(win_body, &a, 1, &av, &x, 1, &y) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    return y;
}

static jx_array *scatter(jx_array *src, jx_array *x, jx_ints window, jx_ints strides, jx_ints lo,
                         jx_ints hi) {
    win_args a = {JX_WINDOW_MAX, window, strides, lo, hi, 1, 0};
    jx_aval av[2] = {jx_array_aval(src), jx_array_aval(x)};
    jx_array *in[2] = {src, x}, *y = NULL;
    if (jt_trace_eval(win_body, &a, 2, av, in, 1, &y) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    return y;
}

static int shape_is(const jx_array *a, jx_ints s) {
    if (!a || jx_array_rank(a) != s.n) return 0;
    for (int i = 0; i < s.n; i++)
        if (jx_array_shape(a)[i] != s.v[i]) return 0;
    return 1;
}

/* ------------------------------------------------------------------ pooling */

static const double img[16] = {1, 5, 2, 0,  /* */
                               3, 4, 8, 7,  /* */
                               -1, 0, 6, 6, /* */
                               9, 2, 6, 3};

static void test_max_pool_2x2(void) {
    jx_dtype dts[2] = {JX_F32, JX_F64};
    for (int i = 0; i < 2; i++) {
        jx_array *x = jt_array(dts[i], JX_INTS(1, 1, 4, 4), img);
        jx_array *y = pool(x, JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
        CU_ASSERT(shape_is(y, JX_INTS(1, 1, 2, 2)));
        CU_ASSERT_EQUAL(jx_array_dtype(y), dts[i]);
        double want[4] = {5, 8, 9, 6};
        JT_ASSERT_ARRAY(y, want, 4, 0);
        jx_array_release(y);
        y = pool(x, JX_WINDOW_MIN, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
        double wmin[4] = {1, 0, -1, 3};
        JT_ASSERT_ARRAY(y, wmin, 4, 0);
        jx_array_release(y);
        jx_array_release(x);
    }
}

/* Average pooling is a window sum divided by the window size. */
static void test_avg_pool(void) {
    jx_array *x = jt_array(JX_F64, JX_INTS(1, 1, 4, 4), img);
    jx_array *y = pool(x, JX_WINDOW_SUM, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
    double want[4] = {13 / 4.0, 17 / 4.0, 10 / 4.0, 21 / 4.0};
    CU_ASSERT(shape_is(y, JX_INTS(1, 1, 2, 2)));
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(jx_array_get(y, i) / 4, want[i], 1e-15);
    jx_array_release(y);
    /* 3x3 stride 1 "same" padding: the centre sums everything around it */
    y = pool(x, JX_WINDOW_SUM, JX_INTS(1, 1, 3, 3), JX_NOINTS, JX_INTS(0, 0, 1, 1), JX_INTS(0, 0, 1, 1));
    CU_ASSERT(shape_is(y, JX_INTS(1, 1, 4, 4)));
    CU_ASSERT_EQUAL(jx_array_get(y, 0), 1 + 5 + 3 + 4);
    CU_ASSERT_EQUAL(jx_array_get(y, 5), 1 + 5 + 2 + 3 + 4 + 8 - 1 + 0 + 6);
    CU_ASSERT_EQUAL(jx_array_get(y, 15), 6 + 6 + 6 + 3);
    jx_array_release(y);
    jx_array_release(x);
}

/* Windows wholly in the padding give the identity: 0, -inf, +inf. */
static void test_padding_identity(void) {
    double v[3] = {1, 2, 3};
    jx_array *x = jt_array(JX_F32, JX_INTS(3), v);
    jx_array *y = pool(x, JX_WINDOW_SUM, JX_INTS(2), JX_NOINTS, JX_INTS(2), JX_INTS(1));
    double ws[5] = {0, 1, 3, 5, 3};
    CU_ASSERT(shape_is(y, JX_INTS(5)));
    JT_ASSERT_ARRAY(y, ws, 5, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_MAX, JX_INTS(2), JX_NOINTS, JX_INTS(2), JX_INTS(1));
    double wmax[5] = {-INFINITY, 1, 2, 3, 3};
    JT_ASSERT_ARRAY(y, wmax, 5, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_MIN, JX_INTS(2), JX_NOINTS, JX_INTS(2), JX_INTS(3));
    double wmin[7] = {INFINITY, 1, 1, 2, 3, INFINITY, INFINITY};
    JT_ASSERT_ARRAY(y, wmin, 7, 0);
    jx_array_release(y);
    /* stride 2 with negative padding crops: [2,3] padded by 2 on the right */
    y = pool(x, JX_WINDOW_MAX, JX_INTS(2), JX_INTS(2), JX_INTS(-1), JX_INTS(2));
    double wcrop[2] = {3, -INFINITY};
    CU_ASSERT(shape_is(y, JX_INTS(2)));
    JT_ASSERT_ARRAY(y, wcrop, 2, 0);
    jx_array_release(y);
    jx_array_release(x);
}

/* Integers pad with the type's min / max and never overflow. */
static void test_int_windows(void) {
    double v[3] = {-5, 2147483647.0, -2147483648.0};
    jx_array *x = jt_array(JX_I32, JX_INTS(3), v);
    jx_array *y = pool(x, JX_WINDOW_MAX, JX_INTS(2), JX_NOINTS, JX_INTS(2), JX_NOINTS);
    double want[4] = {-2147483648.0, -5, 2147483647.0, 2147483647.0};
    CU_ASSERT_EQUAL(jx_array_dtype(y), JX_I32);
    JT_ASSERT_ARRAY(y, want, 4, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_MIN, JX_INTS(2), JX_NOINTS, JX_INTS(2), JX_NOINTS);
    double wmin[4] = {2147483647.0, -5, -5, -2147483648.0};
    JT_ASSERT_ARRAY(y, wmin, 4, 0);
    jx_array_release(y);
    jx_array_release(x);
    double b[4] = {7, 200, 3, 9};
    jx_array *xb = jt_array(JX_U8, JX_INTS(2, 2), b);
    y = pool(xb, JX_WINDOW_MIN, JX_INTS(1, 2), JX_NOINTS, JX_NOINTS, JX_INTS(0, 1));
    double wb[4] = {7, 200, 3, 9};
    CU_ASSERT(shape_is(y, JX_INTS(2, 2)));
    JT_ASSERT_ARRAY(y, wb, 4, 0);
    jx_array_release(y);
    y = pool(xb, JX_WINDOW_MAX, JX_INTS(2, 1), JX_NOINTS, JX_INTS(1, 0), JX_NOINTS);
    double wbm[4] = {7, 200, 7, 200};
    JT_ASSERT_ARRAY(y, wbm, 4, 0);
    jx_array_release(y);
    jx_array_release(xb);
    double l[2] = {-9007199254740992.0, 9007199254740992.0};
    jx_array *xl = jt_array(JX_I64, JX_INTS(2), l);
    y = pool(xl, JX_WINDOW_MAX, JX_INTS(1), JX_NOINTS, JX_INTS(1), JX_NOINTS);
    CU_ASSERT_EQUAL(((const int64_t *)jx_array_data(y))[0], INT64_MIN);
    CU_ASSERT_EQUAL(((const int64_t *)jx_array_data(y))[2], 9007199254740992LL);
    jx_array_release(y);
    y = pool(xl, JX_WINDOW_MIN, JX_INTS(1), JX_NOINTS, JX_NOINTS, JX_INTS(1));
    CU_ASSERT_EQUAL(((const int64_t *)jx_array_data(y))[2], INT64_MAX);
    jx_array_release(y);
    jx_array_release(xl);
    double u[2] = {4000000000.0, 1};
    jx_array *xu = jt_array(JX_U32, JX_INTS(2), u);
    y = pool(xu, JX_WINDOW_MIN, JX_INTS(2), JX_NOINTS, JX_INTS(1), JX_NOINTS);
    double wu[2] = {4000000000.0, 1};
    JT_ASSERT_ARRAY(y, wu, 2, 0);
    jx_array_release(y);
    jx_array_release(xu);
}

/* NaN wins max and min windows; infinities pass through sums. */
static void test_nan_inf(void) {
    double v[4] = {1, NAN, 3, INFINITY};
    jx_array *x = jt_array(JX_F64, JX_INTS(4), v);
    jx_array *y = pool(x, JX_WINDOW_MAX, JX_INTS(2), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double wmax[3] = {NAN, NAN, INFINITY};
    JT_ASSERT_ARRAY(y, wmax, 3, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_MIN, JX_INTS(2), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double wmin[3] = {NAN, NAN, 3};
    JT_ASSERT_ARRAY(y, wmin, 3, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_SUM, JX_INTS(1), JX_INTS(2), JX_NOINTS, JX_NOINTS);
    double wsum[2] = {1, 3};
    JT_ASSERT_ARRAY(y, wsum, 2, 0);
    jx_array_release(y);
    y = pool(x, JX_WINDOW_SUM, JX_INTS(2), JX_INTS(2), JX_NOINTS, JX_NOINTS);
    double wsum2[2] = {NAN, INFINITY};
    JT_ASSERT_ARRAY(y, wsum2, 2, 0);
    jx_array_release(y);
    jx_array_release(x);
}

/* Rank 0 (no dims to pool) and size-0 dims (windows in the padding only). */
static void test_window_edges(void) {
    jx_array *s = jx_array_scalar(JX_F32, 2.5);
    jx_array *y = pool(s, JX_WINDOW_SUM, JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS);
    CU_ASSERT(shape_is(y, JX_NOINTS));
    CU_ASSERT_EQUAL(jx_array_get(y, 0), 2.5);
    jx_array_release(y);
    jx_array_release(s);
    jx_array *e = jx_array_zeros(JX_F32, JX_INTS(0, 3));
    y = pool(e, JX_WINDOW_MAX, JX_INTS(1, 2), JX_NOINTS, JX_INTS(1, 0), JX_NOINTS);
    CU_ASSERT(shape_is(y, JX_INTS(1, 2)));
    double wmax[2] = {-INFINITY, -INFINITY};
    JT_ASSERT_ARRAY(y, wmax, 2, 0);
    jx_array_release(y);
    y = pool(e, JX_WINDOW_SUM, JX_INTS(1, 4), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    CU_ASSERT(shape_is(y, JX_INTS(0, 0)));
    jx_array_release(y);
    jx_array_release(e);
}

/* A 3-D operand against a naive reference: every window read from its definition. */
static void test_window_vs_reference(void) {
    enum { A = 3, B = 7, C = 6 };
    double v[A * B * C];
    unsigned r = 12345;
    for (int i = 0; i < A * B * C; i++) {
        r = r * 1664525u + 1013904223u;
        v[i] = (double)((int)(r >> 20) % 41 - 20) / 4;
    }
    int64_t win[3] = {2, 3, 2}, st[3] = {1, 2, 3}, lo[3] = {1, 1, -1}, hi[3] = {0, 2, 2}, out[3];
    for (int d = 0; d < 3; d++) {
        int64_t dim = d == 0 ? A : d == 1 ? B : C;
        out[d] = (dim + lo[d] + hi[d] - win[d]) / st[d] + 1;
    }
    jx_array *x = jt_array(JX_F64, JX_INTS(A, B, C), v);
    for (int kind = JX_WINDOW_SUM; kind <= JX_WINDOW_MIN; kind++) {
        jx_array *y = pool(x, (jx_window_kind)kind, (jx_ints){win, 3}, (jx_ints){st, 3}, (jx_ints){lo, 3},
                           (jx_ints){hi, 3});
        CU_ASSERT(shape_is(y, (jx_ints){out, 3}));
        double want[64];
        int n = 0;
        for (int64_t i = 0; i < out[0]; i++)
            for (int64_t j = 0; j < out[1]; j++)
                for (int64_t k = 0; k < out[2]; k++) {
                    double acc = kind == JX_WINDOW_SUM ? 0 : kind == JX_WINDOW_MAX ? -INFINITY : INFINITY;
                    for (int64_t a = 0; a < win[0]; a++)
                        for (int64_t b = 0; b < win[1]; b++)
                            for (int64_t c = 0; c < win[2]; c++) {
                                int64_t p = i * st[0] + a - lo[0], q = j * st[1] + b - lo[1], s = k * st[2] + c - lo[2];
                                if (p < 0 || p >= A || q < 0 || q >= B || s < 0 || s >= C) continue;
                                double e = v[(p * B + q) * C + s];
                                acc = kind == JX_WINDOW_SUM ? acc + e : kind == JX_WINDOW_MAX ? fmax(acc, e) : fmin(acc, e);
                            }
                    want[n++] = acc;
                }
        CU_ASSERT_EQUAL(n, out[0] * out[1] * out[2]);
        JT_ASSERT_ARRAY(y, want, n, 1e-15);
        jx_array_release(y);
    }
    jx_array_release(x);
}

/* ------------------------------------------------------------------ select_and_scatter_add */

/* Overlapping windows of 3, stride 1, over [1,3,3,2,5]: windows pick index 1 (the
 * first of the tied 3s), 1 again, and 4. */
static void test_scatter_overlap_ties(void) {
    double v[5] = {1, 3, 3, 2, 5}, s[3] = {10, 20, 30};
    jx_array *x = jt_array(JX_F64, JX_INTS(5), v), *src = jt_array(JX_F64, JX_INTS(3), s);
    jx_array *y = scatter(src, x, JX_INTS(3), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double want[5] = {0, 30, 0, 0, 30};
    CU_ASSERT(shape_is(y, JX_INTS(5)));
    JT_ASSERT_ARRAY(y, want, 5, 0);
    jx_array_release(y);
    jx_array_release(src);
    /* padding 1 each side: windows [pad,1,3] [1,3,3] [3,3,2] [3,2,5] [2,5,pad]; padding
     * never wins, even over a negative maximum */
    double s2[5] = {1, 2, 4, 8, 16};
    src = jt_array(JX_F64, JX_INTS(5), s2);
    jx_array_release(x);
    double vn[5] = {-4, -3, -3, -2, -5};
    x = jt_array(JX_F64, JX_INTS(5), vn);
    y = scatter(src, x, JX_INTS(3), JX_NOINTS, JX_INTS(1), JX_INTS(1));
    double want2[5] = {0, 1 + 2, 0, 4 + 8 + 16, 0};
    JT_ASSERT_ARRAY(y, want2, 5, 0);
    jx_array_release(y);
    jx_array_release(src);
    jx_array_release(x);
}

/* The gradient of a 2x2 stride-2 max pool on the 4x4 image, with a tie in the last
 * window (6 at (2,2) and (2,3)): the first in row-major order gets it. */
static void test_scatter_pool_grad(void) {
    jx_array *x = jt_array(JX_F32, JX_INTS(1, 1, 4, 4), img);
    double s[4] = {1, 2, 3, 4};
    jx_array *src = jt_array(JX_F32, JX_INTS(1, 1, 2, 2), s);
    jx_array *y = scatter(src, x, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
    double want[16] = {0, 1, 0, 0, /* */
                       0, 0, 2, 0, /* */
                       0, 0, 4, 0, /* */
                       3, 0, 0, 0};
    CU_ASSERT(shape_is(y, JX_INTS(1, 1, 4, 4)));
    CU_ASSERT_EQUAL(jx_array_dtype(y), JX_F32);
    JT_ASSERT_ARRAY(y, want, 16, 0);
    jx_array_release(y);
    /* 3x3 stride 1 "same": each of the 16 windows sends 1 to its maximum */
    jx_array *ones = jx_array_ones(JX_F32, JX_INTS(1, 1, 4, 4));
    y = scatter(ones, x, JX_INTS(1, 1, 3, 3), JX_NOINTS, JX_INTS(0, 0, 1, 1), JX_INTS(0, 0, 1, 1));
    double want3[16] = {0, 2, 0, 0, /* */
                        0, 0, 8, 0, /* the 8 wins every window that sees it */
                        0, 0, 2, 0, /* the 6 at (2,2) beats the later 6s */
                        4, 0, 0, 0};
    JT_ASSERT_ARRAY(y, want3, 16, 0);
    double total = 0;
    for (int i = 0; i < 16; i++) total += jx_array_get(y, i);
    CU_ASSERT_EQUAL(total, 16);
    jx_array_release(y);
    jx_array_release(ones);
    jx_array_release(src);
    jx_array_release(x);
}

/* A NaN is the maximum (the first one); windows wholly in padding drop their source. */
static void test_scatter_nan_and_empty(void) {
    double v[4] = {1, NAN, 5, NAN}, s[3] = {1, 10, 100};
    jx_array *x = jt_array(JX_F64, JX_INTS(4), v), *src = jt_array(JX_F64, JX_INTS(3), s);
    jx_array *y = scatter(src, x, JX_INTS(2), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double want[4] = {0, 11, 0, 100};
    JT_ASSERT_ARRAY(y, want, 4, 0);
    jx_array_release(y);
    jx_array_release(src);
    double s2[3] = {7, 8, 9};
    src = jt_array(JX_F64, JX_INTS(3), s2);
    double v2[2] = {4, 2};
    jx_array *x2 = jt_array(JX_F64, JX_INTS(2), v2);
    y = scatter(src, x2, JX_INTS(1), JX_NOINTS, JX_INTS(1), JX_NOINTS);
    double want2[2] = {8, 9};
    JT_ASSERT_ARRAY(y, want2, 2, 0);
    jx_array_release(y);
    jx_array_release(x2);
    jx_array_release(src);
    jx_array_release(x);
}

/* ------------------------------------------------------------------ select_and_gather_add */

/* select_and_gather_add has no public op (it only appears in derivatives): bind it. */
static void sag_body(jx_val *out, const jx_val *in, void *user) {
    win_args *a = user;
    jx_aval x = jx_aval_of(in[1]);
    int64_t b[3][JX_MAX_RANK];
    jx_ints l[3] = {a->strides, a->lo, a->hi};
    for (int k = 0; k < 3; k++)
        if (l[k].n == 0 && x.rank > 0) {
            for (int d = 0; d < x.rank; d++) b[k][d] = k == 0 ? 1 : 0;
            l[k] = (jx_ints){b[k], x.rank};
        }
    jx__attr at[4] = {jx__a_ints(JX_A_WINDOW, a->window), jx__a_ints(JX_A_STRIDES, l[0]),
                      jx__a_ints(JX_A_LO, l[1]), jx__a_ints(JX_A_HI, l[2])};
    a->line = __LINE__ + 1;
    out[0] = jx__bind1(JX_HERE, JX_PRIM_SELECT_AND_GATHER_ADD, 2, in, 4, at);
}

static jx_array *sgather(jx_array *t, jx_array *x, jx_ints window, jx_ints strides, jx_ints lo,
                         jx_ints hi) {
    win_args a = {JX_WINDOW_MAX, window, strides, lo, hi, 1, 0};
    jx_aval av[2] = {jx_array_aval(t), jx_array_aval(x)};
    jx_array *in[2] = {t, x}, *y = NULL;
    if (jt_trace_eval(sag_body, &a, 2, av, in, 1, &y) != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    return y;
}

/* Overlapping windows, ties (the first maximum), padding that never wins, NaN. */
static void test_gather_overlap_ties(void) {
    double v[5] = {1, 3, 3, 2, 5}, t[5] = {10, 20, 30, 40, 50};
    jx_array *x = jt_array(JX_F64, JX_INTS(5), v), *tt = jt_array(JX_F64, JX_INTS(5), t);
    jx_array *y = sgather(tt, x, JX_INTS(3), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double want[3] = {20, 20, 50};
    CU_ASSERT(shape_is(y, JX_INTS(3)));
    JT_ASSERT_ARRAY(y, want, 3, 0);
    jx_array_release(y);
    jx_array_release(x);
    double vn[5] = {-4, -3, -3, -2, -5};
    x = jt_array(JX_F64, JX_INTS(5), vn);
    y = sgather(tt, x, JX_INTS(3), JX_NOINTS, JX_INTS(1), JX_INTS(1));
    double want2[5] = {20, 20, 40, 40, 40};
    CU_ASSERT(shape_is(y, JX_INTS(5)));
    JT_ASSERT_ARRAY(y, want2, 5, 0);
    jx_array_release(y);
    jx_array_release(x);
    double vnan[5] = {1, NAN, 5, NAN, 0};
    x = jt_array(JX_F64, JX_INTS(5), vnan);
    y = sgather(tt, x, JX_INTS(2), JX_NOINTS, JX_NOINTS, JX_NOINTS);
    double want3[4] = {20, 20, 40, 40};
    JT_ASSERT_ARRAY(y, want3, 4, 0);
    jx_array_release(y);
    jx_array_release(x);
    jx_array_release(tt);
}

/* A 2x2 stride-2 max pool's tangent on the image, f32 and f64; windows wholly in the
 * padding give 0; rank 0 passes the tangent through; size-0 operands. */
static void test_gather_pool_and_edges(void) {
    jx_dtype dts[2] = {JX_F32, JX_F64};
    double t[16];
    for (int i = 0; i < 16; i++) t[i] = i + 1;
    for (int k = 0; k < 2; k++) {
        jx_array *x = jt_array(dts[k], JX_INTS(1, 1, 4, 4), img), *tt = jt_array(dts[k], JX_INTS(1, 1, 4, 4), t);
        jx_array *y = sgather(tt, x, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
        double want[4] = {2, 7, 13, 11}; /* the tied 6s: (2,2) wins, flat 10 */
        CU_ASSERT(shape_is(y, JX_INTS(1, 1, 2, 2)));
        CU_ASSERT_EQUAL(jx_array_dtype(y), dts[k]);
        JT_ASSERT_ARRAY(y, want, 4, 0);
        jx_array_release(y);
        jx_array_release(tt);
        jx_array_release(x);
    }
    double v[2] = {4, 2}, tv[2] = {7, 8};
    jx_array *x = jt_array(JX_F32, JX_INTS(2), v), *tt = jt_array(JX_F32, JX_INTS(2), tv);
    jx_array *y = sgather(tt, x, JX_INTS(1), JX_NOINTS, JX_INTS(1), JX_INTS(2));
    double want[5] = {0, 7, 8, 0, 0};
    CU_ASSERT(shape_is(y, JX_INTS(5)));
    JT_ASSERT_ARRAY(y, want, 5, 0);
    jx_array_release(y);
    jx_array_release(tt);
    jx_array_release(x);
    jx_array *s = jx_array_scalar(JX_F64, -1.5), *ts = jx_array_scalar(JX_F64, 3);
    y = sgather(ts, s, JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS);
    CU_ASSERT(shape_is(y, JX_NOINTS));
    CU_ASSERT_EQUAL(jx_array_get(y, 0), 3);
    jx_array_release(y);
    jx_array_release(ts);
    jx_array_release(s);
    jx_array *e = jx_array_zeros(JX_F64, JX_INTS(0, 3));
    y = sgather(e, e, JX_INTS(1, 2), JX_NOINTS, JX_INTS(1, 0), JX_NOINTS);
    double wz[2] = {0, 0};
    CU_ASSERT(shape_is(y, JX_INTS(1, 2)));
    JT_ASSERT_ARRAY(y, wz, 2, 0);
    jx_array_release(y);
    jx_array_release(e);
}

/* gather and scatter are each other's transpose: <gather(t, x), s> = <t, scatter(s, x)>
 * on a 3-D operand with strides, overlaps, negative and positive padding. */
static void test_gather_scatter_transpose(void) {
    enum { A = 3, B = 7, C = 6 };
    double v[A * B * C], t[A * B * C];
    unsigned r = 777;
    for (int i = 0; i < A * B * C; i++) {
        r = r * 1664525u + 1013904223u;
        v[i] = (double)((int)(r >> 20) % 41 - 20) / 4; /* ties on purpose */
        r = r * 1664525u + 1013904223u;
        t[i] = (double)((int)(r >> 16) % 1000) / 100;
    }
    int64_t win[3] = {2, 3, 2}, st[3] = {1, 2, 3}, lo[3] = {1, 1, -1}, hi[3] = {0, 2, 2};
    jx_ints w = {win, 3}, s3 = {st, 3}, l3 = {lo, 3}, h3 = {hi, 3};
    jx_array *x = jt_array(JX_F64, JX_INTS(A, B, C), v), *tt = jt_array(JX_F64, JX_INTS(A, B, C), t);
    jx_array *g = sgather(tt, x, w, s3, l3, h3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int64_t n = jx_array_size(g);
    double sv[64];
    CU_ASSERT_FATAL(n <= 64 && n > 0);
    for (int64_t i = 0; i < n; i++) sv[i] = (double)((i * 37) % 11) - 5;
    jx_array *src = jt_array(JX_F64, (jx_ints){jx_array_shape(g), 3}, sv);
    jx_array *sc = scatter(src, x, w, s3, l3, h3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    double lhs = 0, rhs = 0;
    for (int64_t i = 0; i < n; i++) lhs += jx_array_get(g, i) * sv[i];
    for (int i = 0; i < A * B * C; i++) rhs += t[i] * jx_array_get(sc, i);
    CU_ASSERT_DOUBLE_EQUAL(lhs, rhs, 1e-9);
    CU_ASSERT(fabs(lhs) > 1);
    jx_array_release(sc);
    jx_array_release(src);
    jx_array_release(g);
    jx_array_release(tt);
    jx_array_release(x);
}

static void check_sag_err(win_args *a, const jx_aval *in, jx_status code, const char *msg) {
    jx_fn *f = jx_trace("bad", sag_body, a, 2, in, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, a->line));
}

static void test_gather_errors(void) {
    win_args a = {JX_WINDOW_MAX, JX_INTS(2, 2), JX_INTS(2, 2), JX_NOINTS, JX_NOINTS, 1, 0};
    jx_aval in[2] = {JX_AVAL(JX_F32, 2, 2), JX_AVAL(JX_F32, 4, 4)};
    check_sag_err(&a, in, JX_ERR_SHAPE, "select_and_gather_add: tangent f32[2,2] differs from operand f32[4,4]");
    in[0] = JX_AVAL(JX_F64, 4, 4);
    check_sag_err(&a, in, JX_ERR_DTYPE,
                  "select_and_gather_add: tangent and operand must be f32 or f64 of one dtype: f64[4,4], f32[4,4]");
    in[0] = in[1] = JX_AVAL(JX_I32, 4, 4);
    check_sag_err(&a, in, JX_ERR_DTYPE, "f32 or f64 of one dtype: i32[4,4], i32[4,4]");
    in[0] = in[1] = JX_AVAL(JX_F32, 4, 4);
    a.window = JX_INTS(2);
    check_sag_err(&a, in, JX_ERR_ARG, "select_and_gather_add: window (2) has 1 entries, expected 2 (one per operand dim): f32[4,4]");
}

/* ------------------------------------------------------------------ errors */

static void check_err(win_args *a, int nin, const jx_aval *in, jx_status code, const char *msg) {
    jx_fn *f = jx_trace("bad", win_body, a, nin, in, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, a->line));
}

static void test_window_errors(void) {
    jx_aval x = JX_AVAL(JX_F32, 1, 4, 4);
    win_args a = {JX_WINDOW_MAX, JX_INTS(2, 2), JX_NOINTS, JX_NOINTS, JX_NOINTS, 0, 0};
    check_err(&a, 1, &x, JX_ERR_ARG, "reduce_window_max: window (2,2) has 2 entries, expected 3 for f32[1,4,4]");
    a.window = JX_NOINTS;
    check_err(&a, 1, &x, JX_ERR_ARG, "window () has 0 entries, expected 3");
    a.window = JX_INTS(1, 0, 2);
    check_err(&a, 1, &x, JX_ERR_ARG, "reduce_window_max: window (1,0,2): entry 1 is not positive: f32[1,4,4]");
    a.window = JX_INTS(1, 2, 2);
    a.strides = JX_INTS(1, 2);
    check_err(&a, 1, &x, JX_ERR_ARG, "reduce_window_max: strides has 2 entries, expected 3 for f32[1,4,4]");
    a.strides = JX_INTS(1, -2, 2);
    check_err(&a, 1, &x, JX_ERR_ARG, "strides (1,-2,2): entry 1 is not positive");
    a.strides = JX_NOINTS;
    a.lo = JX_INTS(1);
    check_err(&a, 1, &x, JX_ERR_ARG, "pad_lo has 1 entries, expected 3");
    a.lo = JX_NOINTS;
    a.hi = JX_INTS(0, 0, 0, 0);
    check_err(&a, 1, &x, JX_ERR_ARG, "pad_hi has 4 entries, expected 3");
    a.hi = JX_NOINTS;
    a.kind = JX_WINDOW_SUM;
    jx_aval xi = JX_AVAL(JX_I32, 1, 4, 4);
    check_err(&a, 1, &xi, JX_ERR_DTYPE, "reduce_window_sum: operand must be f32 or f64: i32[1,4,4]");
    a.kind = JX_WINDOW_MIN;
    jx_aval xb = JX_AVAL(JX_BOOL, 1, 4, 4);
    check_err(&a, 1, &xb, JX_ERR_DTYPE, "reduce_window_min: operand must be f32 or f64 or an integer type: bool[1,4,4]");
    jx_aval xh = JX_AVAL(JX_F16, 1, 4, 4);
    check_err(&a, 1, &xh, JX_ERR_DTYPE, "operand must be f32 or f64 or an integer type: f16[1,4,4]");
    a.kind = (jx_window_kind)7;
    check_err(&a, 1, &x, JX_ERR_ARG, "reduce_window: unknown window kind 7");
}

static void test_scatter_errors(void) {
    win_args a = {JX_WINDOW_MAX, JX_INTS(2, 2), JX_INTS(2, 2), JX_NOINTS, JX_NOINTS, 1, 0};
    jx_aval in[2] = {JX_AVAL(JX_F32, 3, 2), JX_AVAL(JX_F32, 4, 4)};
    check_err(&a, 2, in, JX_ERR_SHAPE,
              "select_and_scatter_add: source f32[3,2] differs from the windowed shape f32[2,2] of operand f32[4,4]");
    in[0] = JX_AVAL(JX_F64, 2, 2);
    check_err(&a, 2, in, JX_ERR_DTYPE,
              "select_and_scatter_add: source and operand must be f32 or f64 of one dtype: f64[2,2], f32[4,4]");
    in[0] = JX_AVAL(JX_I32, 2, 2);
    in[1] = JX_AVAL(JX_I32, 4, 4);
    check_err(&a, 2, in, JX_ERR_DTYPE, "f32 or f64 of one dtype: i32[2,2], i32[4,4]");
    in[0] = JX_AVAL(JX_F32, 2, 2);
    in[1] = JX_AVAL(JX_F32, 4, 4);
    a.window = JX_INTS(2);
    check_err(&a, 2, in, JX_ERR_ARG, "select_and_scatter_add: window (2) has 1 entries, expected 2 for f32[4,4]");
    a.window = JX_INTS(2, 2);
    a.hi = JX_INTS(1);
    check_err(&a, 2, in, JX_ERR_ARG, "pad_hi has 1 entries, expected 2 for f32[4,4]");
}

/* The rules insist on explicit lists (an IR from the parser may lack them). */
static void test_window_rule_attrs(void) {
    jx__shape_rules_init();
    jx_aval in = JX_AVAL(JX_F64, 5), out;
    int64_t two = 2, one = 1, zero = 0;
    jx__attr attrs[4] = {jx__a_ints(JX_A_WINDOW, (jx_ints){&two, 1}), jx__a_ints(JX_A_STRIDES, (jx_ints){&one, 1}),
                         jx__a_ints(JX_A_LO, (jx_ints){&zero, 1}), jx__a_ints(JX_A_HI, (jx_ints){&zero, 1})};
    int nout = 0;
    jx__rule_err err = {JX_OK, {0}};
    jx__shape_rule rule = jx__shape_rules[JX_PRIM_REDUCE_WINDOW_SUM];
    CU_ASSERT_PTR_NOT_NULL_FATAL(rule);
    CU_ASSERT_EQUAL(rule(1, &in, 4, attrs, 1, &out, &nout, &err), JX_OK);
    CU_ASSERT(nout == 1 && out.rank == 1 && out.shape[0] == 4);
    CU_ASSERT_EQUAL(rule(1, &in, 3, attrs, 1, &out, &nout, &err), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(err.msg, "attribute hi (a list of 1 ints) is missing: f64[5]");
    attrs[0] = jx__a_int(JX_A_WINDOW, 2);
    CU_ASSERT_EQUAL(rule(1, &in, 4, attrs, 1, &out, &nout, &err), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(err.msg, "attribute window (a list of 1 ints) is missing: f64[5]");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"max/min pool 2x2 stride 2", test_max_pool_2x2},
        {"avg pool via window sums", test_avg_pool},
        {"padding is each reduction's identity", test_padding_identity},
        {"integer windows pad with the type's limits", test_int_windows},
        {"NaN and infinities", test_nan_inf},
        {"rank 0 and size-0 dims", test_window_edges},
        {"3-D windows vs reference", test_window_vs_reference},
        {"select_and_scatter_add: overlaps and ties", test_scatter_overlap_ties},
        {"select_and_scatter_add: max pool gradient", test_scatter_pool_grad},
        {"select_and_scatter_add: NaN and all-padding windows", test_scatter_nan_and_empty},
        {"select_and_gather_add: overlaps, ties, NaN", test_gather_overlap_ties},
        {"select_and_gather_add: pooling and edges", test_gather_pool_and_edges},
        {"select_and_gather_add is scatter's transpose", test_gather_scatter_transpose},
        {"select_and_gather_add errors name the line", test_gather_errors},
        {"reduce_window errors name the line", test_window_errors},
        {"select_and_scatter_add errors name the line", test_scatter_errors},
        {"window rules want explicit attributes", test_window_rule_attrs},
        CU_TEST_INFO_NULL,
    };
    return jt_run("window", tests);
}
