"""17_vae in NumPy: the same VAE, data, initial weights and Adam steps, the backward pass
through the decoder, the reparameterisation and the closed-form KL written by hand. The
training eps comes from NumPy's generator (jx and JAX draw jax.random's threefry
normals): the same distribution, other numbers, so the ELBO agrees to a few tenths of a
nat rather than exactly. The test eps is common/tut.py's, the same in all three."""
import numpy as np

import data
import tut
from optim import NumpyAdam

L = data.LATENT


def bce(logits, x):
    """Binary cross-entropy on logits summed over pixels, stable form."""
    return np.sum(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))), axis=1)


def forward(p, x, eps):
    e, d = p["enc"], p["dec"]
    h1 = np.maximum(x @ e["enc1"]["w"] + e["enc1"]["b"], 0)
    o = h1 @ e["enc2"]["w"] + e["enc2"]["b"]
    mu, lv = o[:, :L], o[:, L:]
    std = np.exp(0.5 * lv)
    z = mu + std * eps
    h3 = np.maximum(z @ d["dec1"]["w"] + d["dec1"]["b"], 0)
    logits = h3 @ d["dec2"]["w"] + d["dec2"]["b"]
    recon, kl = bce(logits, x), -0.5 * np.sum(1 + lv - mu ** 2 - np.exp(lv), axis=1)
    return recon, kl, (h1, mu, lv, std, z, h3, logits)


def loss_and_grads(p, x, eps):
    recon, kl, (h1, mu, lv, std, z, h3, logits) = forward(p, x, eps)
    B = len(x)
    dlogits = (1 / (1 + np.exp(-logits)) - x) / B
    dh3 = (dlogits @ p["dec"]["dec2"]["w"].T) * (h3 > 0)
    dz = dh3 @ p["dec"]["dec1"]["w"].T
    dmu = dz + mu / B                                   # d KL / d mu = mu
    dlv = dz * eps * 0.5 * std + 0.5 * (np.exp(lv) - 1) / B   # d KL / d logvar = (exp(logvar) - 1) / 2
    do = np.concatenate([dmu, dlv], axis=1)
    dh1 = (do @ p["enc"]["enc2"]["w"].T) * (h1 > 0)
    g = {"enc": {"enc1": {"w": x.T @ dh1, "b": dh1.sum(0)}, "enc2": {"w": h1.T @ do, "b": do.sum(0)}},
         "dec": {"dec1": {"w": z.T @ dh3, "b": dh3.sum(0)}, "dec2": {"w": h3.T @ dlogits, "b": dlogits.sum(0)}}}
    return np.mean(recon + kl), g


def main():
    a = data.options("a variational autoencoder on MNIST (NumPy, backprop by hand)")
    x, xt, eps_t = data.load(a)
    p = data.init_params(a.seed)
    opt, rng = NumpyAdam(p, a.lr), np.random.default_rng(a.seed)
    steps, B, curve = len(x) // a.batch, a.batch, []
    with tut.timed("training"):
        for _ in range(a.epochs):
            for s in range(steps):
                loss, g = loss_and_grads(p, x[s * B:(s + 1) * B], rng.standard_normal((B, L), np.float32))
                p = opt(p, g)
                curve.append(loss)
    recon, kl, _ = forward(p, xt, eps_t)
    data.report(a, steps, curve, np.mean(recon + kl), np.mean(recon), np.mean(kl))


main()
