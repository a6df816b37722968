"""The data and initial parameters of 15_srcnn, as srcnn.c makes them: MNIST digits
(f32 in [0, 1], NHWC) as targets; inputs shrunk to 14x14 and blown back up to 28x28 by
bilinear interpolation with jax.image.resize's weights (antialiased when shrinking),
written here as the two matrices that a NumPy user would build."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

S, LOW, C1, C2, K1, K3 = 28, 14, 16, 8, 9, 5


def resize_matrix(n_in, n_out):
    """(n_out, n_in) bilinear weights as jax.image.resize computes them: half-pixel centres,
    the triangle kernel widened by n_in / n_out when shrinking, normalised per output."""
    scale = n_out / n_in
    width = max(1 / scale, 1.0)
    centre = (np.arange(n_out) + 0.5) / scale - 0.5
    w = np.maximum(0, 1 - np.abs(centre[:, None] - np.arange(n_in)[None, :]) / width)
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def lowres(y):
    """(N,28,28,1) -> the bilinear 14 -> 28 stand-in for a low-resolution image."""
    m = resize_matrix(LOW, S) @ resize_matrix(S, LOW)  # down then up, along one axis
    return np.einsum("ia,nabc,jb->nijc", m, y, m).astype(np.float32)


def conv_w(seed, kh, kw, c, o, scale):
    return tut.weights(seed, kh * kw * c, o, scale).reshape(kh, kw, c, o)


def init(seed):
    """The parameters of srcnn.c's init_params (HWIO kernels)."""
    return {
        "c1.w": conv_w(seed, K1, K1, 1, C1, np.sqrt(2.0 / (K1 * K1))), "c1.b": np.zeros(C1, np.float32),
        "c2.w": conv_w(seed + 1, 1, 1, C1, C2, np.sqrt(2.0 / C1)), "c2.b": np.zeros(C2, np.float32),
        "c3.w": conv_w(seed + 2, K3, K3, C2, 1, 0.1 * np.sqrt(1.0 / (K3 * K3 * C2))), "c3.b": np.zeros(1, np.float32),
    }


def options(about):
    return tut.parse(about, epochs=5, batch=32, lr=3e-3, extra=lambda p: p.set_defaults(limit=2000))


def problem(a):
    """(x, y, xt, yt, steps): bilinear inputs and originals (N,28,28,1), training and test,
    for the options a (the C program's --quick sizes and --limit default included)."""
    if a.quick:
        a.epochs, a.limit = 2, 256
    tx, _, vx, _ = tut.load_mnist(a.data)
    n = a.limit if 0 < a.limit < len(tx) else len(tx)
    nt = 64 if a.quick else 500
    y, yt = tx[:n, :, :, None], vx[:nt, :, :, None]
    return lowres(y), y, lowres(yt), yt, n // a.batch


def psnr(a, b):
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2)))


def report(pred, xt, yt):
    p, base = psnr(pred, yt), psnr(xt, yt)
    print(f"test PSNR {p:.2f} dB (bilinear baseline {base:.2f} dB, +{p - base:.2f} dB) over {len(yt)} digits")
    tut.metric("test_psnr", p)


def epoch_line(e, mse):
    print(f"epoch {e + 1}: train MSE {mse:.5f} (PSNR {-10 * np.log10(mse):.2f} dB)")
