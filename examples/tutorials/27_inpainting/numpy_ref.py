"""27_inpainting in NumPy: the same network, data, holes, initial weights and Adam steps,
the masks built on the host, the backward pass through the sigmoid and the two dense
layers written by hand (common/mlp.py)."""
import numpy as np

import data
import mlp
import tut
from optim import NumpyTrainer


def fill(p, x, rc):
    """(filled images, masks, the network's sigmoid output, its layers' activations)."""
    m = data.masks(rc)
    seen = x * (1 - m)
    o, acts = mlp.forward(p, data.NAMES, np.concatenate([seen, m], axis=1))
    s = 0.5 * (1 + np.tanh(0.5 * o))
    return seen + s * m, m, s, acts


def grads(p, x, rc):
    f, m, s, acts = fill(p, x, rc)
    n = m.sum()
    loss = np.sum((f - x) ** 2) / n
    ds = 2 * (f - x) * m / n               # d loss / d s, zero outside the hole
    return loss, mlp.backward(p, data.NAMES, acts, ds * s * (1 - s))


def main():
    a = data.options("inpainting MNIST digits with a context encoder (NumPy, backprop by hand)")
    x, rc, xt, rct = data.load(a)
    t = NumpyTrainer(data.init_params(a.seed), a.lr, grads, x, rc)
    tut.train_epochs(a, len(x) // a.batch, t, data.line)
    f, m, _, _ = fill(t.p, xt, rct)
    data.report(x, xt, f, m)


main()
