"""08_autoencoder_anomaly in NumPy: the same autoencoder, data, initial weights and Adam
steps, the backward pass of the dense layers written by hand."""
import numpy as np

import data
import mlp  # noqa: I100
import tut
from optim import NumpyAdam


def loss_and_grads(p, x):
    logits, acts = mlp.forward(p, data.LAYERS, x)
    # mean binary cross-entropy on logits, stable form: max(z, 0) - z x + log1p(exp(-|z|))
    loss = np.mean(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))))
    dz = (1 / (1 + np.exp(-logits)) - x) / logits.size
    g = mlp.backward(p, data.LAYERS, acts, dz)
    return loss, g


def main():
    a = data.options("autoencoder anomaly detection on MNIST (NumPy, backprop by hand)")
    x, xt, pos = data.load(a)
    p = data.init_params(a.seed)
    opt = NumpyAdam(p, a.lr)
    steps, B, curve = len(x) // a.batch, a.batch, []
    with tut.timed("training"):
        for e in range(a.epochs):
            for s in range(steps):
                loss, g = loss_and_grads(p, x[s * B:(s + 1) * B])
                p = opt(p, g)
                curve.append(loss)
    recon = 1 / (1 + np.exp(-mlp.forward(p, data.LAYERS, xt)[0]))
    data.report(a, steps, curve, np.mean((recon - xt) ** 2, axis=1), pos)


main()
