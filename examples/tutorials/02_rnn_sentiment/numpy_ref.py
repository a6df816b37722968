"""02_rnn_sentiment in NumPy: the same embedding, GRU and head, the backward pass through
time written by hand, and Adam as Optax computes it (common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import tut

H = data.H


def sig(a):
    return 1 / (1 + np.exp(-a))


def forward(p, ids):
    """Logits (B,2) of the last state, and what the backward pass needs."""
    x = p["emb"][ids]  # (B,T,E)
    xi = x @ p["wi"] + p["bi"]  # every step's input projection at once
    h = np.zeros((ids.shape[0], H), np.float32)
    cache = []
    for t in range(ids.shape[1]):
        hh = h @ p["wh"] + p["bh"]
        r = sig(xi[:, t, :H] + hh[:, :H])
        z = sig(xi[:, t, H:2 * H] + hh[:, H:2 * H])
        n = np.tanh(xi[:, t, 2 * H:] + r * hh[:, 2 * H:])
        cache.append((h, hh, r, z, n))
        h = (1 - z) * n + z * h
    return h @ p["hw"] + p["hb"], (x, h, cache)


def grads(p, ids, y):
    logits, (x, h, cache) = forward(p, ids)
    e = np.exp(logits - logits.max(1, keepdims=True))
    prob = e / e.sum(1, keepdims=True)
    loss = float(-np.log(prob[np.arange(len(y)), y]).mean())
    d = prob
    d[np.arange(len(y)), y] -= 1
    d /= len(y)
    g = {"hw": h.T @ d, "hb": d.sum(0), "wh": np.zeros_like(p["wh"]), "bh": np.zeros_like(p["bh"])}
    dh, dxi = d @ p["hw"].T, np.empty(x.shape[:2] + (3 * H,), np.float32)
    for t in reversed(range(len(cache))):
        hp, hh, r, z, n = cache[t]
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (hp - n) * z * (1 - z)
        dr = dn * hh[:, 2 * H:] * r * (1 - r)
        dxi[:, t] = np.concatenate([dr, dz, dn], axis=1)
        dhh = np.concatenate([dr, dz, dn * r], axis=1)
        g["wh"] += hp.T @ dhh
        g["bh"] += dhh.sum(0)
        dh = dh * z + dhh @ p["wh"].T
    g["wi"] = np.einsum("bte,btk->ek", x, dxi)
    g["bi"] = dxi.sum((0, 1))
    g["emb"] = np.zeros_like(p["emb"])
    np.add.at(g["emb"], ids, dxi @ p["wi"].T)  # rows of the table, summed over repeats
    return loss, g


def main():
    a = data.options("sentiment of generated reviews with a GRU (NumPy, backpropagation through time by hand)")
    v, x, y, xt, yt = data.problem(a)
    train = NumpyTrainer(data.init(a.seed, len(v)), a.lr, grads, x, y)
    tut.train_epochs(a, len(x) // a.batch, train, data.epoch_line)
    data.report(forward(train.p, xt)[0], yt)


main()
