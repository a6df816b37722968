/* test_jaxref_conv.c: convolutions against JAX (tests/jaxref/jaxref_conv.py, driver
 * jaxref_check.h): lax.conv_general_dilated with NCHW/OIHW and NHWC/HWIO (and 1-D
 * NWC/WIO) dimension numbers, strides, explicit padding (negative too: cropping), SAME
 * and VALID, lhs dilation (transposed convolution) and rhs dilation, feature groups;
 * values and first and second derivatives in both operands, f32 and f64, and edge
 * values (inf, NaN) forward. Negative padding on both sides of a spatial dim runs in
 * f64 only: JAX 0.10's f32 CPU convolution returns garbage there (1e32 for values of
 * order 1, jit or not; docs/derivatives.md); cropping on one side agrees in f32 too. */
#include "jaxref_check.h"

enum { TOL };
static const double tols[][2] = {{1e-5, 1e-12}};
#define S JR_SMOOTH

static const jr_case cases[] = {
    {"nchw", 2, 2, S, 0, TOL, 0, {"1x2x5x5", "3x2x3x3"}},
    {"nchw", 2, 0, JR_ANY, 0, TOL, JR_NOJIT, {"1x2x4x4", "2x2x2x2"}},
    {"nchw_stride_pad", 2, 2, S, 0, TOL, 0, {"2x2x5x4", "2x2x3x2"}},
    {"nchw_neg_pad", 2, 2, S, 0, TOL, 0, {"1x2x5x5", "2x2x2x2"}},
    {"nchw_neg_pad_both", 2, 2, S, 0, TOL, JR_F64, {"1x2x5x5", "2x2x2x2"}},
    {"nchw_rhs_dilation", 2, 2, S, 0, TOL, JR_NOJIT, {"1x2x6x5", "2x2x2x2"}},
    {"nchw_lhs_dilation", 2, 2, S, 0, TOL, 0, {"1x2x3x3", "2x2x3x3"}},
    {"nchw_groups", 2, 2, S, 0, TOL, 0, {"1x4x4x4", "4x2x2x2"}},
    {"nhwc_same", 2, 2, S, 0, TOL, 0, {"1x5x4x2", "3x2x2x3"}},
    {"nhwc_valid_dil", 2, 2, S, 0, TOL, JR_NOJIT, {"2x5x5x2", "2x2x2x2"}},
    {"nhwc_groups_stride", 2, 2, S, 0, TOL, 0, {"1x5x5x4", "2x2x2x6"}},
    {"nwc_1d", 2, 2, S, 0, TOL, JR_NOJIT, {"2x7x3", "3x3x2"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

static jx_val apply(const char *n, const jx_val *x) {
#define IS(s) (strcmp(n, s) == 0)
    jx_conv_opts o = {0};
    jx_conv_dims nchw = JX_CONV_NCHW, nhwc = JX_CONV_NHWC;
    if (IS("nchw")) return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_VALID);
    if (IS("nchw_stride_pad")) {
        o.strides = JX_INTS(2, 1), o.pad_lo = JX_INTS(1, 0), o.pad_hi = JX_INTS(2, 1);
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_EXPLICIT);
    }
    if (IS("nchw_neg_pad")) {
        o.pad_lo = JX_INTS(-1, 1), o.pad_hi = JX_INTS(0, -1);
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_EXPLICIT);
    }
    if (IS("nchw_neg_pad_both")) {
        o.pad_lo = JX_INTS(-1, -1), o.pad_hi = JX_INTS(1, -1);
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_EXPLICIT);
    }
    if (IS("nchw_rhs_dilation")) {
        o.rhs_dilation = JX_INTS(2, 1), o.strides = JX_INTS(1, 2);
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_VALID);
    }
    if (IS("nchw_lhs_dilation")) {
        o.lhs_dilation = JX_INTS(2, 2), o.pad_lo = JX_INTS(2, 1), o.pad_hi = JX_INTS(2, 1);
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_EXPLICIT);
    }
    if (IS("nchw_groups")) {
        o.feature_groups = 2;
        return jx_conv_general_dilated(x[0], x[1], &o, nchw, JX_PADDING_VALID);
    }
    if (IS("nhwc_same")) {
        o.strides = JX_INTS(2, 1);
        return jx_conv_general_dilated(x[0], x[1], &o, nhwc, JX_PADDING_SAME);
    }
    if (IS("nhwc_valid_dil")) {
        o.rhs_dilation = JX_INTS(2, 2);
        return jx_conv_general_dilated(x[0], x[1], &o, nhwc, JX_PADDING_VALID);
    }
    if (IS("nhwc_groups_stride")) {
        o.feature_groups = 2, o.strides = JX_INTS(2, 2);
        return jx_conv_general_dilated(x[0], x[1], &o, nhwc, JX_PADDING_SAME);
    }
    o.pad_lo = JX_INTS(1), o.pad_hi = JX_INTS(0); /* nwc_1d */
    return jx_conv_general_dilated(x[0], x[1], &o, JX_CONV_NWC, JX_PADDING_EXPLICIT);
#undef IS
}

static void test_conv(void) { jr_run(&(jr_suite){"jaxref/jaxref_conv.py", cases, NCASES, apply, tols}); }

int main(void) { return jr_main("conv_general_dilated against JAX", test_conv); }
