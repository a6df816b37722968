"""conv_np.py: the convolutional layers of the vision tutorials' NumPy references
(09, 10, 18), forward and backward by hand, NHWC: a k x k SAME convolution as one
im2col matrix product, 2x2 max pooling, nearest 2x upsampling, and softmax
cross-entropy over the last axis; and common/convnet.h's initial kernels."""
import numpy as np

import tut


def he_conv(seed, k, c, o):
    """common/convnet.h's tut_conv_init kernel: (k,k,c,o) of normal(seed) * sqrt(2 / (k k c))."""
    return tut.weights(seed, k * k * c, o, np.sqrt(2.0 / (k * k * c))).reshape(k, k, c, o)


def init_convs(seed, layers):
    """{NAME.w, NAME.b} for each (NAME, k, c, o) of layers, the i-th kernel from seed + i,
    as the C programs' tut_conv_init calls draw them."""
    p = {}
    for i, (name, k, c, o) in enumerate(layers):
        p[name + ".w"] = he_conv(seed + i, k, c, o)
        p[name + ".b"] = np.zeros(o, np.float32)
    return p


def conv_forward(x, w, b):
    """k x k SAME convolution, x (B,H,W,C), w (k,k,C,O): the columns (B*H*W, k*k*C) hold
    each pixel's neighbourhood in w's (kh, kw, c) order. Returns (y, cols)."""
    B, H, W, C = x.shape
    k, O = w.shape[0], w.shape[3]
    if k == 1:
        cols = x.reshape(-1, C)
    else:
        p = k // 2
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        cols = np.concatenate([xp[:, i:i + H, j:j + W, :] for i in range(k) for j in range(k)], axis=3)
        cols = cols.reshape(-1, k * k * C)
    return (cols @ w.reshape(-1, O) + b).reshape(B, H, W, O), cols


def conv_backward(dy, cols, w, need_dx):
    """(dx or None, dw, db) of conv_forward; dx scatters the columns' gradient back."""
    B, H, W, O = dy.shape
    k, C = w.shape[0], w.shape[2]
    dy2 = dy.reshape(-1, O)
    dw = (cols.T @ dy2).reshape(w.shape)
    if not need_dx:
        return None, dw, dy2.sum(0)
    dcols = (dy2 @ w.reshape(-1, O).T).reshape(B, H, W, k * k * C)
    if k == 1:
        return dcols, dw, dy2.sum(0)
    p = k // 2
    dxp = np.zeros((B, H + 2 * p, W + 2 * p, C), np.float32)
    for n in range(k * k):
        i, j = divmod(n, k)
        dxp[:, i:i + H, j:j + W, :] += dcols[..., n * C:(n + 1) * C]
    return dxp[:, p:p + H, p:p + W, :], dw, dy2.sum(0)


def pool_forward(a):
    """2x2 max pooling; also the winner of each window (the first maximum, as XLA's)."""
    B, H, W, C = a.shape
    win = a.reshape(B, H // 2, 2, W // 2, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(B, H // 2, W // 2, C, 4)
    arg = win.argmax(-1)
    return np.take_along_axis(win, arg[..., None], -1)[..., 0], arg


def pool_backward(dy, arg):
    B, H2, W2, C = dy.shape
    dwin = np.zeros((B, H2, W2, C, 4), np.float32)
    np.put_along_axis(dwin, arg[..., None], dy[..., None], -1)
    return dwin.reshape(B, H2, W2, C, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(B, 2 * H2, 2 * W2, C)


def up_forward(x):
    """Nearest-neighbour 2x upsampling (B,H,W,C) -> (B,2H,2W,C)."""
    return x.repeat(2, axis=1).repeat(2, axis=2)


def up_backward(dy):
    B, H, W, C = dy.shape
    return dy.reshape(B, H // 2, 2, W // 2, 2, C).sum((2, 4))


def softmax_ce(logits, labels):
    """(per-position losses, dlosses/dlogits) of softmax cross-entropy over the last axis
    with integer labels."""
    m = logits.max(-1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(-1, keepdims=True)
    logp = logits - m - np.log(s)
    loss = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    d = e / s
    np.put_along_axis(d, labels[..., None], np.take_along_axis(d, labels[..., None], -1) - 1, -1)
    return loss, d
