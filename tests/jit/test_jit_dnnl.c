/* test_jit_dnnl.c: the CPU backend's oneDNN convolutions (src/backends/cpu/conv_dnnl.c)
 * against the interpreter: which convs they take (f32 2-D, one group, no lhs dilation,
 * padding >= 0) and decline, forward convs (SAME, strided, dilated), the three convs grad
 * emits for a CNN layer (the kernel gradient on oneDNN's backward-weights primitive),
 * batches that split into uneven chunks, and bit-identical results with no pool and with
 * pools of 2 and 4 threads. Skipped (77) in a build without oneDNN. */
#include "../../src/backends/cpu/blas.h"
#include "lib_check.h"

/* jx__dnnl_conv alone: an error when it declines. */
static jx_status dnnl_only(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                           const jx_aval *oav, void *out) {
    if (jx__dnnl_conv(p, e, av, in, NULL, oav, out)) return JX_OK;
    return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "conv_general_dilated", "oneDNN declined %s * %s",
                    jx__avs(&av[0]), jx__avs(&av[1]));
}

static void conv_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
}

#define NO JX_NOINTS
#define OPTS(strides, lo, hi, ldil, rdil, groups) ((jx_conv_opts){strides, lo, hi, ldil, rdil, groups})
#define SAME1 OPTS(NO, JX_INTS(1, 1), JX_INTS(1, 1), NO, NO, 0)

/* The conv x * w under o checked on oneDNN alone. */
static bool check_dnnl(jx_ints xs, jx_ints ws, jx_conv_opts o) {
    jx_aval a[2] = {jx_aval_make(JX_F32, xs), jx_aval_make(JX_F32, ws)};
    char what[160];
    snprintf(what, sizeof what, "dnnl conv %s * %s", jx__avs(&a[0]), jx__avs(&a[1]));
    return check_body(what, conv_body, &o, a, JX_PRIM_CONV, dnnl_only, tol_of(JX_F32));
}

/* Whether oneDNN takes the conv x * w under o (operands of zeros, no pool). */
static bool dnnl_takes(jx_dtype t, jx_ints xs, jx_ints ws, jx_conv_opts o) {
    jx_aval a[2] = {jx_aval_make(t, xs), jx_aval_make(t, ws)};
    jx_fn *f = jx_trace("conv", conv_body, &o, 2, a, 1);
    CU_ASSERT_FATAL(f != NULL && f->neqn == 1);
    jx_aval oav = f->vars[f->eqns[0].out[0]];
    size_t bytes[3] = {(size_t)jx_aval_size(&a[0]), (size_t)jx_aval_size(&a[1]), (size_t)jx_aval_size(&oav)};
    void *buf[3];
    for (int i = 0; i < 3; i++) buf[i] = calloc(bytes[i] + 1, jx_dtype_size(t));
    bool took = jx__dnnl_conv(NULL, &f->eqns[0], a, (const void *const *)buf, NULL, &oav, buf[2]);
    for (int i = 0; i < 3; i++) free(buf[i]);
    jx_fn_release(f);
    return took;
}

static void test_forward(void) {
    /* SAME 3x3 as in mnist_cnn; one input channel; 37 = 12 chunks of 3 and one of 1 */
    CU_ASSERT(check_dnnl(JX_INTS(37, 3, 12, 11), JX_INTS(8, 3, 3, 3), SAME1));
    CU_ASSERT(check_dnnl(JX_INTS(5, 1, 28, 28), JX_INTS(32, 1, 3, 3), SAME1));
    /* strides, kernel dilation, uneven padding; a 1x1 and a valid 5x2 */
    CU_ASSERT(check_dnnl(JX_INTS(5, 4, 13, 13), JX_INTS(6, 4, 3, 3),
                         OPTS(JX_INTS(2, 2), JX_INTS(1, 0), JX_INTS(1, 2), NO, JX_INTS(2, 1), 0)));
    CU_ASSERT(check_dnnl(JX_INTS(3, 16, 7, 7), JX_INTS(24, 16, 1, 1), OPTS(NO, NO, NO, NO, NO, 0)));
    CU_ASSERT(check_dnnl(JX_INTS(2, 3, 9, 6), JX_INTS(4, 3, 5, 2), OPTS(NO, NO, NO, NO, NO, 0)));
}

static void test_declined(void) {
    CU_ASSERT(dnnl_takes(JX_F32, JX_INTS(2, 3, 8, 8), JX_INTS(4, 3, 3, 3), SAME1));
    CU_ASSERT(!dnnl_takes(JX_F64, JX_INTS(2, 3, 8, 8), JX_INTS(4, 3, 3, 3), SAME1));
    CU_ASSERT(!dnnl_takes(JX_F32, JX_INTS(2, 3, 8), JX_INTS(4, 3, 3), OPTS(NO, NO, NO, NO, NO, 0)));
    CU_ASSERT(!dnnl_takes(JX_F32, JX_INTS(2, 4, 8, 8), JX_INTS(4, 2, 3, 3), OPTS(NO, NO, NO, NO, NO, 2)));
    CU_ASSERT(!dnnl_takes(JX_F32, JX_INTS(2, 3, 8, 8), JX_INTS(4, 3, 3, 3),
                          OPTS(NO, JX_INTS(1, 1), JX_INTS(1, 1), JX_INTS(2, 2), NO, 0)));
    CU_ASSERT(!dnnl_takes(JX_F32, JX_INTS(2, 3, 8, 8), JX_INTS(4, 3, 3, 3),
                          OPTS(NO, JX_INTS(-1, 0), JX_INTS(0, 0), NO, NO, 0)));
}

/* A CNN layer: sum(tanh(conv(x, w))). */
static void cnn_layer(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_reduce_sum(jx_tanh(jx_conv(in[0], in[1], (const jx_conv_opts *)user)), JX_NOINTS);
}

static int taken;
/* jx__cpu_conv's choice, counting the convs oneDNN took. */
static jx_status counting(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                          const jx_aval *oav, void *out) {
    if (jx__dnnl_conv(p, e, av, in, NULL, oav, out)) return taken++, JX_OK;
    return jx__cpu_conv_gemm(p, e, av, in, oav, out);
}

/* The convs of grad of the layer in x and w: n of them checked, `took` on oneDNN. */
static void check_grad(const char *what, jx_ints xs, jx_ints ws, jx_conv_opts o, int took) {
    jx_aval a[2] = {jx_aval_make(JX_F32, xs), jx_aval_make(JX_F32, ws)};
    jx_fn *f = jx_trace(what, cnn_layer, &o, 2, a, 1);
    CU_ASSERT_FATAL(f != NULL);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    CU_ASSERT_FATAL(g != NULL);
    taken = 0;
    CU_ASSERT_EQUAL(check_prim_eqns(what, g, JX_PRIM_CONV, counting, tol_of(JX_F32)), 3);
    CU_ASSERT_EQUAL(taken, 3 * took); /* each conv runs once per pool size */
    jx_fn_release(g);
    jx_fn_release(f);
}

static void test_gradients(void) {
    /* stride 1: forward, input gradient (a forward conv) and kernel gradient (backward
     * weights, batch 20 in chunks of 2) all on oneDNN */
    check_grad("cnn same", JX_INTS(20, 3, 10, 9), JX_INTS(8, 3, 3, 3), SAME1, 3);
    check_grad("cnn valid", JX_INTS(17, 2, 7, 8), JX_INTS(4, 2, 2, 3), OPTS(NO, NO, NO, NO, NO, 0), 3);
    /* stride 2: the input gradient is lhs-dilated and stays on the GEMM path */
    check_grad("cnn strided", JX_INTS(6, 3, 9, 8), JX_INTS(5, 3, 3, 3),
               OPTS(JX_INTS(2, 2), JX_INTS(1, 1), JX_INTS(1, 0), NO, NO, 0), 2);
}

int main(void) {
    if (!jx__dnnl_built()) {
        fprintf(stderr, "jit_dnnl: built without oneDNN (libdnnl-dev); skipped\n");
        return 77;
    }
    CU_TestInfo tests[] = {
        {"forward convs", test_forward},
        {"convs oneDNN declines", test_declined},
        {"the convs of a CNN layer's gradient", test_gradients},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_dnnl", tests);
}
