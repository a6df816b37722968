"""15_srcnn in NumPy: the same three convolutions as im2col matrix products, their
gradients by hand (col2im scatters the input gradient back), and Adam (Optax's
formulas, common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import tut


def im2col(x, k):
    """(N,H,W,C) -> (N*H*W, k*k*C): the k x k patches of SAME padding, (dy, dx, c) order as HWIO."""
    n, h, w, c = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # (N,H,W,C,k,k)
    return cols.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, k * k * c)


def col2im(dcols, shape, k):
    """The adjoint of im2col: adds each patch's gradient back onto the input positions."""
    n, h, w, c = shape
    p = k // 2
    dxp = np.zeros((n, h + 2 * p, w + 2 * p, c), np.float32)
    d = dcols.reshape(n, h, w, k, k, c)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + h, j:j + w] += d[:, :, :, i, j]
    return dxp[:, p:p + h, p:p + w]


def conv(x, w, b):
    k, o = w.shape[0], w.shape[3]
    cols = im2col(x, k)
    return (cols @ w.reshape(-1, o) + b).reshape(x.shape[:3] + (o,)), cols


def forward(p, x):
    z1, c1 = conv(x, p["c1.w"], p["c1.b"])
    h1 = np.maximum(z1, 0)
    z2, c2 = conv(h1, p["c2.w"], p["c2.b"])
    h2 = np.maximum(z2, 0)
    z3, c3 = conv(h2, p["c3.w"], p["c3.b"])
    return x + z3, (z1, c1, h1, z2, c2, h2, c3)


def grads(p, x, y):
    out, (z1, c1, h1, z2, c2, h2, c3) = forward(p, x)
    err = out - y
    loss = float(np.mean(err * err))
    g, d = {}, (2 / np.float32(err.size)) * err.reshape(-1, 1)  # dL/dz3, one column
    for name, cols, z, h in (("c3", c3, z2, h2), ("c2", c2, z1, h1), ("c1", c1, None, None)):
        w = p[name + ".w"]
        g[name + ".w"] = (cols.T @ d).reshape(w.shape)
        g[name + ".b"] = d.sum(0)
        if z is None:
            break
        dh = d @ w.reshape(-1, w.shape[3]).T
        if w.shape[0] > 1:
            dh = col2im(dh, h.shape, w.shape[0]).reshape(-1, h.shape[3])
        d = dh * (z.reshape(-1, z.shape[3]) > 0)
    return loss, g


def main():
    a = data.options("SRCNN super-resolution (NumPy)")
    x, y, xt, yt, steps = data.problem(a)
    train = NumpyTrainer(data.init(a.seed + 10), a.lr, grads, x, y)
    tut.train_epochs(a, steps, train, data.epoch_line)
    data.report(forward(train.p, xt)[0], xt, yt)


main()
