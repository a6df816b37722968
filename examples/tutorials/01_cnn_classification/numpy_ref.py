"""01_cnn_classification in NumPy: the same CNN, data, initial weights and Adam steps,
the convolutions as im2col matrix products and the backward pass written by hand."""
import numpy as np

import data
import tut
from conv_np import pool_backward, pool_forward
from optim import NumpyAdam


def conv_forward(x, w, b):
    """3x3 SAME convolution, x (B,H,W,C), w (3,3,C,O): the columns (B,H,W,9C) hold each
    pixel's neighbourhood in w's (kh, kw, c) order, so that the convolution is one matmul."""
    B, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.concatenate([xp[:, i:i + H, j:j + W, :] for i in range(3) for j in range(3)], axis=3)
    return (cols.reshape(-1, 9 * C) @ w.reshape(9 * C, -1) + b).reshape(B, H, W, -1), cols


def conv_backward(dy, cols, w, need_dx):
    """Gradients of conv_forward: dw, db and (need_dx) dx, the columns scattered back."""
    B, H, W, O = dy.shape
    C = w.shape[2]
    dy2 = dy.reshape(-1, O)
    dw = (cols.reshape(-1, 9 * C).T @ dy2).reshape(w.shape)
    if not need_dx:
        return None, dw, dy2.sum(0)
    dcols = (dy2 @ w.reshape(9 * C, O).T).reshape(B, H, W, 9 * C)
    dxp = np.zeros((B, H + 2, W + 2, C), np.float32)
    for k in range(9):
        i, j = divmod(k, 3)
        dxp[:, i:i + H, j:j + W, :] += dcols[..., k * C:(k + 1) * C]
    return dxp[:, 1:-1, 1:-1, :], dw, dy2.sum(0)


def forward(p, x):
    z1, cols1 = conv_forward(x, p["conv1"]["w"], p["conv1"]["b"])
    h1, arg1 = pool_forward(np.maximum(z1, 0))
    z2, cols2 = conv_forward(h1, p["conv2"]["w"], p["conv2"]["b"])
    h2, arg2 = pool_forward(np.maximum(z2, 0))
    f = h2.reshape(len(x), -1)
    return f @ p["dense"]["w"] + p["dense"]["b"], (z1, cols1, arg1, z2, cols2, arg2, f)


def loss_and_grads(p, x, y):
    logits, (z1, cols1, arg1, z2, cols2, arg2, f) = forward(p, x)
    m = logits.max(1, keepdims=True)
    logz = m + np.log(np.exp(logits - m).sum(1, keepdims=True))
    loss = np.mean(logz[:, 0] - logits[np.arange(len(y)), y])
    dl = np.exp(logits - logz)
    dl[np.arange(len(y)), y] -= 1
    dl /= len(y)
    g = {"dense": {"w": f.T @ dl, "b": dl.sum(0)}}
    dh2 = (dl @ p["dense"]["w"].T).reshape(z2.shape[0], 7, 7, -1)
    dz2 = pool_backward(dh2, arg2) * (z2 > 0)
    dh1, g2w, g2b = conv_backward(dz2, cols2, p["conv2"]["w"], True)
    dz1 = pool_backward(dh1, arg1) * (z1 > 0)
    _, g1w, g1b = conv_backward(dz1, cols1, p["conv1"]["w"], False)
    g["conv1"], g["conv2"] = {"w": g1w, "b": g1b}, {"w": g2w, "b": g2b}
    return loss, g


def main():
    a = data.options("a small CNN on MNIST (NumPy, backprop by hand)")
    x, y, xt, yt = data.load(a)
    p = data.init_params(a.seed)
    opt = NumpyAdam(p, a.lr)
    steps, B, curve = len(x) // a.batch, a.batch, []
    with tut.timed("training"):
        for e in range(a.epochs):
            for s in range(steps):
                loss, g = loss_and_grads(p, x[s * B:(s + 1) * B], y[s * B:(s + 1) * B])
                p = opt(p, g)
                curve.append(loss)
    right = sum(int((forward(p, xt[i:i + data.EVAL_BATCH])[0].argmax(1) == yt[i:i + data.EVAL_BATCH]).sum())
                for i in range(0, len(xt), data.EVAL_BATCH))
    data.report(a, steps, curve, right / len(xt))


main()
