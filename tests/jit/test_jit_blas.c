/* test_jit_blas.c: the CPU backend's OpenBLAS dot_general (jx__cpu_dot) and GEMM-based
 * convolution (jx__cpu_conv) against the interpreter's impl rules on random inputs:
 * matmul shapes (1xK, Kx1, non-square, transposed and scattered contracting and batch
 * dims, f64, tiled), convolutions (1-D to 3-D, strides, padding, dilations, groups,
 * batches, 1x1, split channels), the convolutions grad emits for a small CNN layer, and bit-identical
 * results with no pool and with pools of 2 and 4 threads. */
#include "lib_check.h"

/* ------------------------------------------------------------------ dot_general */

typedef struct dot_case {
    jx_ints lc, rc, lb, rb;
} dot_case;

static void dot_body(jx_val *out, const jx_val *in, void *user) {
    const dot_case *c = user;
    out[0] = jx_dot_general(in[0], in[1], c->lc, c->rc, c->lb, c->rb);
}

static bool check_dot(jx_dtype t, jx_ints ls, jx_ints rs, jx_ints lc, jx_ints rc, jx_ints lb, jx_ints rb) {
    dot_case c = {lc, rc, lb, rb};
    jx_aval a[2] = {jx_aval_make(t, ls), jx_aval_make(t, rs)};
    char what[160];
    snprintf(what, sizeof what, "dot %s . %s", jx__avs(&a[0]), jx__avs(&a[1]));
    return check_body(what, dot_body, &c, a, JX_PRIM_DOT_GENERAL, jx__cpu_dot, tol_of(t));
}

#define MATMUL(t, ls, rs) check_dot(t, ls, rs, JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS)

static void test_dot_matmul(void) {
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(5, 7), JX_INTS(7, 3)));
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(1, 9), JX_INTS(9, 1)));   /* 1xK . Kx1 */
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(6, 1), JX_INTS(1, 4)));   /* outer product, k = 1 */
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(1, 300), JX_INTS(300, 70)));
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(130, 200), JX_INTS(200, 150))); /* tiled, ragged edges */
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(128, 784), JX_INTS(784, 512))); /* k between OpenBLAS's Q and 2Q */
    CU_ASSERT(MATMUL(JX_F64, JX_INTS(33, 17), JX_INTS(17, 29)));
    CU_ASSERT(MATMUL(JX_F64, JX_INTS(150, 260), JX_INTS(260, 140)));
}

static void test_dot_transposed(void) {
    /* contracting dim first in lhs (A stored (k, m)), last in rhs (B stored (n, k)) */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(7, 5), JX_INTS(3, 7), JX_INTS(0), JX_INTS(1), JX_NOINTS, JX_NOINTS));
    CU_ASSERT(check_dot(JX_F32, JX_INTS(200, 130), JX_INTS(150, 200), JX_INTS(0), JX_INTS(1), JX_NOINTS,
                        JX_NOINTS));
    CU_ASSERT(check_dot(JX_F64, JX_INTS(4, 6), JX_INTS(4, 9), JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS));
    /* two contracting dims, contiguous and in order on both sides: no copy */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(5, 3, 4), JX_INTS(3, 4, 6), JX_INTS(1, 2), JX_INTS(0, 1), JX_NOINTS,
                        JX_NOINTS));
    /* contracting dims in swapped order: copies */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(5, 3, 4), JX_INTS(4, 3, 6), JX_INTS(1, 2), JX_INTS(1, 0), JX_NOINTS,
                        JX_NOINTS));
    /* vector . vector (rank-0 result) and matrix . vector */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(8), JX_INTS(8), JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS));
    CU_ASSERT(check_dot(JX_F64, JX_INTS(5, 8), JX_INTS(8), JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS));
}

static void test_dot_batched(void) {
    /* leading batch dims: in place, and with B transposed */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(2, 3, 4, 5), JX_INTS(2, 3, 5, 6), JX_INTS(3), JX_INTS(2),
                        JX_INTS(0, 1), JX_INTS(0, 1)));
    CU_ASSERT(check_dot(JX_F32, JX_INTS(2, 3, 4, 5), JX_INTS(2, 3, 6, 5), JX_INTS(3), JX_INTS(3),
                        JX_INTS(0, 1), JX_INTS(0, 1)));
    /* batch dims in odd places and scattered contracting dims: both copied */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(3, 2, 5, 4), JX_INTS(4, 6, 2, 3), JX_INTS(3, 0), JX_INTS(0, 3),
                        JX_INTS(1), JX_INTS(2)));
    CU_ASSERT(check_dot(JX_F64, JX_INTS(3, 2, 5, 4), JX_INTS(4, 6, 2, 3), JX_INTS(3, 0), JX_INTS(0, 3),
                        JX_INTS(1), JX_INTS(2)));
    /* batch dims swapped between the operands */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(2, 3, 4, 5), JX_INTS(3, 2, 5, 6), JX_INTS(3), JX_INTS(2),
                        JX_INTS(0, 1), JX_INTS(1, 0)));
    /* many small matrices: parallel over the batch */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(64, 8, 8), JX_INTS(64, 8, 8), JX_INTS(2), JX_INTS(1), JX_INTS(0),
                        JX_INTS(0)));
    /* a few large ones: tiles within each */
    CU_ASSERT(check_dot(JX_F32, JX_INTS(3, 100, 120), JX_INTS(3, 120, 90), JX_INTS(2), JX_INTS(1), JX_INTS(0),
                        JX_INTS(0)));
}

static void test_dot_degenerate(void) {
    /* k = 0: zeros; m = 0: nothing to write */
    CU_ASSERT(MATMUL(JX_F32, JX_INTS(3, 0), JX_INTS(0, 4)));
    CU_ASSERT(MATMUL(JX_F64, JX_INTS(0, 5), JX_INTS(5, 4)));
    CU_ASSERT(check_dot(JX_F32, JX_INTS(0, 2, 3), JX_INTS(0, 3, 2), JX_INTS(2), JX_INTS(1), JX_INTS(0),
                        JX_INTS(0)));
}

static void int_matmul(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_matmul(in[0], in[1]);
}

/* Integer dot_generals are not BLAS's: _ok says no, and a direct call fails clearly. */
static void test_dot_not_float(void) {
    jx_aval a[2] = {JX_AVAL(JX_I32, 2, 3), JX_AVAL(JX_I32, 3, 2)};
    jx_fn *f = jx_trace("imm", int_matmul, NULL, 2, a, 1);
    CU_ASSERT_FATAL(f != NULL);
    const jx__eqn *e = NULL;
    for (int i = 0; i < f->neqn; i++)
        if (f->eqns[i].prim == JX_PRIM_DOT_GENERAL) e = &f->eqns[i];
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT(!jx__cpu_dot_ok(f, e));
    int32_t buf[4] = {0}, x[6] = {0}, y[6] = {0};
    const void *in[2] = {x, y};
    jx_aval o = JX_AVAL(JX_I32, 2, 2);
    CU_ASSERT(jx__cpu_dot(NULL, e, a, in, &o, buf) == JX_ERR_UNSUPPORTED);
    JT_ASSERT_ERR("dot_general: no BLAS kernel for i32[2,3] . i32[3,2]");
    jx_fn_release(f);

    jx_aval fa[2] = {JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3, 2)};
    f = jx_trace("fmm", int_matmul, NULL, 2, fa, 1);
    CU_ASSERT_FATAL(f != NULL);
    bool any = false;
    for (int i = 0; i < f->neqn; i++)
        if (f->eqns[i].prim == JX_PRIM_DOT_GENERAL) any = jx__cpu_dot_ok(f, &f->eqns[i]);
    CU_ASSERT(any);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ convolution */

static void conv_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
}

static bool check_conv(jx_dtype t, jx_ints xs, jx_ints ws, jx_conv_opts o) {
    jx_aval a[2] = {jx_aval_make(t, xs), jx_aval_make(t, ws)};
    char what[160];
    snprintf(what, sizeof what, "conv %s * %s", jx__avs(&a[0]), jx__avs(&a[1]));
    return check_body(what, conv_body, &o, a, JX_PRIM_CONV, jx__cpu_conv, tol_of(t));
}

#define NO JX_NOINTS
#define OPTS(strides, lo, hi, ldil, rdil, groups) ((jx_conv_opts){strides, lo, hi, ldil, rdil, groups})
#define PLAIN(groups) OPTS(NO, NO, NO, NO, NO, groups) /* stride 1, no padding or dilation */

static void test_conv_1d(void) {
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 3, 9), JX_INTS(4, 3, 3), PLAIN(0)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 3, 11), JX_INTS(4, 3, 3),
                         OPTS(JX_INTS(2), JX_INTS(1), JX_INTS(2), NO, JX_INTS(2), 0)));
    /* negative padding crops; a stride that does not divide */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 2, 9), JX_INTS(3, 2, 3),
                         OPTS(NO, JX_INTS(-1), JX_INTS(-2), NO, NO, 0)));
    CU_ASSERT(check_conv(JX_F64, JX_INTS(3, 2, 8), JX_INTS(2, 2, 2), OPTS(JX_INTS(3), NO, NO, NO, NO, 0)));
}

static void test_conv_2d(void) {
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 3, 8, 7), JX_INTS(4, 3, 3, 2),
                         OPTS(JX_INTS(2, 1), JX_INTS(1, 0), JX_INTS(0, 1), NO, JX_INTS(1, 2), 0)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(3, 4, 6, 6), JX_INTS(5, 4, 3, 3),
                         OPTS(NO, JX_INTS(1, 1), JX_INTS(1, 1), NO, NO, 0)));
    CU_ASSERT(check_conv(JX_F64, JX_INTS(2, 3, 7, 6), JX_INTS(2, 3, 3, 3),
                         OPTS(JX_INTS(2, 2), JX_INTS(1, 1), JX_INTS(1, 1), NO, NO, 0)));
    /* big enough to split the output positions into tiles (one batch element) */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(1, 8, 41, 41), JX_INTS(16, 8, 3, 3), PLAIN(0)));
}

static void test_conv_dilated(void) {
    /* lhs dilation: a transposed convolution */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 2, 4, 5), JX_INTS(3, 2, 3, 3),
                         OPTS(NO, JX_INTS(2, 2), JX_INTS(2, 2), JX_INTS(2, 2), NO, 0)));
    CU_ASSERT(check_conv(JX_F64, JX_INTS(2, 1, 5), JX_INTS(2, 1, 2),
                         OPTS(JX_INTS(2), JX_INTS(1), JX_INTS(0), JX_INTS(3), JX_INTS(2), 0)));
}

static void test_conv_groups(void) {
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 4, 7, 6), JX_INTS(6, 2, 2, 3),
                         OPTS(JX_INTS(2, 1), JX_INTS(1, 0), JX_INTS(0, 1), JX_INTS(1, 2), NO, 2)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 4, 7), JX_INTS(6, 2, 2),
                         OPTS(JX_INTS(2), JX_INTS(1), JX_INTS(1), JX_INTS(1), JX_INTS(2), 2)));
    /* depthwise with a channel multiplier */
    CU_ASSERT(check_conv(JX_F64, JX_INTS(2, 3, 6, 5), JX_INTS(6, 1, 3, 3),
                         OPTS(JX_INTS(1, 2), JX_INTS(1, 1), JX_INTS(1, 0), NO, NO, 3)));
}

static void test_conv_1x1_3d(void) {
    /* 1x1 without padding or strides reads the input in place */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 4, 5, 5), JX_INTS(6, 4, 1, 1), PLAIN(0)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 4, 5, 3), JX_INTS(6, 2, 1, 1), PLAIN(2)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 4, 5, 5), JX_INTS(6, 4, 1, 1),
                         OPTS(JX_INTS(2, 2), NO, NO, NO, NO, 0))); /* strided 1x1: im2col */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(1, 2, 4, 5, 6), JX_INTS(3, 2, 2, 3, 2),
                         OPTS(JX_INTS(1, 2, 1), JX_INTS(0, 1, 1), JX_INTS(1, 0, 0), NO, JX_INTS(1, 1, 2),
                              0)));
    CU_ASSERT(check_conv(JX_F64, JX_INTS(2, 2, 3, 3, 3), JX_INTS(4, 1, 2, 1, 2), PLAIN(2)));
}

/* Few (sample, tile) items and many channels, as in kernel gradients: the channels
 * are split into parts summed afterwards (also with groups, and on the 1x1 path). */
static void test_conv_channel_split(void) {
    CU_ASSERT(check_conv(JX_F32, JX_INTS(1, 16, 20, 20), JX_INTS(32, 16, 12, 12), PLAIN(0)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(1, 16, 20, 20), JX_INTS(32, 8, 12, 12), PLAIN(2)));
    CU_ASSERT(check_conv(JX_F64, JX_INTS(1, 256, 8, 8), JX_INTS(64, 256, 1, 1), PLAIN(0)));
}

static void test_conv_degenerate(void) {
    CU_ASSERT(check_conv(JX_F32, JX_INTS(0, 2, 5), JX_INTS(3, 2, 2), PLAIN(0)));
    /* no input channels: zeros; a kernel longer than the input: no outputs */
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 0, 5), JX_INTS(3, 0, 2), PLAIN(0)));
    CU_ASSERT(check_conv(JX_F32, JX_INTS(2, 1, 2), JX_INTS(1, 1, 3), PLAIN(0)));
}

/* ------------------------------------------------------------------ conv gradients */

/* A small CNN layer: sum(tanh(conv(x, w))). */
static void cnn_layer(jx_val *out, const jx_val *in, void *user) {
    jx_val y = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
    out[0] = jx_reduce_sum(jx_tanh(y), JX_NOINTS);
}

/* Whether some conv equation of f has an attribute list `key` with an entry > 1. */
static bool some_conv_has(const jx_fn *f, jx__akey key) {
    for (int i = 0; i < f->neqn; i++) {
        if (f->eqns[i].prim != JX_PRIM_CONV) continue;
        jx_ints v = jx__attr_ints(f->eqns[i].nattr, f->eqns[i].attrs, key);
        for (int d = 0; d < v.n; d++)
            if (v.v[d] > 1) return true;
    }
    return false;
}

/* grad of the layer in x and w: the forward conv, the input gradient (lhs-dilated by
 * the strides) and the kernel gradient (rhs-dilated by them), each run on the GEMM path. */
static void check_grad_convs(const char *what, jx_dtype t, jx_ints xs, jx_ints ws, jx_conv_opts o) {
    jx_aval a[2] = {jx_aval_make(t, xs), jx_aval_make(t, ws)};
    jx_fn *f = jx_trace(what, cnn_layer, &o, 2, a, 1);
    CU_ASSERT_FATAL(f != NULL);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    if (!g) fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT(some_conv_has(g, JX_A_LHS_DILATION));
    CU_ASSERT(some_conv_has(g, JX_A_RHS_DILATION));
    int n = check_prim_eqns(what, g, JX_PRIM_CONV, jx__cpu_conv, tol_of(t));
    CU_ASSERT(n >= 3);
    for (int i = 0; i < g->neqn; i++)
        if (g->eqns[i].prim == JX_PRIM_CONV) CU_ASSERT(jx__cpu_conv_ok(g, &g->eqns[i]));
    jx_fn_release(g);
    jx_fn_release(f);
}

static void test_conv_gradients(void) {
    check_grad_convs("cnn 2d", JX_F32, JX_INTS(4, 3, 9, 8), JX_INTS(5, 3, 3, 3),
                     OPTS(JX_INTS(2, 2), JX_INTS(1, 1), JX_INTS(1, 0), NO, NO, 0));
    check_grad_convs("cnn 2d groups", JX_F32, JX_INTS(2, 4, 7, 7), JX_INTS(6, 2, 3, 2),
                     OPTS(JX_INTS(2, 1), JX_INTS(1, 0), JX_INTS(1, 1), NO, NO, 2));
    check_grad_convs("cnn 1d f64", JX_F64, JX_INTS(3, 2, 12), JX_INTS(4, 2, 3),
                     OPTS(JX_INTS(3), JX_INTS(2), JX_INTS(0), NO, JX_INTS(2), 0));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"dot: matmuls", test_dot_matmul},
        {"dot: transposed contracting dims", test_dot_transposed},
        {"dot: batch dims", test_dot_batched},
        {"dot: empty dims", test_dot_degenerate},
        {"dot: integer operands refused", test_dot_not_float},
        {"conv: 1-D", test_conv_1d},
        {"conv: 2-D", test_conv_2d},
        {"conv: lhs and rhs dilation", test_conv_dilated},
        {"conv: feature groups", test_conv_groups},
        {"conv: 1x1 and 3-D", test_conv_1x1_3d},
        {"conv: channel split", test_conv_channel_split},
        {"conv: empty dims", test_conv_degenerate},
        {"conv: gradients of a CNN layer", test_conv_gradients},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_blas", tests);
}
