/* test_conv.c: conv_general_dilated: the interpreter against a naive reference written
 * here (1-D to 3-D, strides, padding incl. negative, both dilations, groups), the
 * shapes and adjointness of the convolutions that make its gradients, and every error
 * with the caller's line. */
#include <stdlib.h>

#include "harness.h"
#include "ir.h"

/* ------------------------------------------------------------------ a naive reference */

typedef struct conv_case {
    int nsp;
    int64_t n, c, o, groups;
    int64_t in[3], k[3];
    int64_t stride[3], lo[3], hi[3], ldil[3], rdil[3];
} conv_case;

static int64_t dilate(int64_t n, int64_t d) { return n ? (n - 1) * d + 1 : 0; }

static int64_t ref_out_dim(const conv_case *cc, int d) {
    int64_t padded = dilate(cc->in[d], cc->ldil[d]) + cc->lo[d] + cc->hi[d];
    int64_t dk = dilate(cc->k[d], cc->rdil[d]);
    return padded < dk ? 0 : (padded - dk) / cc->stride[d] + 1;
}

static int64_t prod(const int64_t *v, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= v[i];
    return p;
}

/* x (N, C, in...), w (O, C/groups, k...) -> y (N, O, out...), straight from the
 * definition: tap t of output j reads dilated position j*stride + t*rdil - lo. */
static void ref_conv(const conv_case *cc, const double *x, const double *w, double *y) {
    int64_t out[3];
    for (int d = 0; d < cc->nsp; d++) out[d] = ref_out_dim(cc, d);
    int64_t isz = prod(cc->in, cc->nsp), ksz = prod(cc->k, cc->nsp), osz = prod(out, cc->nsp);
    int64_t cg = cc->c / cc->groups, og = cc->o / cc->groups;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t o = 0; o < cc->o; o++)
            for (int64_t j = 0; j < osz; j++) {
                double s = 0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t t = 0; t < ksz; t++) {
                        int64_t jr = j, tr = t, flat = 0, scale = 1;
                        int ok = 1;
                        for (int d = cc->nsp - 1; d >= 0; d--) {
                            int64_t oj = jr % out[d], kt = tr % cc->k[d];
                            jr /= out[d];
                            tr /= cc->k[d];
                            int64_t p = oj * cc->stride[d] + kt * cc->rdil[d] - cc->lo[d];
                            if (p < 0 || p % cc->ldil[d] || p / cc->ldil[d] >= cc->in[d]) ok = 0;
                            else flat += p / cc->ldil[d] * scale;
                            scale *= cc->in[d];
                        }
                        if (ok) s += x[(n * cc->c + (o / og) * cg + c) * isz + flat] * w[(o * cg + c) * ksz + t];
                    }
                y[(n * cc->o + o) * osz + j] = s;
            }
}

/* Deterministic values in [-2, 2] in steps of 1/8: exact in f32, so the f32 results
 * differ from the reference by rounding only. */
static void fill(double *v, int64_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (double)((int)((s >> 16) % 33) - 16) / 8.0;
    }
}

/* ------------------------------------------------------------------ running jx_conv */

static void conv_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
}

/* jx_conv on host data (dtype dt) of shapes xs and ws (rank each); NULL on error. */
static jx_array *run_conv(jx_dtype dt, const double *x, const int64_t *xs, const double *w,
                          const int64_t *ws, int rank, const jx_conv_opts *opts) {
    jx_array *xd = jx_array_new(JX_F64, (jx_ints){xs, rank}, x);
    jx_array *wd = jx_array_new(JX_F64, (jx_ints){ws, rank}, w);
    jx_array *in[2] = {jx_array_astype(xd, dt), jx_array_astype(wd, dt)};
    jx_aval av[2] = {jx_array_aval(in[0]), jx_array_aval(in[1])};
    jx_array *y = NULL;
    jx_status st = jt_trace_eval(conv_body, (void *)opts, 2, av, in, 1, &y);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    jx_array_release(xd);
    jx_array_release(wd);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    return y;
}

/* Runs one case in dtype dt against ref_conv. */
static void check_case(const conv_case *cc, jx_dtype dt, double tol) {
    int rank = cc->nsp + 2;
    int64_t xs[5] = {cc->n, cc->c}, ws[5] = {cc->o, cc->c / cc->groups}, ys[5] = {cc->n, cc->o};
    for (int d = 0; d < cc->nsp; d++) {
        xs[2 + d] = cc->in[d];
        ws[2 + d] = cc->k[d];
        ys[2 + d] = ref_out_dim(cc, d);
    }
    int64_t nx = prod(xs, rank), nw = prod(ws, rank), ny = prod(ys, rank);
    double *x = malloc(sizeof *x * (size_t)(nx + 1)), *w = malloc(sizeof *w * (size_t)(nw + 1));
    double *want = malloc(sizeof *want * (size_t)(ny + 1));
    fill(x, nx, 1);
    fill(w, nw, 2);
    ref_conv(cc, x, w, want);
    jx_conv_opts o = {
        .strides = {cc->stride, cc->nsp}, .pad_lo = {cc->lo, cc->nsp}, .pad_hi = {cc->hi, cc->nsp},
        .lhs_dilation = {cc->ldil, cc->nsp}, .rhs_dilation = {cc->rdil, cc->nsp},
        .feature_groups = cc->groups,
    };
    jx_array *y = run_conv(dt, x, xs, w, ws, rank, &o);
    CU_ASSERT_PTR_NOT_NULL(y);
    if (y) {
        jx_aval want_av = jx_aval_make(dt, (jx_ints){ys, rank}), got = jx_array_aval(y);
        CU_ASSERT(jx_aval_equal(&got, &want_av));
        JT_ASSERT_ARRAY(y, want, ny, tol);
    }
    jx_array_release(y);
    free(x);
    free(w);
    free(want);
}

static void check_both(const conv_case *cc) {
    check_case(cc, JX_F64, 1e-12);
    check_case(cc, JX_F32, 1e-5);
}

/* ------------------------------------------------------------------ values */

/* Hand-computed, so the reference itself is checked: x = [1,2,3,4], w = [1,10]. */
static void test_conv_by_hand(void) {
    double x[4] = {1, 2, 3, 4}, w[2] = {1, 10};
    int64_t xs[3] = {1, 1, 4}, ws[3] = {1, 1, 2};
    jx_array *y = run_conv(JX_F32, x, xs, w, ws, 3, NULL);
    double plain[3] = {21, 32, 43};
    JT_ASSERT_ARRAY(y, plain, 3, 0);
    jx_array_release(y);
    /* lhs_dilation 2: [1,0,2,0,3,0,4] */
    jx_conv_opts o = {.lhs_dilation = JX_INTS(2)};
    y = run_conv(JX_F32, x, xs, w, ws, 3, &o);
    double dil[6] = {1, 20, 2, 30, 3, 40};
    JT_ASSERT_ARRAY(y, dil, 6, 0);
    jx_array_release(y);
    /* rhs_dilation 2, stride 2, lo 1, hi -1: taps 0 and 2 of [0,1,2,3] */
    jx_conv_opts o2 = {.rhs_dilation = JX_INTS(2), .strides = JX_INTS(2), .pad_lo = JX_INTS(1),
                       .pad_hi = JX_INTS(-1)};
    y = run_conv(JX_F64, x, xs, w, ws, 3, &o2);
    double atrous[1] = {0 * 1 + 2 * 10};
    CU_ASSERT_EQUAL(jx_array_shape(y)[2], 1);
    JT_ASSERT_ARRAY(y, atrous, 1, 0);
    jx_array_release(y);
}

static void test_conv_1d(void) {
    conv_case a = {1, 2, 3, 4, 1, {11}, {3}, {2}, {1}, {2}, {1}, {1}};
    check_both(&a);
    conv_case neg = {1, 2, 2, 3, 1, {12}, {3}, {1}, {-2}, {-1}, {1}, {2}};
    check_both(&neg);
    conv_case grouped = {1, 1, 6, 4, 2, {9}, {4}, {3}, {2}, {0}, {2}, {1}};
    check_both(&grouped);
}

static void test_conv_2d(void) {
    conv_case a = {2, 2, 4, 6, 2, {7, 6}, {3, 2}, {2, 1}, {1, 0}, {1, -1}, {1, 2}, {2, 1}};
    check_both(&a);
    conv_case same = {2, 2, 3, 5, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
    check_both(&same);
    /* depthwise with channel multiplier 2 */
    conv_case dw = {2, 2, 4, 8, 4, {6, 5}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
    check_both(&dw);
    /* transposed: lhs_dilation 2 with full padding */
    conv_case tr = {2, 1, 3, 2, 1, {4, 5}, {3, 3}, {1, 1}, {2, 2}, {2, 3}, {2, 2}, {1, 1}};
    check_both(&tr);
}

static void test_conv_3d(void) {
    conv_case a = {3, 1, 2, 3, 1, {5, 4, 6}, {2, 3, 2}, {1, 2, 2}, {0, 1, -1}, {1, 1, 0}, {2, 1, 1}, {1, 1, 2}};
    check_both(&a);
    conv_case g = {3, 2, 4, 4, 4, {3, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {1, 1, 1}};
    check_both(&g);
}

/* Size-0 batch, channels and output dims give empty or zero results. */
static void test_conv_empty(void) {
    conv_case nobatch = {1, 0, 2, 3, 1, {5}, {2}, {1}, {0}, {0}, {1}, {1}};
    check_case(&nobatch, JX_F32, 0);
    conv_case nochan = {1, 2, 0, 3, 1, {5}, {2}, {1}, {0}, {0}, {1}, {1}};
    check_case(&nochan, JX_F64, 0); /* sums of nothing: zeros */
    conv_case cropped = {2, 1, 1, 1, 1, {4, 4}, {3, 3}, {1, 1}, {-2, 0}, {0, 0}, {1, 1}, {1, 1}};
    CU_ASSERT_EQUAL(ref_out_dim(&cropped, 0), 0);
    check_case(&cropped, JX_F32, 0);
}

/* A 3x3 conv of (8,16,32,32) with 32 output channels on ones: each output counts the
 * taps inside the image times 16 channels. (It must also be fast: the reference.) */
static void test_conv_ones(void) {
    jx_array *x = jx_array_ones(JX_F32, JX_INTS(8, 16, 32, 32));
    jx_array *w = jx_array_ones(JX_F32, JX_INTS(32, 16, 3, 3));
    jx_array *in[2] = {x, w}, *y = NULL;
    jx_aval av[2] = {jx_array_aval(x), jx_array_aval(w)};
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    CU_ASSERT_EQUAL_FATAL(jt_trace_eval(conv_body, &o, 2, av, in, 1, &y), JX_OK);
    CU_ASSERT_EQUAL(jx_array_size(y), 8 * 32 * 32 * 32);
    CU_ASSERT_EQUAL(jx_array_get(y, 0), 64);       /* corner */
    CU_ASSERT_EQUAL(jx_array_get(y, 1), 96);       /* edge */
    CU_ASSERT_EQUAL(jx_array_get(y, 33), 144);     /* interior */
    CU_ASSERT_EQUAL(jx_array_get(y, 8 * 32 * 32 * 32 - 1), 64);
    jx_array_release(x);
    jx_array_release(w);
    jx_array_release(y);
}

/* ------------------------------------------------------------------ gradient identities */

/* (a, b, rest...) -> (b, a, rest...) */
static void swap01(const double *src, double *dst, int64_t a, int64_t b, int64_t rest) {
    for (int64_t i = 0; i < a; i++)
        for (int64_t j = 0; j < b; j++)
            memcpy(dst + (j * a + i) * rest, src + (i * b + j) * rest, sizeof *dst * (size_t)rest);
}

static double dotv(const double *a, const jx_array *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * jx_array_get(b, i);
    return s;
}

/* The vjp of y = conv(x, w) is two more convolutions: dx is a transposed conv of dy
 * with the flipped, swapped kernel (lhs_dilation = stride) and has x's shape; dw is a
 * conv of x by dy with batch as the channel (rhs_dilation = stride) and has w's. Both
 * must satisfy <y, dy> = <x, dx> = <w, dw>. */
static void test_conv_gradient_identities(void) {
    enum { N = 2, C = 3, O = 4, H = 9, W = 7, KH = 3, KW = 2 };
    int64_t s[2] = {2, 1}, lo[2] = {1, 0}, hi[2] = {2, 1}, rd[2] = {1, 2}, k[2] = {KH, KW}, in[2] = {H, W};
    int64_t xs[4] = {N, C, H, W}, ws[4] = {O, C, KH, KW};
    double x[N * C * H * W], w[O * C * KH * KW];
    fill(x, N * C * H * W, 3);
    fill(w, O * C * KH * KW, 4);
    jx_conv_opts fwd = {.strides = {s, 2}, .pad_lo = {lo, 2}, .pad_hi = {hi, 2}, .rhs_dilation = {rd, 2}};
    jx_array *y = run_conv(JX_F64, x, xs, w, ws, 4, &fwd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    const int64_t *ys = jx_array_shape(y);
    CU_ASSERT(ys[0] == N && ys[1] == O && ys[2] == 5 && ys[3] == 6);
    int64_t ny = jx_array_size(y), out[2] = {ys[2], ys[3]};
    double *dy = malloc(sizeof *dy * (size_t)ny);
    fill(dy, ny, 5);
    double ydy = dotv(dy, y, ny);

    /* dx = conv(dy, flip(swap(w))) */
    double wt[C * O * KH * KW], xt[C * N * H * W], dyt[O * N * 5 * 6];
    for (int64_t i = 0; i < C * O; i++) /* wt[c,o] = w[o,c] with both spatial dims flipped */
        for (int64_t t = 0; t < KH * KW; t++) wt[i * KH * KW + t] = w[((i % O) * C + i / O) * KH * KW + KH * KW - 1 - t];
    int64_t plo[2], phi[2];
    for (int d = 0; d < 2; d++) {
        int64_t dk = dilate(k[d], rd[d]), od = dilate(out[d], s[d]);
        plo[d] = dk - lo[d] - 1;
        phi[d] = in[d] + dk - 1 - od - plo[d];
    }
    jx_conv_opts bx = {.pad_lo = {plo, 2}, .pad_hi = {phi, 2}, .lhs_dilation = {s, 2}, .rhs_dilation = {rd, 2}};
    int64_t dys[4] = {N, O, out[0], out[1]}, wts[4] = {C, O, KH, KW};
    jx_array *dx = run_conv(JX_F64, dy, dys, wt, wts, 4, &bx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dx);
    jx_aval want_x = jx_aval_make(JX_F64, (jx_ints){xs, 4}), got_x = jx_array_aval(dx);
    CU_ASSERT(jx_aval_equal(&got_x, &want_x));
    CU_ASSERT(fabs(dotv(x, dx, N * C * H * W) - ydy) < 1e-9 * (1 + fabs(ydy)));

    /* dw = swap(conv(swap(x), swap(dy))) */
    swap01(x, xt, N, C, H * W);
    swap01(dy, dyt, N, O, out[0] * out[1]);
    for (int d = 0; d < 2; d++) phi[d] = dilate(k[d], rd[d]) + dilate(out[d], s[d]) - in[d] - lo[d] - 1;
    jx_conv_opts bw = {.strides = {rd, 2}, .pad_lo = {lo, 2}, .pad_hi = {phi, 2}, .rhs_dilation = {s, 2}};
    int64_t xts[4] = {C, N, H, W}, dyts[4] = {O, N, out[0], out[1]};
    jx_array *dwt = run_conv(JX_F64, xt, xts, dyt, dyts, 4, &bw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dwt);
    int64_t want_wt[4] = {C, O, KH, KW};
    jx_aval want_w = jx_aval_make(JX_F64, (jx_ints){want_wt, 4}), got_w = jx_array_aval(dwt);
    CU_ASSERT(jx_aval_equal(&got_w, &want_w));
    double wdw = 0;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < KH * KW; t++)
                wdw += w[(o * C + c) * KH * KW + t] * jx_array_get(dwt, (c * O + o) * KH * KW + t);
    CU_ASSERT(fabs(wdw - ydy) < 1e-9 * (1 + fabs(ydy)));
    free(dy);
    jx_array_release(y);
    jx_array_release(dx);
    jx_array_release(dwt);
}

/* The transposed-conv shape rule: a stride-2 3x3 conv with padding 1 of 32 gives 16,
 * and the transpose of it (lhs_dilation 2, padding 1 and 2) gives 32 back. */
static jx_aval shape_of(jx_aval x, jx_aval w, const jx_conv_opts *o) {
    jx_aval in[2] = {x, w};
    jx_fn *f = jx_trace("shape", conv_body, (void *)o, 2, in, 1);
    jx_aval r = f ? jx_fn_output_aval(f, 0) : jx_aval_make(JX_F32, (jx_ints){NULL, -1});
    jx_fn_release(f);
    return r;
}

static void test_conv_shapes(void) {
    jx_conv_opts fwd = {.strides = JX_INTS(2, 2), .pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_aval y = shape_of(JX_AVAL(JX_F32, 8, 3, 32, 32), JX_AVAL(JX_F32, 16, 3, 3, 3), &fwd);
    jx_aval want = JX_AVAL(JX_F32, 8, 16, 16, 16);
    CU_ASSERT(jx_aval_equal(&y, &want));
    jx_conv_opts tr = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(2, 2), .lhs_dilation = JX_INTS(2, 2)};
    jx_aval x = shape_of(y, JX_AVAL(JX_F32, 3, 16, 3, 3), &tr);
    jx_aval want_x = JX_AVAL(JX_F32, 8, 3, 32, 32);
    CU_ASSERT(jx_aval_equal(&x, &want_x));
    /* the kernel gradient: x as (C,N,..) by dy as (O,N,..) dilated by the stride */
    jx_conv_opts kw = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(0, 0), .rhs_dilation = JX_INTS(2, 2)};
    jx_aval dw = shape_of(JX_AVAL(JX_F32, 3, 8, 32, 32), JX_AVAL(JX_F32, 16, 8, 16, 16), &kw);
    jx_aval want_w = JX_AVAL(JX_F32, 3, 16, 3, 3);
    CU_ASSERT(jx_aval_equal(&dw, &want_w));
    /* the equation keeps every list explicitly, defaults included */
    jx_aval in[2] = {JX_AVAL(JX_F64, 1, 2, 5), JX_AVAL(JX_F64, 4, 1, 2)};
    jx_conv_opts g = {.feature_groups = 2};
    jx_fn *f = jx_trace("groups", conv_body, &g, 2, in, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const jx__eqn *e = &f->eqns[0];
    CU_ASSERT_EQUAL(e->prim, JX_PRIM_CONV);
    CU_ASSERT_EQUAL(jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 0), 2);
    jx_ints st = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    CU_ASSERT(st.n == 1 && st.v[0] == 1);
    jx_ints lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    CU_ASSERT(lo.n == 1 && lo.v[0] == 0);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ errors */

typedef struct err_case {
    const jx_conv_opts *opts;
    int line;
} err_case;

static void conv_err_body(jx_val *out, const jx_val *in, void *user) {
    err_case *ec = user;
    ec->line = __LINE__ + 1;
    out[0] = jx_conv(in[0], in[1], ec->opts);
}

static void check_err(jx_aval x, jx_aval w, const jx_conv_opts *o, jx_status code, const char *msg) {
    err_case ec = {o, 0};
    jx_aval in[2] = {x, w};
    jx_fn *f = jx_trace("bad", conv_err_body, &ec, 2, in, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, ec.line));
}

static void test_conv_errors(void) {
    jx_aval x = JX_AVAL(JX_F32, 8, 3, 32, 32), w = JX_AVAL(JX_F32, 16, 3, 3, 3);
    check_err(x, JX_AVAL(JX_F32, 16, 4, 3, 3), NULL, JX_ERR_SHAPE,
              "conv_general_dilated: input channels 3 differ from kernel's 4 x 1 groups: "
              "f32[8,3,32,32] * f32[16,4,3,3]");
    jx_conv_opts g3 = {.feature_groups = 3};
    check_err(x, JX_AVAL(JX_F32, 16, 1, 3, 3), &g3, JX_ERR_SHAPE,
              "output channels 16 are not divisible by 3 groups: f32[8,3,32,32] * f32[16,1,3,3]");
    check_err(x, JX_AVAL(JX_F32, 15, 3, 3, 3), &g3, JX_ERR_SHAPE, "input channels 3 differ from kernel's 3 x 3 groups");
    jx_conv_opts gneg = {.feature_groups = -1};
    check_err(x, w, &gneg, JX_ERR_ARG, "feature groups must be positive, got -1: f32[8,3,32,32] * f32[16,3,3,3]");
    check_err(JX_AVAL(JX_I32, 8, 3, 32, 32), w, NULL, JX_ERR_DTYPE,
              "conv_general_dilated: operands must be f32 or f64 of one dtype: i32[8,3,32,32] * f32[16,3,3,3]");
    check_err(x, JX_AVAL(JX_F64, 16, 3, 3, 3), NULL, JX_ERR_DTYPE, "one dtype: f32[8,3,32,32] * f64[16,3,3,3]");
    check_err(JX_AVAL(JX_F32, 8, 3), JX_AVAL(JX_F32, 16, 3), NULL, JX_ERR_SHAPE,
              "operands need equal ranks 3 to 5 (batch or output channels, input channels, 1 to 3 "
              "spatial dims): f32[8,3] * f32[16,3]");
    check_err(x, JX_AVAL(JX_F32, 16, 3, 3), NULL, JX_ERR_SHAPE, "equal ranks 3 to 5");
    check_err(JX_AVAL(JX_F32, 1, 1, 1, 1, 1, 1), JX_AVAL(JX_F32, 1, 1, 1, 1, 1, 1), NULL, JX_ERR_SHAPE,
              "equal ranks 3 to 5");
    jx_conv_opts s3 = {.strides = JX_INTS(1, 1, 1)};
    check_err(x, w, &s3, JX_ERR_ARG, "conv_general_dilated: strides has 3 entries, expected 2 for f32[8,3,32,32]");
    jx_conv_opts lo1 = {.pad_lo = JX_INTS(1)};
    check_err(x, w, &lo1, JX_ERR_ARG, "pad_lo has 1 entries, expected 2 for f32[8,3,32,32]");
    jx_conv_opts hi1 = {.pad_hi = JX_INTS(1, 2, 3)};
    check_err(x, w, &hi1, JX_ERR_ARG, "pad_hi has 3 entries, expected 2");
    jx_conv_opts ld1 = {.lhs_dilation = JX_INTS(2)};
    check_err(x, w, &ld1, JX_ERR_ARG, "lhs_dilation has 1 entries, expected 2");
    jx_conv_opts rd1 = {.rhs_dilation = JX_INTS(2)};
    check_err(x, w, &rd1, JX_ERR_ARG, "rhs_dilation has 1 entries, expected 2");
    jx_conv_opts s0 = {.strides = JX_INTS(1, 0)};
    check_err(x, w, &s0, JX_ERR_ARG,
              "conv_general_dilated: strides (1,0): entry 1 is not positive: f32[8,3,32,32] * f32[16,3,3,3]");
    jx_conv_opts rd0 = {.rhs_dilation = JX_INTS(-1, 1)};
    check_err(x, w, &rd0, JX_ERR_ARG, "rhs_dilation (-1,1): entry 0 is not positive");
    jx_conv_opts ld0 = {.lhs_dilation = JX_INTS(1, 0)};
    check_err(x, w, &ld0, JX_ERR_ARG, "lhs_dilation (1,0): entry 1 is not positive");
    jx_conv_opts huge = {.pad_lo = JX_INTS((int64_t)1 << 60, 0)};
    check_err(x, w, &huge, JX_ERR_ARG, "lo (1152921504606846976,0): entry 0 is out of range");
}

/* The rule itself insists on explicit lists (an IR from the parser may lack them). */
static void test_conv_rule_attrs(void) {
    jx__shape_rules_init();
    jx_aval in[2] = {JX_AVAL(JX_F32, 1, 1, 4), JX_AVAL(JX_F32, 1, 1, 2)}, out;
    int64_t one = 1, zero = 0;
    jx__attr attrs[6] = {
        jx__a_ints(JX_A_STRIDES, (jx_ints){&one, 1}),      jx__a_ints(JX_A_LO, (jx_ints){&zero, 1}),
        jx__a_ints(JX_A_HI, (jx_ints){&zero, 1}),          jx__a_ints(JX_A_LHS_DILATION, (jx_ints){&one, 1}),
        jx__a_ints(JX_A_RHS_DILATION, (jx_ints){&one, 1}), jx__a_int(JX_A_GROUPS, 1),
    };
    int nout = 0;
    jx__rule_err err = {JX_OK, {0}};
    jx__shape_rule rule = jx__shape_rules[JX_PRIM_CONV];
    CU_ASSERT_PTR_NOT_NULL_FATAL(rule);
    CU_ASSERT_EQUAL(rule(2, in, 6, attrs, 1, &out, &nout, &err), JX_OK);
    CU_ASSERT(nout == 1 && out.rank == 3 && out.shape[2] == 3);
    CU_ASSERT_EQUAL(rule(2, in, 5, attrs, 1, &out, &nout, &err), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(err.msg, "attribute groups (an int) is missing: f32[1,1,4] * f32[1,1,2]");
    CU_ASSERT_EQUAL(rule(2, in, 5, attrs + 1, 1, &out, &nout, &err), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(err.msg, "attribute strides (a list of 1 ints) is missing: f32[1,1,4] * f32[1,1,2]");
}

static void test_conv_outside_trace(void) {
    jx_clear_error();
    int line = __LINE__ + 1;
    jx_val y = jx_conv(JX_NONE, JX_NONE, NULL);
    CU_ASSERT(!jx_val_ok(y));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_TRACE);
    JT_ASSERT_ERR("conv_general_dilated: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

/* The equations keep every list, so the text form parses back and typechecks. */
static void roundtrip_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_conv_opts o = {.strides = JX_INTS(2), .pad_lo = JX_INTS(-1), .lhs_dilation = JX_INTS(2), .feature_groups = 2};
    jx_val y = jx_conv(in[0], in[1], &o);
    out[0] = jx_reduce_window(y, JX_WINDOW_MAX, JX_INTS(1, 1, 2), JX_NOINTS, JX_NOINTS, JX_INTS(0, 0, 1));
    out[1] = jx_select_and_scatter_add(out[0], y, JX_INTS(1, 1, 2), JX_NOINTS, JX_NOINTS, JX_INTS(0, 0, 1));
}

static void test_conv_text_roundtrip(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 4, 9), JX_AVAL(JX_F32, 6, 2, 3)};
    jx_fn *f = jx_trace("rt", roundtrip_body, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "c:f32[2,6,7] = conv_general_dilated[strides=(2) lo=(-1) hi=(0) "
                                     "lhs_dilation=(2) rhs_dilation=(1) groups=2] a b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "reduce_window_max[window=(1,1,2) strides=(1,1,1) lo=(0,0,0) hi=(0,0,1)] c"));
    jx_fn *g = jx_fn_parse(s);
    CU_ASSERT_PTR_NOT_NULL(g);
    char *t = g ? jx_fn_to_string(g) : NULL;
    CU_ASSERT(t && strcmp(s, t) == 0);
    if (g) CU_ASSERT_EQUAL(jx_fn_typecheck(g), JX_OK);
    free(s);
    free(t);
    jx_fn_release(f);
    jx_fn_release(g);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"conv by hand (plain, lhs and rhs dilation)", test_conv_by_hand},
        {"conv 1-D vs reference", test_conv_1d},
        {"conv 2-D vs reference (groups, depthwise, transposed)", test_conv_2d},
        {"conv 3-D vs reference", test_conv_3d},
        {"conv with size-0 dims", test_conv_empty},
        {"conv 3x3 (8,16,32,32) -> 32 on ones", test_conv_ones},
        {"conv gradients are convolutions (adjointness)", test_conv_gradient_identities},
        {"conv output shapes (transposed, kernel gradient)", test_conv_shapes},
        {"conv errors name both shapes and the line", test_conv_errors},
        {"conv rule wants explicit attributes", test_conv_rule_attrs},
        {"conv outside of a trace", test_conv_outside_trace},
        {"conv and window equations print and parse back", test_conv_text_roundtrip},
        CU_TEST_INFO_NULL,
    };
    return jt_run("conv", tests);
}
