/* test_conv_dims.c: jx_conv_general_dilated with dimension numbers (NHWC/HWIO, NCHW,
 * mixed layouts, a spatial order set by rhs, 1-D and 3-D) and SAME/VALID padding:
 * values and gradients against JAX (ref/conv_dims_ref.h, made by ref/conv_dims_ref.py),
 * f64 derivatives against finite differences, vmap against a loop, the IR it traces
 * (one canonical conv and transposes), and errors naming the specs and the line. */
#include <stdlib.h>

#include "gradcheck.h"
#include "ir.h"
#include "vmap/vmap_check.h"

#include "ref/conv_dims_ref.h"

typedef struct dn_case {
    const char *name;
    int rank;
    int64_t ls[5], rs[5];
    jx_conv_dims dims;
    int64_t st[3], lo[3], hi[3], ld[3], rd[3];
    jx_padding pad;
    int64_t groups;
    const int64_t *yshape;
    const double *y, *gx, *gw;
} dn_case;

#define REF(n) n##_yshape, n##_y, n##_gx, n##_gw
/* the cases of conv_dims_ref.py, in its order */
static const dn_case cases[] = {
    {"nhwc_groups", 4, {2, 7, 6, 4}, {3, 2, 2, 6}, {"NHWC", "HWIO", "NHWC"}, {2, 1}, {1, 0}, {2, 1}, {1, 1}, {1, 2},
     JX_PADDING_EXPLICIT, 2, REF(nhwc_groups)},
    {"nhwc_same", 4, {1, 5, 6, 3}, {3, 3, 3, 4}, {"NHWC", "HWIO", "NHWC"}, {2, 2}, {0}, {0}, {1, 1}, {2, 1},
     JX_PADDING_SAME, 1, REF(nhwc_same)},
    {"nchw_valid", 4, {2, 3, 6, 5}, {4, 3, 2, 3}, {"NCHW", "OIHW", "NCHW"}, {1, 2}, {0}, {0}, {1, 1}, {1, 1},
     JX_PADDING_VALID, 1, REF(nchw_valid)},
    {"mixed_wh", 4, {2, 5, 4, 3}, {2, 3, 3, 2}, {"NHWC", "WHIO", "NCHW"}, {1, 2}, {1, 2}, {0, 1}, {1, 1}, {1, 1},
     JX_PADDING_EXPLICIT, 1, REF(mixed_wh)},
    {"nhwc_transposed", 4, {1, 3, 4, 2}, {3, 3, 2, 3}, {"NHWC", "HWIO", "NHWC"}, {1, 1}, {2, 1}, {2, 2}, {2, 2},
     {1, 1}, JX_PADDING_EXPLICIT, 1, REF(nhwc_transposed)},
    {"nwc_1d", 3, {3, 9, 2}, {4, 2, 5}, {"NWC", "WIO", "NWC"}, {3}, {0}, {0}, {1}, {1}, JX_PADDING_SAME, 1,
     REF(nwc_1d)},
    {"ndhwc_3d", 5, {1, 4, 3, 5, 2}, {2, 2, 3, 2, 2}, {"NDHWC", "DHWIO", "NDHWC"}, {1, 1, 2}, {0}, {0}, {1, 1, 1},
     {1, 1, 1}, JX_PADDING_SAME, 1, REF(ndhwc_3d)},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static void dn_body(jx_val *out, const jx_val *in, void *user) {
    const dn_case *c = user;
    int nsp = c->rank - 2;
    jx_conv_opts o = {.strides = {c->st, nsp}, .lhs_dilation = {c->ld, nsp}, .rhs_dilation = {c->rd, nsp},
                      .feature_groups = c->groups};
    if (c->pad == JX_PADDING_EXPLICIT) {
        o.pad_lo = (jx_ints){c->lo, nsp};
        o.pad_hi = (jx_ints){c->hi, nsp};
    }
    out[0] = jx_conv_general_dilated(in[0], in[1], &o, c->dims, c->pad);
}

/* sum(conv(x, w) * ct): its gradient is what the reference holds. */
static void loss_body(jx_val *out, const jx_val *in, void *user) {
    jx_val y;
    dn_body(&y, in, user);
    out[0] = jx_reduce_sum(jx_mul(y, in[2]), JX_NOINTS);
}

static int64_t numel(const int64_t *s, int r) {
    int64_t n = 1;
    for (int i = 0; i < r; i++) n *= s[i];
    return n;
}

/* v[k] = sin(0.37 k + seed) (ct: cos(0.21 k)), as conv_dims_ref.py makes them. */
static jx_array *pattern(jx_dtype t, const int64_t *shape, int rank, double seed, bool cosine) {
    int64_t n = numel(shape, rank);
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t k = 0; k < n; k++) v[k] = cosine ? cos(0.21 * (double)k) : sin(0.37 * (double)k + seed);
    jx_array *a = jt_array(t, (jx_ints){shape, rank}, v);
    free(v);
    return a;
}

static jx_aval aval_of(jx_dtype t, const int64_t *s, int r) { return jx_aval_make(t, (jx_ints){s, r}); }

/* Forward values in f64 (1e-12) and f32 (1e-5), and gradients in f64, against JAX. */
static void test_values_and_grads_vs_jax(void) {
    for (int i = 0; i < NCASES; i++) {
        const dn_case *c = &cases[i];
        int r = c->rank;
        for (int f = 0; f < 2; f++) {
            jx_dtype t = f ? JX_F32 : JX_F64;
            jx_array *in[2] = {pattern(t, c->ls, r, 1.0, false), pattern(t, c->rs, r, 2.0, false)};
            jx_array *y = jt_eval1(dn_body, (void *)c, 2, in);
            CU_ASSERT_PTR_NOT_NULL_FATAL(y);
            CU_ASSERT_EQUAL(y->aval.rank, r);
            for (int d = 0; d < r; d++) CU_ASSERT_EQUAL(y->aval.shape[d], c->yshape[d]);
            double err = jt_max_err(y, c->y, numel(c->yshape, r));
            if (err > (f ? 1e-5 : 1e-12)) fprintf(stderr, "\n  %s %s: error %g", c->name, f ? "f32" : "f64", err);
            CU_ASSERT(err <= (f ? 1e-5 : 1e-12));
            jx_array_release(y);
        }
        jx_aval av[3] = {aval_of(JX_F64, c->ls, r), aval_of(JX_F64, c->rs, r), aval_of(JX_F64, c->yshape, r)};
        jx_fn *loss = jt_trace_or_say(c->name, loss_body, (void *)c, 3, av, 1);
        jx_fn *g = loss ? jx_grad(loss, JX_INTS(0, 1)) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *in[3] = {pattern(JX_F64, c->ls, r, 1.0, false), pattern(JX_F64, c->rs, r, 2.0, false),
                           pattern(JX_F64, c->yshape, r, 0, true)};
        jx_array *out[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 2, out), JX_OK);
        JT_ASSERT_ARRAY(out[0], c->gx, numel(c->ls, r), 1e-12);
        JT_ASSERT_ARRAY(out[1], c->gw, numel(c->rs, r), 1e-12);
        jt_release_arrays(3, in);
        jt_release_arrays(2, out);
        jx_fn_release(g);
        jx_fn_release(loss);
    }
}

/* jvp against finite differences and vjp against jvp, in f64, for every case. */
static void test_grads_fd(void) {
    for (int i = 0; i < NCASES; i++) {
        const dn_case *c = &cases[i];
        jx_aval av[2] = {aval_of(JX_F64, c->ls, c->rank), aval_of(JX_F64, c->rs, c->rank)};
        CU_ASSERT(jt_check_grads(c->name, dn_body, (void *)c, 2, av, -1, 1, 1e-6));
    }
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t k = 0; k < n; k++) v[k] = sin(0.61 * (double)k + in->lo);
}

/* vmap of an NHWC convolution over the batch of images, over the kernels, and over both. */
static void test_vmap(void) {
    static const int64_t axes[3][2] = {{0, JX_NOT_MAPPED}, {JX_NOT_MAPPED, 3}, {2, 1}};
    for (int i = 0; i < NCASES; i++) {
        const dn_case *c = &cases[i];
        for (int k = 0; k < 3; k++) {
            jt_vinput in[2] = {{aval_of(JX_F64, c->ls, c->rank), axes[k][0], 1, 0},
                               {aval_of(JX_F64, c->rs, c->rank), axes[k][1], 2, 0}};
            char what[96];
            snprintf(what, sizeof what, "%s in_axes %d", c->name, k);
            CU_ASSERT(jt_check_vmap_avals(what, dn_body, (void *)c, 2, in, 1, 3, vfill, 1e-12, NULL));
        }
    }
}

/* The IR: one canonical conv; transposes around it (none for the canonical dims). */
static void test_ir(void) {
    const dn_case *c = &cases[0];
    jx_aval av[2] = {aval_of(JX_F32, c->ls, 4), aval_of(JX_F32, c->rs, 4)};
    jx_fn *f = jt_trace_or_say("nhwc", dn_body, (void *)c, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= conv_general_dilated["), 1);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= transpose[perm=(0,3,1,2)]"), 1); /* NHWC -> NCHW */
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= transpose[perm=(3,2,0,1)]"), 1); /* HWIO -> OIHW */
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= transpose[perm=(0,2,3,1)]"), 1); /* NCHW -> NHWC */
    jx_fn_release(f);
    c = &cases[2];
    jx_aval av2[2] = {aval_of(JX_F32, c->ls, 4), aval_of(JX_F32, c->rs, 4)};
    f = jt_trace_or_say("nchw", dn_body, (void *)c, 2, av2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= transpose["), 0);
    CU_ASSERT_EQUAL(f->neqn, 1);
    jx_fn_release(f);
}

/* The convenience form: NHWC, stride 2, SAME equals the general call. */
static void conv2d_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_conv2d_nhwc(in[0], in[1], 2, 2, JX_PADDING_SAME);
}

static void test_conv2d_nhwc(void) {
    const dn_case *c = &cases[1]; /* nhwc_same: strides (2,2), rhs dilation (2,1) */
    dn_case c1 = *c;
    c1.rd[0] = 1;
    int64_t x[4] = {2, 6, 5, 3}, w[4] = {3, 2, 3, 4};
    memcpy(c1.ls, x, sizeof x);
    memcpy(c1.rs, w, sizeof w);
    jx_array *a[2] = {pattern(JX_F32, x, 4, 1, false), pattern(JX_F32, w, 4, 2, false)};
    jx_array *b[2] = {pattern(JX_F32, x, 4, 1, false), pattern(JX_F32, w, 4, 2, false)};
    jx_array *y1 = jt_eval1(conv2d_body, NULL, 2, a), *y2 = jt_eval1(dn_body, &c1, 2, b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y2);
    int64_t want[4] = {2, 3, 3, 4};
    for (int d = 0; d < 4; d++) CU_ASSERT_EQUAL(y1->aval.shape[d], want[d]);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(y1), jx_array_data(y2), 2 * 3 * 3 * 4 * sizeof(float)), 0);
    jx_array_release(y1);
    jx_array_release(y2);
}

/* ------------------------------------------------------------------ errors */

typedef struct err_case {
    jx_conv_dims dims;
    jx_padding pad;
    bool lo;
} err_case;

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *user) {
    const err_case *e = user;
    jx_conv_opts o = {0};
    if (e->lo) o.pad_lo = JX_INTS(1, 1);
    err_line = __LINE__ + 1;
    out[0] = jx_conv_general_dilated(in[0], in[1], &o, e->dims, e->pad);
}

static void check_err(const err_case *e, const char *msg) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 1, 5, 5, 3), JX_AVAL(JX_F32, 3, 3, 3, 4)};
    jt_assert_trace_fails(err_body, (void *)e, 2, av, msg, __FILE__, &err_line);
}

static void test_errors(void) {
    err_case e1 = {{"NHWC", "HWI", "NHWC"}, JX_PADDING_VALID, false};
    check_err(&e1, "conv_general_dilated: dimension numbers (NHWC, HWI, NHWC) do not fit f32[1,5,5,3] * "
                   "f32[3,3,3,4]: every spec needs one letter per operand dim");
    err_case e2 = {{"NHWC", "HWIO", "NHXC"}, JX_PADDING_VALID, false};
    check_err(&e2, "the spatial letters differ between the specs");
    err_case e3 = {{"NHWC", "HHIO", "NHWC"}, JX_PADDING_VALID, false};
    check_err(&e3, "a letter repeats");
    err_case e4 = {{"NHWC", "HWIC", "NHWC"}, JX_PADDING_VALID, false};
    check_err(&e4, "lhs and out need 'N' and 'C', rhs 'O' and 'I'");
    err_case e5 = {{"NHWC", NULL, "NHWC"}, JX_PADDING_VALID, false};
    check_err(&e5, "(NHWC, NULL, NHWC)");
    err_case e6 = {JX_CONV_NHWC, JX_PADDING_SAME, true};
    check_err(&e6, "conv_general_dilated: pad_lo/pad_hi given with SAME padding: f32[1,5,5,3] * f32[3,3,3,4]");
    err_case e7 = {JX_CONV_NHWC, (jx_padding)7, false};
    check_err(&e7, "conv_general_dilated: unknown padding mode 7");
    /* the canonical layout with wrong channels: the primitive's own message */
    err_case e8 = {JX_CONV_NCHW, JX_PADDING_VALID, false};
    check_err(&e8, "input channels 5 differ from kernel's 3 x 1 groups: f32[1,5,5,3] * f32[3,3,3,4]");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"values and gradients vs JAX", test_values_and_grads_vs_jax},
        {"jvp and vjp vs finite differences", test_grads_fd},
        {"vmap vs a loop", test_vmap},
        {"traced IR", test_ir},
        {"conv2d_nhwc", test_conv2d_nhwc},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("conv_dims", tests);
}
