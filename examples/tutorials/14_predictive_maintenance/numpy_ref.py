"""14_predictive_maintenance in NumPy: the same MLP, weighted loss, batches and Adam
(Optax's formulas), the backward pass written by hand."""
import numpy as np

import data
import tut


def forward(p, x):
    h1 = np.maximum(x @ p["l1.w"] + p["l1.b"], 0)
    h2 = np.maximum(h1 @ p["l2.w"] + p["l2.b"], 0)
    return h1, h2, (h2 @ p["l3.w"] + p["l3.b"])[:, 0]


def grads(p, x, y, pw):
    h1, h2, z = forward(p, x)
    w = 1 + (pw - 1) * y
    loss = np.mean(w * (np.logaddexp(0, z) - y * z))
    dz = (w * (1 / (1 + np.exp(-z)) - y) / np.float32(len(y)))[:, None]
    g = {"l3.w": h2.T @ dz, "l3.b": dz.sum(0)}
    d2 = (dz @ p["l3.w"].T) * (h2 > 0)
    g["l2.w"], g["l2.b"] = h1.T @ d2, d2.sum(0)
    d1 = (d2 @ p["l2.w"].T) * (h1 > 0)
    g["l1.w"], g["l1.b"] = x.T @ d1, d1.sum(0)
    return loss, g


def main():
    a = tut.parse("failure prediction with an MLP (NumPy)", epochs=10, batch=250, lr=3e-3)
    x, y, xt, yt, p, pw = data.problem(a)
    b, nb = a.batch, len(y) // a.batch
    mu = {k: np.zeros_like(v) for k, v in p.items()}
    nu = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, lr, t = np.float32(0.9), np.float32(0.999), np.float32(1e-8), np.float32(a.lr), 0
    with tut.timed("training"):
        for e in range(a.epochs):
            total = 0.0
            for s in range(0, nb * b, b):
                loss, g = grads(p, x[s:s + b], y[s:s + b], pw)
                total += loss
                t += 1
                for k in p:
                    mu[k] = b1 * mu[k] + (1 - b1) * g[k]
                    nu[k] = b2 * nu[k] + (1 - b2) * g[k] * g[k]
                    p[k] = p[k] - lr * (mu[k] / (1 - b1 ** t)) / (np.sqrt(nu[k] / (1 - b2 ** t)) + eps)
            print(f"epoch {e + 1}: mean weighted loss {total / nb:.4f}")
    data.report(1 / (1 + np.exp(-forward(p, xt)[2])), yt)


main()
