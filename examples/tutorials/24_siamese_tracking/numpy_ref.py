"""24_siamese_tracking in NumPy: the same videos, triplets, embedding, initial weights,
Adam steps and tracker; the strided convolutions as im2col matrix products, their
backward pass and the triplet loss's gradient written by hand."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import data
import tut
from optim import NumpyAdam


def windows(x, k):
    """(N,H,W,C) -> (N,Ho,Wo,k*k*C): the stride-2 VALID windows in the kernel's (kh,kw,c) order."""
    win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::2, ::2]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(win.shape[:3] + (-1,))


def windows_back(dcols, shape, k):
    """The gradient of windows(): each window's share added back to its pixels."""
    N, Ho, Wo, _ = dcols.shape
    d = dcols.reshape(N, Ho, Wo, k, k, shape[3])
    dx = np.zeros(shape, np.float32)
    for i in range(k):
        for j in range(k):
            dx[:, i:i + 2 * Ho - 1:2, j:j + 2 * Wo - 1:2] += d[:, :, :, i, j]
    return dx


def embed(p, x):
    c1 = windows(x, 4)
    z1 = c1 @ p["conv1"]["w"] + p["conv1"]["b"]
    h1 = np.maximum(z1, 0)
    c2 = windows(h1, 3)
    z2 = c2 @ p["conv2"]["w"] + p["conv2"]["b"]
    f = np.maximum(z2, 0).reshape(len(x), -1)
    return f @ p["dense"]["w"] + p["dense"]["b"], (c1, z1, h1, c2, z2, f)


def embed_back(p, cache, dz):
    c1, z1, h1, c2, z2, f = cache
    dz2 = (dz @ p["dense"]["w"].T).reshape(z2.shape) * (z2 > 0)
    dz1 = windows_back(dz2 @ p["conv2"]["w"].T, h1.shape, 3) * (z1 > 0)
    return {"dense": {"w": f.T @ dz, "b": dz.sum(0)},
            "conv2": {"w": c2.reshape(-1, c2.shape[3]).T @ dz2.reshape(-1, data.C2), "b": dz2.sum((0, 1, 2))},
            "conv1": {"w": c1.reshape(-1, c1.shape[3]).T @ dz1.reshape(-1, data.C1), "b": dz1.sum((0, 1, 2))}}


def loss_and_grads(p, a, pos, neg):
    B = len(a)
    z, cache = embed(p, np.concatenate([a, pos, neg]))
    za, zp, zn = z[:B], z[B:2 * B], z[2 * B:]
    m = ((za - zp) ** 2).sum(1) - ((za - zn) ** 2).sum(1)
    dm = (1 / (1 + np.exp(-m)) / B)[:, None]  # d mean(softplus(m)) / dm
    dz = np.concatenate([2 * dm * (zn - zp), -2 * dm * (za - zp), 2 * dm * (za - zn)])
    return np.mean(np.logaddexp(0, m)), embed_back(p, cache, dz)


def main():
    a = data.options("a Siamese embedding tracking generated glyphs (NumPy, backprop by hand)")
    (frames, pos), (tf, tp) = data.load(a)
    trip = data.Triplets(a, frames, pos)
    p = data.init_params(a.seed)

    def dist(cand, tmpl):
        zc, zt = embed(p, cand)[0].reshape(len(tmpl), data.CAND, -1), embed(p, tmpl)[0]
        return ((zc - zt[:, None]) ** 2).sum(2)

    before = data.track(tf, tp, dist)
    opt, curve = NumpyAdam(p, a.lr), []
    with tut.timed("training"):
        for s in range(a.epochs * data.STEPS):
            loss, g = loss_and_grads(p, *trip.batch(s))
            p = opt(p, g)
            curve.append(loss)
    data.report(a, curve, before, data.track(tf, tp, dist))


main()
