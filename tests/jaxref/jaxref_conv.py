"""jaxref_conv.py: JAX's values for tests/jaxref/test_jaxref_conv.c (protocol in
jaxref_run.py): lax.conv_general_dilated under several dimension numbers."""
from jaxref_run import run  # first: it configures jax (x64, cpu)

from jax import lax

NCHW, NHWC = ("NCHW", "OIHW", "NCHW"), ("NHWC", "HWIO", "NHWC")


def conv(dims, padding, strides=(1, 1), lhs_dil=None, rhs_dil=None, groups=1):
    return lambda x, w: lax.conv_general_dilated(
        x, w, strides, padding, lhs_dilation=lhs_dil, rhs_dilation=rhs_dil, dimension_numbers=dims,
        feature_group_count=groups, precision=lax.Precision.HIGHEST)


OPS = {
    "nchw": conv(NCHW, "VALID"),
    "nchw_stride_pad": conv(NCHW, ((1, 2), (0, 1)), strides=(2, 1)),
    "nchw_neg_pad": conv(NCHW, ((-1, 0), (1, -1))),
    "nchw_neg_pad_both": conv(NCHW, ((-1, 1), (-1, -1))),  # f64 only: JAX's f32 gives garbage
    "nchw_rhs_dilation": conv(NCHW, "VALID", strides=(1, 2), rhs_dil=(2, 1)),
    "nchw_lhs_dilation": conv(NCHW, ((2, 2), (1, 1)), lhs_dil=(2, 2)),
    "nchw_groups": conv(NCHW, "VALID", groups=2),
    "nhwc_same": conv(NHWC, "SAME", strides=(2, 1)),
    "nhwc_valid_dil": conv(NHWC, "VALID", rhs_dil=(2, 2)),
    "nhwc_groups_stride": conv(NHWC, "SAME", strides=(2, 2), groups=2),
    "nwc_1d": conv(("NWC", "WIO", "NWC"), ((1, 0),), strides=(1,)),
}

run(OPS)
