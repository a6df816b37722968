"""30_adversarial in NumPy: the same MLP, data, initial weights, Adam steps and attacks.
The backward pass is written by hand and carried one layer further than training needs,
to the input image: that gradient's sign is the attack."""
import numpy as np

import data
import tut
from optim import NumpyAdam


def loss_and_grads(p, x, y, need_params=True):
    """The mean cross-entropy, the gradient for the weights (or None) and for the input."""
    acts, h = [], x
    for l, n in enumerate(data.NAMES):
        z = h @ p[n]["w"] + p[n]["b"]
        acts.append((h, z))
        h = np.maximum(z, 0) if l < 2 else z
    m = h.max(1, keepdims=True)
    logz = m + np.log(np.exp(h - m).sum(1, keepdims=True))
    loss = np.mean(logz[:, 0] - h[np.arange(len(y)), y])
    dz = np.exp(h - logz)
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    g = {}
    for l in reversed(range(3)):
        hin, z = acts[l]
        if l < 2:
            dz = dz * (z > 0)
        if need_params:
            g[data.NAMES[l]] = {"w": hin.T @ dz, "b": dz.sum(0)}
        dz = dz @ p[data.NAMES[l]]["w"].T
    return loss, g if need_params else None, dz


def attack(p, x0, y, steps, alpha):
    x = x0
    for _ in range(steps):
        dx = loss_and_grads(p, x, y, need_params=False)[2]
        x = np.clip(np.clip(x + np.float32(alpha) * np.sign(dx), x0 - np.float32(data.EPS), x0 + np.float32(data.EPS)), 0, 1)
    return x


def predict(p, x):
    for l, n in enumerate(data.NAMES):
        x = x @ p[n]["w"] + p[n]["b"]
        x = np.maximum(x, 0) if l < 2 else x
    return x.argmax(1)


def evaluate(p, xt, yt):
    right = np.zeros(3)
    for i in range(0, len(xt), data.EVAL_BATCH):
        x, y = xt[i:i + data.EVAL_BATCH], yt[i:i + data.EVAL_BATCH]
        for k, xa in enumerate((x, attack(p, x, y, 1, data.EPS), attack(p, x, y, data.TEST_PGD_STEPS, data.TEST_ALPHA))):
            right[k] += (predict(p, xa) == y).sum()
    return right / len(xt)


def main():
    a = data.options("FGSM and PGD attacks and adversarial training (NumPy, backprop by hand)")
    x, y, xt, yt = data.load(a)
    steps, B, acc = len(x) // a.batch, a.batch, []
    for adversarial, what in ((False, "standard training"), (True, "adversarial training (PGD-3)")):
        p = data.init_params(a.seed)
        opt = NumpyAdam(p, a.lr)
        with tut.timed(what):
            for e in range(a.epochs):
                losses = []
                for s in range(steps):
                    xb, yb = x[s * B:(s + 1) * B], y[s * B:(s + 1) * B]
                    if adversarial:
                        xb = attack(p, xb, yb, data.TRAIN_PGD_STEPS, data.TRAIN_ALPHA)
                    loss, g, _ = loss_and_grads(p, xb, yb)
                    p = opt(p, g)
                    losses.append(loss)
                data.report_epoch(what, e, losses)
        with tut.timed("attacks on the test set"):
            acc.append(evaluate(p, xt, yt))
    data.report(len(xt), acc)


main()
