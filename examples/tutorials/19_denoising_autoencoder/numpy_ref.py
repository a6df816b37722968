"""19_denoising_autoencoder in NumPy: the same autoencoder, data, initial weights and Adam
steps, the backward pass written by hand. The training noise comes from NumPy's own
generator (the C program and JAX draw jax.random's threefry normals, which NumPy does not
have): the same distribution, other numbers, so the metric agrees to a few hundredths of
a dB rather than exactly. The test noise is common/tut.py's, the same in all three."""
import numpy as np

import data
import mlp  # noqa: I100
import tut
from optim import NumpyAdam


def loss_and_grads(p, x, noisy):
    logits, acts = mlp.forward(p, data.LAYERS, noisy)
    y = 1 / (1 + np.exp(-logits))
    loss = np.mean((y - x) ** 2)
    dz = 2 * (y - x) * y * (1 - y) / y.size
    g = mlp.backward(p, data.LAYERS, acts, dz)
    return loss, g


def main():
    a = data.options("a denoising autoencoder on MNIST (NumPy, backprop by hand)")
    x, clean, noisy = data.load(a)
    p = data.init_params(a.seed)
    opt, rng = NumpyAdam(p, a.lr), np.random.default_rng(a.seed)
    steps, B, curve = len(x) // a.batch, a.batch, []
    with tut.timed("training"):
        for _ in range(a.epochs):
            for s in range(steps):
                xb = x[s * B:(s + 1) * B]
                nb = np.clip(xb + data.SIGMA * rng.standard_normal(xb.shape, np.float32), 0, 1)
                loss, g = loss_and_grads(p, xb, nb)
                p = opt(p, g)
                curve.append(loss)
    data.report(a, steps, curve, clean, noisy, 1 / (1 + np.exp(-mlp.forward(p, data.LAYERS, noisy)[0])))


main()
