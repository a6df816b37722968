"""18_transfer_learning in NumPy: the same CNN, pre-training and three adaptations, the
backward pass by hand (common/conv_np.py) and Adam (common/optim.py). Freezing is
computing fewer gradients: with the features frozen the backward pass stops at the head."""
import numpy as np

import data  # first: it puts ../common on the path
from conv_np import conv_backward, conv_forward, pool_backward, pool_forward, softmax_ce
from optim import NumpyAdam  # noqa: I100


def forward(p, x):
    z1, c1 = conv_forward(x, p["features.conv1.w"], p["features.conv1.b"])
    h1, a1 = pool_forward(np.maximum(z1, 0))
    z2, c2 = conv_forward(h1, p["features.conv2.w"], p["features.conv2.b"])
    h2, a2 = pool_forward(np.maximum(z2, 0))
    f = h2.reshape(len(x), -1)
    return f @ p["head.w"] + p["head.b"], (z1, c1, a1, z2, c2, a2, f)


def grads(p, x, y, features):
    """The loss and the gradients of the head, and of the features when `features`."""
    logits, (z1, c1, a1, z2, c2, a2, f) = forward(p, x)
    loss, d = softmax_ce(logits, y)
    d /= len(y)
    g = {"head.w": f.T @ d, "head.b": d.sum(0)}
    if features:
        dz2 = pool_backward((d @ p["head.w"].T).reshape(z2.shape[0], 7, 7, -1), a2) * (z2 > 0)
        dh1, g["features.conv2.w"], g["features.conv2.b"] = conv_backward(dz2, c2, p["features.conv2.w"], True)
        dz1 = pool_backward(dh1, a1) * (z1 > 0)
        _, g["features.conv1.w"], g["features.conv1.b"] = conv_backward(dz1, c1, p["features.conv1.w"], False)
    return float(loss.mean()), g


def train(name, p, pattern, lr, epochs, s, batch):
    t = {k: v for k, v in p.items() if k.startswith(pattern)}
    print(f"{name}: training {len(t)} of {len(p)} parameter arrays, {len(s[1])} images, {epochs} epochs")
    opt = NumpyAdam(t, lr)
    for e in range(epochs):
        losses = []
        for x, y in data.batches(s, batch):
            loss, g = grads({**p, **t}, x, y, pattern == "")
            t = opt(t, {k: g[k] for k in t})
            losses.append(loss)
        print(f"epoch {e + 1}: mean training loss {np.mean(losses):.4f}")
    return {**p, **t}


def accuracy(p, s):
    return data.count_right(lambda x: forward(p, x)[0].argmax(1), s)


data.run(data.options("transfer learning, digits 0-4 to 5-9 (NumPy, backprop by hand)"), train, accuracy)
