"""The data, masks, initial weights and report of 27_inpainting, as inpainting.c has
them: the first --limit training images in the file's order; each image's hole, a
HOLE x HOLE square whose top-left corner (r, c) lies in [LO, LO + SPAN), drawn from
common/tut.py's generator (training holes from seed + 500, test holes from seed + 600);
the network's weights from common/mlp.py; the mean-fill baseline (the mean training
image's pixels in the hole) and the PSNR on the hole's pixels."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

HOLE, LO, SPAN, HID, EVAL_BATCH = 10, 5, 9, 256, 1000
NAMES, WIDTHS = ("fc1", "fc2"), (2 * 784, HID, 784)


def options(about):
    return mnist_ref.options(about, 5, 64, 1e-3, 8000, (5, 32, 2000))


def holes(seed, n):
    """(n, 2) int32 top-left corners: LO + floor(u * SPAN) for common/tut.py's u."""
    return (LO + np.floor(tut.uniform(seed, 2 * n) * SPAN)).astype(np.int32).reshape(n, 2)


def masks(rc):
    """(n, 784) float32: 1 inside each hole, 0 elsewhere."""
    i = np.arange(28)
    r, c = rc[:, :1, None], rc[:, 1:, None]
    rows = (i[None, :, None] >= r) & (i[None, :, None] < r + HOLE)
    cols = (i[None, None, :] >= c) & (i[None, None, :] < c + HOLE)
    return (rows & cols).astype(np.float32).reshape(-1, 784)


def load(a):
    """(x, rc, xt, rct): training and test images (N,784) in [0, 1] and their holes."""
    x, _, xt, _ = mnist_ref.load(a, EVAL_BATCH)
    return x, holes(a.seed + 500, len(x)), xt, holes(a.seed + 600, len(xt))


def init_params(seed):
    return mlp.init(NAMES, WIDTHS, seed)


def psnr_hole(fill, x, m):
    """PSNR in dB on the hole's pixels: 10 log10(1 / their mean squared error)."""
    se = (((fill.astype(np.float64) - x) * m) ** 2).sum()
    return 10 * np.log10(m.sum() / se)


def line(e, mse):
    print(f"epoch {e + 1}: mean hole MSE {mse:.4f}")


def report(x, xt, fill, m):
    """fill: the network's test images (hole filled, the rest as given)."""
    base = psnr_hole(x.mean(0)[None, :] * m + xt * (1 - m), xt, m)
    got = psnr_hole(fill, xt, m)
    print(f"hole PSNR on {len(xt)} test images {got:.2f} dB (mean fill {base:.2f} dB, {got - base:+.2f} dB)")
    tut.metric("hole_psnr_db", got)
