"""10_yolo_detection in NumPy: the same grid detector, its convolutions as im2col matrix
products, the three-part loss and the backward pass by hand (common/conv_np.py), and
Adam (Optax's formulas, common/optim.py); decoding, NMS and mAP as in the others
(common/vision.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from conv_np import conv_backward, conv_forward, pool_backward, pool_forward, softmax_ce
from optim import NumpyAdam  # noqa: I100
import tut


def s2d(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // 2, w // 2, 4 * c)


def s2d_backward(d):
    n, h, w, c4 = d.shape
    return d.reshape(n, h, w, 2, 2, c4 // 4).transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, c4 // 4)


def forward(p, x):
    c = {}

    def relu_conv(name, h):
        z, c[name] = conv_forward(h, p[name + ".w"], p[name + ".b"])
        c[name] = (c[name], z)
        return np.maximum(z, 0)

    h, arg = pool_forward(relu_conv("c1", x))
    h = s2d(relu_conv("c2", h))
    h = s2d(relu_conv("c3", h))
    y, c["head"] = conv_forward(relu_conv("c4", h), p["head.w"], p["head.b"])
    return y, (c, arg)


def grads(p, x, obj, box, cls):
    y, (c, arg) = forward(p, x)
    cells = np.float32(obj.size)
    o, b, logits = y[..., 0], y[..., 1:5], y[..., 5:]
    sig = 1 / (1 + np.exp(-o))
    ce, dce = softmax_ce(logits, cls)
    err = b - box
    loss = (np.mean(np.logaddexp(0, o) - obj * o) + (data.BOX_WEIGHT * np.sum(obj[..., None] * err * err)
                                                     + np.sum(obj * ce)) / cells)
    dy = np.concatenate([((sig - obj) / cells)[..., None], 2 * data.BOX_WEIGHT * obj[..., None] * err / cells,
                         obj[..., None] * dce / cells], -1).astype(np.float32)
    g = {}

    def back(name, dh, need_dx=True):
        cols, z = c[name]
        dx, g[name + ".w"], g[name + ".b"] = conv_backward(dh * (z > 0), cols, p[name + ".w"], need_dx)
        return dx

    dh, g["head.w"], g["head.b"] = conv_backward(dy, c["head"], p["head.w"], True)
    dh = s2d_backward(back("c4", dh))
    dh = s2d_backward(back("c3", dh))
    dh = pool_backward(back("c2", dh), arg)
    back("c1", dh, need_dx=False)
    return float(loss), g


def main():
    a = data.options("YOLO-style detection of generated shapes (NumPy, backprop by hand)")
    x, obj, box, cls, test, steps = data.problem(a)
    p = data.init(a.seed + 10)
    opt = NumpyAdam(p, a.lr)

    def step(sl):
        nonlocal p
        loss, g = grads(p, x[sl], obj[sl], box[sl], cls[sl])
        p = opt(p, g)
        return loss

    tut.train_epochs(a, steps, step, data.epoch_line)
    data.report(forward(p, test[0])[0], test)


main()
