/* test_jit_conv_views.c: convolutions that read and write through the transposes around
 * them (src/jit/fuse.c absorb_transposes, src/backends/cpu/conv.c and conv_dnnl.c). The
 * core's convolution is NCHW/OIHW, so an NHWC layer and its gradient trace transposes
 * around every conv; fusion hands them to the conv's group and the conv reads its
 * operands and writes its result through strides. Checked: every transpose of an NHWC
 * layer's value and gradient joins a conv; a conv through strides (forward and
 * backward-weights forms on oneDNN, f64 on the GEMM path through row-major copies) gives
 * the same bits as the same conv on row-major copies; the jitted gradient equals the
 * interpreter's. Skipped (77) in a build without oneDNN. */
#include "../../src/backends/cpu/blas.h"
#include "../../src/backends/interp/strided.h"
#include "../../src/jit/plan.h"
#include "jit_util.h"

static jx_conv_opts same1;

static void conv_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)user);
}

/* sum(tanh(conv2d_nhwc(x, w, SAME))): an NHWC layer. */
static void nhwc_layer(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_reduce_sum(jx_tanh(jx_conv2d_nhwc(in[0], in[1], 1, 1, JX_PADDING_SAME)), JX_NOINTS);
}

static jx_fn *nhwc_grad(void) {
    jx_aval a[2] = {JX_AVAL(JX_F32, 6, 9, 8, 3), JX_AVAL(JX_F32, 3, 3, 3, 5)};
    jx_fn *f = jx_trace("nhwc_layer", nhwc_layer, NULL, 2, a, 1);
    jx_fn *g = f ? jx_value_and_grad(f, JX_INTS(0, 1)) : NULL;
    jx_fn_release(f);
    return g;
}

static void test_fusion_absorbs(void) {
    jx_fn *g = nhwc_grad();
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_fn *p = jx__jit_prepare(JX_HERE, g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int ntrans = 0;
    for (int32_t k = 0; k < p->neqn; k++) ntrans += p->eqns[k].prim == JX_PRIM_TRANSPOSE;
    CU_ASSERT(ntrans >= 6); /* the layer's three and the gradient's */
    jx__fusion *with = jx__fuse(p, true, &jx__cpu_backend), *without = jx__fuse(p, true, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(with);
    CU_ASSERT_PTR_NOT_NULL_FATAL(without);
    int convs = 0, absorbed = 0, lone = 0, lone_without = 0;
    for (int32_t i = 0; i < with->ngroups; i++) {
        const jx__group *gr = &with->groups[i];
        if (gr->kind == JX__G_CONV) convs++, absorbed += gr->neqn - 1;
        if (gr->kind == JX__G_LOOP && gr->neqn == 1 && p->eqns[gr->eqns[0]].prim == JX_PRIM_TRANSPOSE) lone++;
        jx__conv_view cv;
        if (gr->kind == JX__G_CONV) CU_ASSERT(jx__conv_view_of(p, gr, &cv) && cv.strided == (gr->neqn > 1));
    }
    for (int32_t i = 0; i < without->ngroups; i++) {
        const jx__group *gr = &without->groups[i];
        if (gr->kind == JX__G_CONV) CU_ASSERT_EQUAL(gr->neqn, 1);
        if (gr->kind == JX__G_LOOP && gr->neqn == 1 && p->eqns[gr->eqns[0]].prim == JX_PRIM_TRANSPOSE) lone_without++;
    }
    CU_ASSERT_EQUAL(convs, 3);          /* forward, input gradient, kernel gradient */
    CU_ASSERT(absorbed >= 6);
    CU_ASSERT_EQUAL(lone, lone_without - absorbed); /* each absorbed one was a group of its own */
    CU_ASSERT_EQUAL(with->ngroups, without->ngroups - absorbed);
    jx__fusion_free(with);
    jx__fusion_free(without);
    jx_fn_release(p);
    jx_fn_release(g);
}

static void test_jit_equals_interpreter(void) {
    jx_fn *g = nhwc_grad();
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {ju_ramp(JX_INTS(6, 9, 8, 3), 0.003, -0.9), ju_ramp(JX_INTS(3, 3, 3, 5), 0.01, -0.6)};
    CU_ASSERT_EQUAL(ju_check(g, JX_DEVICE_CPU, NULL, 2, in), 3);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
}

/* Conv x * w (logical shapes xs, ws, dtype t) under o: on row-major copies, then with
 * each operand and the result stored as the transpose perm[j] of its logical array
 * (logical dim d is stored dim perm[j][d]). Returns whether the bits agree. */
static bool same_bits_through(jx_dtype t, jx_ints xs, jx_ints ws, jx_conv_opts o, const int perm[3][4]) {
    jx_aval a[2] = {jx_aval_make(t, xs), jx_aval_make(t, ws)};
    jx_fn *f = jx_trace("conv", conv_body, &o, 2, a, 1);
    CU_ASSERT_FATAL(f != NULL && f->neqn == 1);
    const jx__eqn *e = &f->eqns[0];
    jx_aval av[3] = {a[0], a[1], f->vars[e->out[0]]};
    size_t es = jx_dtype_size(t);
    void *row[3], *stored[3];
    int64_t rst[3][4], st[3][4];
    for (int j = 0; j < 3; j++) {
        int64_t n = jx_aval_size(&av[j]), sshape[4], srow[4];
        row[j] = calloc((size_t)n + 1, es);
        stored[j] = calloc((size_t)n + 1, es);
        for (int d = 0; d < 4; d++) sshape[perm[j][d]] = av[j].shape[d];
        jx__row_strides(4, sshape, srow);
        jx__row_strides(4, av[j].shape, rst[j]);
        for (int d = 0; d < 4; d++) st[j][d] = srow[perm[j][d]];
        for (int64_t i = 0; j < 2 && i < n; i++) { /* a fixed pseudo-random fill */
            double v = (double)((i * 2654435761u + 97u * (unsigned)j) % 2001u) / 1000.0 - 1.0;
            if (t == JX_F32) ((float *)row[j])[i] = (float)v;
            else ((double *)row[j])[i] = v;
        }
        if (j < 2) jx__strided_copy(4, av[j].shape, es, stored[j], 0, st[j], row[j], 0, rst[j]);
    }
    jx_status s1 = jx__cpu_conv(NULL, e, a, (const void *const *)row, &av[2], row[2]);
    jx_status s2 = jx__cpu_conv_views(NULL, e, a, (const void *const *)stored, (const int64_t(*)[4])st, &av[2],
                                      stored[2]);
    void *back = calloc((size_t)jx_aval_size(&av[2]) + 1, es);
    jx__strided_copy(4, av[2].shape, es, back, 0, rst[2], stored[2], 0, st[2]);
    bool same = s1 == JX_OK && s2 == JX_OK && memcmp(back, row[2], (size_t)jx_aval_size(&av[2]) * es) == 0;
    if (!same) fprintf(stderr, "\n  %s * %s: %s\n", jx__avs(&a[0]), jx__avs(&a[1]), s2 ? jx_errmsg() : "bits differ");
    free(back);
    for (int j = 0; j < 3; j++) free(row[j]), free(stored[j]);
    jx_fn_release(f);
    return same;
}

static void test_strided_bits(void) {
    /* forward from NHWC / HWIO into NHWC (an NHWC layer's conv) */
    static const int fwd[3][4] = {{0, 3, 1, 2}, {3, 2, 0, 1}, {0, 3, 1, 2}};
    CU_ASSERT(same_bits_through(JX_F32, JX_INTS(5, 3, 10, 9), JX_INTS(8, 3, 3, 3), same1, fwd));
    CU_ASSERT(same_bits_through(JX_F32, JX_INTS(37, 1, 12, 12), JX_INTS(4, 1, 3, 3), same1, fwd)); /* chunks */
    /* the kernel gradient: x' (C,N,H,W) and dy' (O,N,Ho,Wo) read from NHWC arrays, dw'
     * (C,O,kh,kw) written as HWIO (oneDNN's backward weights, batch chunks summed) */
    static const int wgrad[3][4] = {{3, 0, 1, 2}, {3, 0, 1, 2}, {2, 3, 0, 1}};
    CU_ASSERT(same_bits_through(JX_F32, JX_INTS(3, 20, 10, 9), JX_INTS(8, 20, 10, 9), same1, wgrad));
    /* odd permutations; and f64, which oneDNN declines: the GEMM path on copies */
    static const int odd[3][4] = {{2, 0, 3, 1}, {1, 3, 2, 0}, {3, 1, 0, 2}};
    CU_ASSERT(same_bits_through(JX_F32, JX_INTS(4, 3, 7, 6), JX_INTS(5, 3, 2, 3), same1, odd));
    CU_ASSERT(same_bits_through(JX_F64, JX_INTS(4, 3, 7, 6), JX_INTS(5, 3, 2, 3), same1, odd));
    CU_ASSERT(same_bits_through(JX_F64, JX_INTS(5, 3, 10, 9), JX_INTS(8, 3, 3, 3), same1, fwd));
}

int main(void) {
    if (!jx__dnnl_built()) {
        fprintf(stderr, "jit_conv_views: built without oneDNN (libdnnl-dev); skipped\n");
        return 77;
    }
    same1 = (jx_conv_opts){JX_NOINTS, JX_INTS(1, 1), JX_INTS(1, 1), JX_NOINTS, JX_NOINTS, 0};
    CU_TestInfo tests[] = {
        {"an NHWC layer's transposes join its convs", test_fusion_absorbs},
        {"a conv through strides gives the bits of one on row-major copies", test_strided_bits},
        {"the jitted NHWC gradient equals the interpreter's", test_jit_equals_interpreter},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_conv_views", tests);
}
