"""07_lstm_forecasting in NumPy: the same LSTM, its backward pass through time written by
hand, and Adam as Optax computes it (common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import tut

H = data.H


def sig(z):
    return 1 / (1 + np.exp(-z))


def forward(p, x):
    b = x.shape[0]
    h, c = np.zeros((b, H), np.float32), np.zeros((b, H), np.float32)
    cache = []
    for t in range(x.shape[1]):
        z = x[:, t] @ p["wi"] + h @ p["wh"] + p["b"]
        i, f, g, o = sig(z[:, :H]), sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sig(z[:, 3 * H:])
        cache.append((x[:, t], h, c, i, f, g, o))
        c = f * c + i * g
        h = o * np.tanh(c)
        cache[-1] += (c,)
    return h @ p["hw"] + p["hb"], h, cache


def grads(p, x, y):
    pred, h, cache = forward(p, x)
    d = 2 * (pred - y) / pred.size
    g = {k: np.zeros_like(v) for k, v in p.items()}
    g["hw"], g["hb"] = h.T @ d, d.sum(0)
    dh, dc = d @ p["hw"].T, np.zeros_like(h)
    for xt, hp, cp, i, f, gg, o, c in reversed(cache):
        tc = np.tanh(c)
        dc = dc + dh * o * (1 - tc * tc)
        dz = np.concatenate([dc * gg * i * (1 - i), dc * cp * f * (1 - f), dc * i * (1 - gg * gg),
                             dh * tc * o * (1 - o)], axis=1)
        g["wi"] += xt.T @ dz
        g["wh"] += hp.T @ dz
        g["b"] += dz.sum(0)
        dh, dc = dz @ p["wh"].T, dc * f
    return float(np.mean((pred - y) ** 2)), g


def main():
    a = data.options("LSTM forecasting (NumPy, backpropagation through time by hand)")
    x, y, xt, yt, steps = data.problem(a)
    train = NumpyTrainer(data.init(a.seed), a.lr, grads, x, y)
    tut.train_epochs(a, steps, train)
    data.report(forward(train.p, xt)[0], xt, yt)


main()
