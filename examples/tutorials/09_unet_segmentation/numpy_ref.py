"""09_unet_segmentation in NumPy: the same U-Net, its convolutions as im2col matrix
products, the backward pass by hand (common/conv_np.py: convolution, max pooling,
nearest upsampling, softmax cross-entropy), and Adam (Optax's formulas, common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from conv_np import conv_backward, conv_forward, pool_backward, pool_forward, softmax_ce, up_backward, up_forward
from optim import NumpyAdam  # noqa: I100
import tut


def relu_conv(p, name, x, cache):
    z, cols = conv_forward(x, p[name + ".w"], p[name + ".b"])
    cache[name] = (cols, z)
    return np.maximum(z, 0)


def forward(p, x):
    c = {}
    e0 = relu_conv(p, "enc0", x, c)
    q0, a0 = pool_forward(e0)
    e1 = relu_conv(p, "enc1", q0, c)
    q1, a1 = pool_forward(e1)
    m = relu_conv(p, "mid", q1, c)
    d1 = relu_conv(p, "dec1", np.concatenate([e1, up_forward(m)], 3), c)
    d0 = relu_conv(p, "dec0", np.concatenate([e0, up_forward(d1)], 3), c)
    logits, c["head"] = conv_forward(d0, p["head.w"], p["head.b"])
    return logits, (c, a0, a1)


def back(p, g, c, name, dh, need_dx=True):
    """Through relu and conv `name`: stores its gradients in g, returns its input's."""
    cols, z = c[name]
    dx, g[name + ".w"], g[name + ".b"] = conv_backward(dh * (z > 0), cols, p[name + ".w"], need_dx)
    return dx


def grads(p, x, y):
    logits, (c, a0, a1) = forward(p, x)
    loss, d = softmax_ce(logits, y)
    g = {}
    dd0, g["head.w"], g["head.b"] = conv_backward(d / np.float32(y.size), c["head"], p["head.w"], True)
    dcat0 = back(p, g, c, "dec0", dd0)
    de0, dd1 = dcat0[..., :data.W0], up_backward(dcat0[..., data.W0:])
    dcat1 = back(p, g, c, "dec1", dd1)
    de1, dm = dcat1[..., :data.W1], up_backward(dcat1[..., data.W1:])
    de1 = de1 + pool_backward(back(p, g, c, "mid", dm), a1)
    de0 = de0 + pool_backward(back(p, g, c, "enc1", de1), a0)
    back(p, g, c, "enc0", de0, need_dx=False)
    return float(loss.mean()), g


def main():
    a = data.options("U-Net segmentation of generated scenes (NumPy, backprop by hand)")
    x, y, xt, yt, steps = data.problem(a)
    p = data.init(a.seed + 10)
    opt = NumpyAdam(p, a.lr)

    def step(sl):
        nonlocal p
        loss, g = grads(p, x[sl], y[sl])
        p = opt(p, g)
        return loss

    tut.train_epochs(a, steps, step, data.epoch_line)
    data.report(forward(p, xt)[0].argmax(-1), yt)


main()
