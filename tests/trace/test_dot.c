/* test_dot.c: dot_general (batch dims, several contracting dims in any order, rank 0,
 * empty contractions, wrapping ints) against a naive loop, numpy matmul (broadcast batch
 * dims, rank-1 operands), and the error messages with the caller's line. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/trace/ir.h"
#include "harness.h"

typedef struct dcase {
    jx_ints lc, rc, lb, rb;
    int matmul; /* 1: jx_matmul instead of jx_dot_general */
} dcase;
#define DOT(lc_, rc_, lb_, rb_) ((dcase){.lc = lc_, .rc = rc_, .lb = lb_, .rb = rb_})
#define MATMUL ((dcase){.matmul = 1})

static int op_line;

static void body(jx_val *out, const jx_val *in, void *user) {
    const dcase *c = user;
    if (c->matmul) {
        op_line = __LINE__; out[0] = jx_matmul(in[0], in[1]);
    } else {
        op_line = __LINE__; out[0] = jx_dot_general(in[0], in[1], c->lc, c->rc, c->lb, c->rb);
    }
}

/* Deterministic test data: small multiples of 1/4, exact in every float type. */
static jx_array *data(jx_dtype t, jx_ints shape, int seed) {
    jx_aval a = jx_aval_make(t, shape);
    int64_t n = jx_aval_size(&a);
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = (double)((i * 37 + seed * 11) % 17 - 8) / 4.0;
    jx_array *d = jx_array_new(JX_F64, shape, v);
    jx_array *x = jx_array_astype(d, t);
    jx_array_release(d);
    free(v);
    return x;
}

/* Traces case c on l and r (both released) and evaluates it; NULL on failure. */
static jx_array *run(dcase c, jx_array *l, jx_array *r) {
    jx_array *in[2] = {l, r};
    return jt_eval1(body, &c, 2, in);
}

/* Multi-index of flat index f in shape s (rank r). */
static void unflat(int64_t f, const int64_t *s, int r, int64_t *idx) {
    for (int d = r - 1; d >= 0; d--) {
        idx[d] = s[d] ? f % s[d] : 0;
        f = s[d] ? f / s[d] : 0;
    }
}
static int64_t flat(const int64_t *idx, const int64_t *s, int r) {
    int64_t f = 0;
    for (int d = 0; d < r; d++) f = f * s[d] + idx[d];
    return f;
}
static bool in_list(jx_ints v, int d) {
    for (int i = 0; i < v.n; i++)
        if (v.v[i] == d) return true;
    return false;
}

/* lax.dot_general written out: every output element sums over every contraction index.
 * Returns the output values (malloc'd) and writes the output aval. */
static double *naive(const jx_array *l, const jx_array *r, dcase c, jx_aval *oa) {
    jx_aval la = jx_array_aval(l), ra = jx_array_aval(r);
    int64_t nd[4][JX_MAX_RANK];
    jx_ints *lists[4] = {&c.lc, &c.rc, &c.lb, &c.rb};
    for (int k = 0; k < 4; k++) { /* negative dims count from the end */
        int rank = k % 2 ? ra.rank : la.rank;
        for (int i = 0; i < lists[k]->n; i++) nd[k][i] = lists[k]->v[i] < 0 ? lists[k]->v[i] + rank : lists[k]->v[i];
        lists[k]->v = nd[k];
    }
    int lfree[JX_MAX_RANK], rfree[JX_MAX_RANK], nlf = 0, nrf = 0;
    for (int d = 0; d < la.rank; d++)
        if (!in_list(c.lc, d) && !in_list(c.lb, d)) lfree[nlf++] = d;
    for (int d = 0; d < ra.rank; d++)
        if (!in_list(c.rc, d) && !in_list(c.rb, d)) rfree[nrf++] = d;
    *oa = jx_aval_make(la.dtype, JX_NOINTS);
    for (int i = 0; i < c.lb.n; i++) oa->shape[oa->rank++] = la.shape[c.lb.v[i]];
    for (int i = 0; i < nlf; i++) oa->shape[oa->rank++] = la.shape[lfree[i]];
    for (int i = 0; i < nrf; i++) oa->shape[oa->rank++] = ra.shape[rfree[i]];
    int64_t csz[JX_MAX_RANK], nc = 1, no = jx_aval_size(oa);
    for (int i = 0; i < c.lc.n; i++) csz[i] = la.shape[c.lc.v[i]], nc *= csz[i];
    double *out = calloc((size_t)(no ? no : 1), sizeof *out);
    for (int64_t o = 0; o < no; o++) {
        int64_t oi[JX_MAX_RANK], li[JX_MAX_RANK] = {0}, ri[JX_MAX_RANK] = {0}, ci[JX_MAX_RANK];
        unflat(o, oa->shape, oa->rank, oi);
        int k = 0;
        for (int i = 0; i < c.lb.n; i++, k++) li[c.lb.v[i]] = ri[c.rb.v[i]] = oi[k];
        for (int i = 0; i < nlf; i++, k++) li[lfree[i]] = oi[k];
        for (int i = 0; i < nrf; i++, k++) ri[rfree[i]] = oi[k];
        for (int64_t q = 0; q < nc; q++) {
            unflat(q, csz, c.lc.n, ci);
            for (int i = 0; i < c.lc.n; i++) li[c.lc.v[i]] = ri[c.rc.v[i]] = ci[i];
            out[o] += jx_array_get(l, flat(li, la.shape, la.rank)) * jx_array_get(r, flat(ri, ra.shape, ra.rank));
        }
    }
    return out;
}

/* Runs dot_general case c on l and r and compares with the naive loop. */
static void check_dot(int line, dcase c, jx_array *l, jx_array *r, double tol) {
    jx_aval want_aval;
    double *want = naive(l, r, c, &want_aval);
    jx_array *y = run(c, l, r);
    CU_ASSERT_PTR_NOT_NULL(y);
    jx_aval got = y ? jx_array_aval(y) : want_aval;
    if (!jx_aval_equal(&got, &want_aval)) {
        char b1[64], b2[64];
        fprintf(stderr, "\n  line %d: got %s, want %s\n", line, jx_aval_str(&got, b1, 64), jx_aval_str(&want_aval, b2, 64));
    }
    CU_ASSERT(jx_aval_equal(&got, &want_aval));
    double e = jt_max_err(y, want, jx_aval_size(&want_aval));
    if (!(e <= tol)) fprintf(stderr, "\n  line %d: error %g\n", line, e);
    CU_ASSERT(e <= tol);
    jx_array_release(y);
    free(want);
}

#define I(...) JX_INTS(__VA_ARGS__)
#define NO JX_NOINTS

static void test_plain(void) {
    dcase mm = DOT(I(1), I(0), NO, NO);
    check_dot(__LINE__, mm, data(JX_F32, I(3, 4), 1), data(JX_F32, I(4, 5), 2), 1e-6);
    check_dot(__LINE__, mm, data(JX_F64, I(3, 4), 3), data(JX_F64, I(4, 5), 4), 0);
    check_dot(__LINE__, mm, data(JX_I32, I(2, 7), 5), data(JX_I32, I(7, 3), 6), 0);
    check_dot(__LINE__, mm, data(JX_I64, I(5, 1), 5), data(JX_I64, I(1, 3), 6), 0);
    /* a^T b: contracting the leading dims */
    check_dot(__LINE__, DOT(I(0), I(0), NO, NO), data(JX_F64, I(4, 3), 1), data(JX_F64, I(4, 5), 2), 0);
    /* negative dims count from the end (normalised by the wrapper) */
    check_dot(__LINE__, DOT(I(-1), I(-2), NO, NO), data(JX_F32, I(3, 4), 1), data(JX_F32, I(4, 5), 2), 1e-6);
    /* a larger product, with f32 accumulation */
    check_dot(__LINE__, mm, data(JX_F32, I(33, 70), 7), data(JX_F32, I(70, 19), 8), 1e-5);
}

static void test_batch_and_multi_contract(void) {
    /* batch dim 0 / 1, two contracting dims paired in list order, not sorted order */
    check_dot(__LINE__, DOT(I(2, 3), I(0, 2), I(0), I(1)), data(JX_F64, I(2, 3, 4, 5), 1),
              data(JX_F64, I(4, 2, 5, 6), 2), 0);
    check_dot(__LINE__, DOT(I(3, 2), I(0, 2), I(0), I(1)), data(JX_F64, I(2, 3, 4, 5), 1),
              data(JX_F64, I(5, 2, 4, 6), 2), 0);
    /* batch dims not leading, two of them, out of order */
    check_dot(__LINE__, DOT(I(0), I(2), I(3, 1), I(0, 1)), data(JX_F32, I(4, 2, 3, 5), 3),
              data(JX_F32, I(5, 2, 4, 6), 4), 1e-6);
    /* batch only: an elementwise product */
    check_dot(__LINE__, DOT(NO, NO, I(0), I(0)), data(JX_I32, I(6), 3), data(JX_I32, I(6), 4), 0);
}

static void test_rank0_outer_empty(void) {
    check_dot(__LINE__, DOT(NO, NO, NO, NO), data(JX_F32, NO, 3), data(JX_F32, NO, 5), 0);
    check_dot(__LINE__, DOT(NO, NO, NO, NO), data(JX_F64, I(3), 1), data(JX_F64, I(4), 2), 0);
    check_dot(__LINE__, DOT(NO, NO, NO, NO), data(JX_F64, NO, 1), data(JX_F64, I(2, 2), 2), 0);
    /* contracting a size-0 dim gives zeros; a size-0 free dim gives nothing */
    check_dot(__LINE__, DOT(I(1), I(0), NO, NO), data(JX_F32, I(2, 0), 1), data(JX_F32, I(0, 3), 2), 0);
    check_dot(__LINE__, DOT(I(1), I(0), NO, NO), data(JX_F32, I(0, 4), 1), data(JX_F32, I(4, 3), 2), 0);
}

static jx_val lit_scale(jx_val x) { return jx_dot_general(jx_scalar(JX_F32, 2.5), x, NO, NO, NO, NO); }
static void scale_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = lit_scale(in[0]);
}

/* A literal operand arrives in the interpreter as a rank-0 array. */
static void test_literal_operand(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_array *x = data(JX_F32, I(3), 1), *y = NULL;
    CU_ASSERT_EQUAL(jt_trace_eval(scale_body, NULL, 1, &a, &x, 1, &y), JX_OK);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = 2.5 * jx_array_get(x, i);
    JT_ASSERT_ARRAY(y, want, 3, 0);
    jx_array_release(x);
    jx_array_release(y);
}

/* Integer products wrap like two's complement (no UB). */
static void test_int_wrap(void) {
    int32_t a[2] = {100000, 3}, b[2] = {100000, INT32_MAX};
    jx_array *y = run(DOT(I(0), I(0), NO, NO), jx_array_new(JX_I32, I(2), a), jx_array_new(JX_I32, I(2), b));
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    uint32_t want = (uint32_t)100000 * 100000u + 3u * (uint32_t)INT32_MAX;
    CU_ASSERT_EQUAL(*(const uint32_t *)jx_array_data(y), want);
    jx_array_release(y);
    int64_t c[1] = {INT64_MAX}, d[1] = {3};
    y = run(DOT(I(0), I(0), NO, NO), jx_array_new(JX_I64, I(1), c), jx_array_new(JX_I64, I(1), d));
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(*(const int64_t *)jx_array_data(y), INT64_MAX - 2); /* 3 * (2^63 - 1) mod 2^64 */
    jx_array_release(y);
}

static void test_matmul(void) {
    dcase mm = DOT(I(1), I(0), NO, NO);
    /* each matmul result equals a loop over the broadcast batch of 2-d products */
    jx_array *y = run(MATMUL, data(JX_F32, I(3, 4), 1), data(JX_F32, I(4, 5), 2));
    jx_array *l = data(JX_F32, I(3, 4), 1), *r = data(JX_F32, I(4, 5), 2);
    jx_aval oa;
    double *want = naive(l, r, mm, &oa);
    JT_ASSERT_ARRAY(y, want, 15, 1e-6);
    free(want);
    jx_array_release(l);
    jx_array_release(r);
    jx_array_release(y);

    struct {
        jx_ints a, b, out;
    } cases[] = {
        {I(2, 3, 4), I(4, 5), I(2, 3, 5)},       {I(3, 4), I(2, 4, 5), I(2, 3, 5)},
        {I(2, 1, 3, 4), I(5, 4, 6), I(2, 5, 3, 6)}, {I(4), I(4), NO},
        {I(4), I(4, 5), I(5)},                  {I(4), I(2, 4, 5), I(2, 5)},
        {I(2, 3, 4), I(4), I(2, 3)},            {I(3, 4), I(4), I(3)},
        {I(2, 3, 4), I(2, 4, 5), I(2, 3, 5)},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        jx_array *a = data(JX_F64, cases[t].a, 1), *b = data(JX_F64, cases[t].b, 2);
        y = run(MATMUL, jx_array_retain(a), jx_array_retain(b));
        CU_ASSERT_PTR_NOT_NULL(y);
        jx_aval want_av = jx_aval_make(JX_F64, cases[t].out), got = y ? jx_array_aval(y) : want_av;
        CU_ASSERT(y && jx_aval_equal(&got, &want_av));
        /* numpy semantics element by element: out[..., i, j] = sum_k a[..., i, k] b[..., k, j] */
        jx_aval aa = jx_array_aval(a), ba = jx_array_aval(b);
        int ra = aa.rank, rb = ba.rank, ro = want_av.rank;
        int64_t k = aa.shape[ra - 1];
        double worst = 0;
        for (int64_t o = 0; y && o < jx_aval_size(&want_av); o++) {
            int64_t oi[JX_MAX_RANK], ai[JX_MAX_RANK], bi[JX_MAX_RANK];
            unflat(o, want_av.shape, ro, oi);
            /* output dims: batch..., [i if a is a matrix], [j if b is a matrix] */
            int nbo = ro - (ra > 1) - (rb > 1);
            int64_t i = ra > 1 ? oi[nbo] : 0, j = rb > 1 ? oi[ro - 1] : 0;
            for (int d = 0; d < ra - 2; d++) ai[d] = aa.shape[d] == 1 ? 0 : oi[nbo - (ra - 2) + d];
            for (int d = 0; d < rb - 2; d++) bi[d] = ba.shape[d] == 1 ? 0 : oi[nbo - (rb - 2) + d];
            double s = 0;
            for (int64_t p = 0; p < k; p++) {
                if (ra > 1) ai[ra - 2] = i, ai[ra - 1] = p; else ai[0] = p;
                if (rb > 1) bi[rb - 2] = p, bi[rb - 1] = j; else bi[0] = p;
                s += jx_array_get(a, flat(ai, aa.shape, ra)) * jx_array_get(b, flat(bi, ba.shape, rb));
            }
            double e = fabs(jx_array_get(y, o) - s);
            if (e > worst) worst = e;
        }
        if (worst != 0) fprintf(stderr, "\n  matmul case %zu: error %g\n", t, worst);
        CU_ASSERT_EQUAL(worst, 0);
        jx_array_release(a);
        jx_array_release(b);
        jx_array_release(y);
    }
}

/* Traces case c on avals l and r expecting failure with code and message s at op_line. */
static void check_err(dcase c, jx_aval l, jx_aval r, jx_status code, const char *s) {
    jx_aval av[2] = {l, r};
    jx_fn *f = jx_trace("bad", body, &c, 2, av, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(s);
    JT_ASSERT_ERR(jt_place(__FILE__, op_line));
}

/* f16 and bf16: multiplied in f32 and rounded once, as XLA's CPU backend does (the IR
 * holds converts around an f32 dot_general); errors name the operands' own dtype. (jx
 * differentiates no half-precision value: they are storage types.) */
static void half_mm(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_matmul(jx_convert(in[0], (jx_dtype)(intptr_t)user), jx_convert(in[1], (jx_dtype)(intptr_t)user));
}
static void test_half(void) {
    jx_dtype types[2] = {JX_BF16, JX_F16};
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 5), JX_AVAL(JX_F32, 5, 2)};
    /* values with more bits than bf16 holds: 1 + k/512 */
    jx_array *a = jx_array_zeros(JX_F32, JX_INTS(3, 5)), *b = jx_array_zeros(JX_F32, JX_INTS(5, 2));
    for (int i = 0; i < 15; i++) ((float *)jx_array_data_mut(a))[i] = 1 + (float)(i * 37 % 29) / 512;
    for (int i = 0; i < 10; i++) ((float *)jx_array_data_mut(b))[i] = 1 - (float)(i * 11 % 23) / 1024;
    for (int k = 0; k < 2; k++) {
        void *u = (void *)(intptr_t)types[k];
        jx_array *in[2] = {a, b}, *got = NULL, *ha = NULL, *hb = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_trace_eval(half_mm, u, 2, av, in, 1, &got), JX_OK);
        CU_ASSERT_EQUAL(jx_array_aval(got).dtype, types[k]);
        /* the operands as the half type holds them, multiplied in double, rounded once: within
         * one ulp of the half type (2^-7 relative for bf16, 2^-10 for f16) */
        ha = jx_array_astype(a, types[k]), hb = jx_array_astype(b, types[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ha);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hb);
        double ulp = types[k] == JX_BF16 ? 0x1p-7 : 0x1p-10;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) {
                double acc = 0;
                for (int p = 0; p < 5; p++) acc += jx_array_get(ha, i * 5 + p) * jx_array_get(hb, p * 2 + j);
                CU_ASSERT(fabs(jx_array_get(got, i * 2 + j) - acc) <= ulp * fabs(acc));
            }
        jx_array_release(ha), jx_array_release(hb), jx_array_release(got);
        /* the IR: the operands converted to f32, one f32 dot_general, its result converted back */
        jx_aval hv[2] = {JX_AVAL(types[k], 3, 5), JX_AVAL(types[k], 5, 2)};
        dcase c = MATMUL;
        jx_fn *f = jx_trace("half", body, &c, 2, hv, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 4);
        int dots = 0, converts = 0;
        for (int q = 0; q < f->neqn; q++) {
            dots += f->eqns[q].prim == JX_PRIM_DOT_GENERAL && f->vars[f->eqns[q].out[0]].dtype == JX_F32;
            converts += f->eqns[q].prim == JX_PRIM_CONVERT;
        }
        CU_ASSERT_EQUAL(dots, 1);
        CU_ASSERT_EQUAL(converts, 3);
        CU_ASSERT_EQUAL(jx_fn_output_aval(f, 0).dtype, types[k]);
        jx_fn_release(f);
    }
    check_err(DOT(I(1), I(0), NO, NO), JX_AVAL(JX_BF16, 2, 3), JX_AVAL(JX_BF16, 4, 4), JX_ERR_SHAPE,
              "dot_general: contracting dimensions differ: bf16[2,3] . bf16[4,4]");
    check_err(DOT(I(1), I(0), NO, NO), JX_AVAL(JX_F16, 2, 3), JX_AVAL(JX_BF16, 3, 4), JX_ERR_DTYPE,
              "dot_general: operand dtypes differ: f16[2,3] . bf16[3,4]");
    jx_array_release(a), jx_array_release(b);
}

static void test_errors(void) {
    dcase mm = DOT(I(1), I(0), NO, NO);
    jx_aval f2 = JX_AVAL(JX_F32, 2, 3), f3 = JX_AVAL(JX_F32, 3, 4);
    check_err(mm, JX_AVAL(JX_F32, 32, 784), JX_AVAL(JX_F32, 128, 10), JX_ERR_SHAPE,
              "dot_general: contracting dimensions differ: f32[32,784] . f32[128,10]");
    check_err(MATMUL, JX_AVAL(JX_F32, 32, 784), JX_AVAL(JX_F32, 128, 10), JX_ERR_SHAPE,
              "dot_general: contracting dimensions differ: f32[32,784] . f32[128,10]");
    check_err(mm, f2, JX_AVAL(JX_F64, 3, 4), JX_ERR_DTYPE, "dot_general: operand dtypes differ: f32[2,3] . f64[3,4]");
    check_err(mm, JX_AVAL(JX_U8, 2, 3), JX_AVAL(JX_U8, 3, 4), JX_ERR_DTYPE,
              "dot_general: dtype u8 not supported (f32, f64, i32, i64): u8[2,3] . u8[3,4]");
    check_err(DOT(I(2), I(0), NO, NO), f2, f3, JX_ERR_AXIS,
              "dot_general: lhs contracting dimension 2 out of range for f32[2,3]");
    check_err(DOT(I(1), I(0), I(1), I(1)), f2, f3, JX_ERR_AXIS, "dot_general: lhs dimension 1 repeated");
    check_err(DOT(I(1), I(0, 0), NO, NO), f2, f3, JX_ERR_ARG, "contracting dimension lists differ in length: (1) and (0,0)");
    check_err(DOT(I(2), I(1), I(0), I(0)), JX_AVAL(JX_F32, 2, 3, 4), JX_AVAL(JX_F32, 5, 4, 6), JX_ERR_SHAPE,
              "dot_general: batch dimensions differ: f32[2,3,4] . f32[5,4,6]");
    check_err(DOT(I(1), I(-3), NO, NO), f2, f3, JX_ERR_AXIS, "rhs contracting dimension -3 out of range for f32[3,4]");
    check_err(DOT(NO, NO, NO, NO), JX_AVAL(JX_F32, 1, 1, 1, 1, 1), JX_AVAL(JX_F32, 1, 1, 1, 1), JX_ERR_SHAPE,
              "would have rank above 8");
    check_err(MATMUL, JX_SCALAR(JX_F32), f3, JX_ERR_SHAPE, "matmul: operands must have rank >= 1: f32[] @ f32[3,4]");
    check_err(MATMUL, JX_AVAL(JX_F32, 2, 2, 3), JX_AVAL(JX_F32, 3, 3, 4), JX_ERR_SHAPE,
              "matmul: batch dimensions do not broadcast: f32[2,2,3] @ f32[3,3,4]");
    check_err(MATMUL, JX_AVAL(JX_F32, 2, 2, 3), JX_AVAL(JX_F32, 2, 4, 4), JX_ERR_SHAPE,
              "matmul: contracting dimensions differ: f32[2,2,3] @ f32[2,4,4]");
    check_err(MATMUL, JX_AVAL(JX_F32, 2, 2, 3), JX_AVAL(JX_I32, 2, 3, 4), JX_ERR_DTYPE,
              "matmul: operand dtypes differ: f32[2,2,3] @ i32[2,3,4]");
    check_err(MATMUL, JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 4), JX_ERR_SHAPE,
              "dot_general: contracting dimensions differ: f32[3] . f32[4]");
}

static void test_ir(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 4, 3), JX_AVAL(JX_F32, 3, 5)};
    dcase c = MATMUL;
    jx_fn *f = jx_trace("mm", body, &c, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 1); /* no broadcast needed against a matrix */
    jx_aval o = jx_fn_output_aval(f, 0), want = JX_AVAL(JX_F32, 2, 4, 5);
    CU_ASSERT(jx_aval_equal(&o, &want));
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"plain contractions against a loop", test_plain},
        {"batch dims and several contracting dims", test_batch_and_multi_contract},
        {"rank 0, outer products, empty contractions", test_rank0_outer_empty},
        {"literal operands", test_literal_operand},
        {"integer wrap-around", test_int_wrap},
        {"matmul broadcasting and rank-1 operands", test_matmul},
        {"f16 and bf16: in f32, rounded once; errors", test_half},
        {"errors name the caller's line", test_errors},
        {"matmul IR", test_ir},
        CU_TEST_INFO_NULL,
    };
    return jt_run("dot_general", tests);
}
