"""26_prototypical_nets in NumPy: the same glyphs, episodes, embedding, initial weights
and Adam steps; the prototypes, the distances' softmax and their gradients written by
hand, the MLP's backward pass from common/mlp.py."""
import numpy as np

import data
import mlp
import tut
from optim import NumpyAdam


def forward(a, p, x):
    """x (E, n, 784) -> logits (E, way*query, way) and what backward needs."""
    E, n, _ = x.shape
    z, acts = mlp.forward(p, data.NAMES, x.reshape(E * n, -1))
    z = z.reshape(E, n, -1)
    ns = a.way * a.shot
    protos = z[:, :ns].reshape(E, a.way, a.shot, -1).mean(2)
    q = z[:, ns:]
    logits = 2 * q @ protos.transpose(0, 2, 1) - (protos ** 2).sum(2)[:, None, :]
    return logits, (acts, protos, q)


def loss_and_grads(a, p, x, y):
    logits, (acts, protos, q) = forward(a, p, x)
    E, nq, way = logits.shape
    e = np.exp(logits - logits.max(2, keepdims=True))
    soft = e / e.sum(2, keepdims=True)
    loss = -np.mean(np.log(soft[:, np.arange(nq), y]))
    dl = soft
    dl[:, np.arange(nq), y] -= 1
    dl /= E * nq
    dq = 2 * dl @ protos                                                   # (E, nq, D)
    dp = 2 * dl.transpose(0, 2, 1) @ q - 2 * dl.sum(1)[:, :, None] * protos  # (E, way, D)
    ds = np.repeat(dp / a.shot, a.shot, axis=1)                            # each support's share
    dz = np.concatenate([ds, dq], axis=1)
    return loss, mlp.backward(p, data.NAMES, acts, dz.reshape(-1, dz.shape[2]))


def main():
    a = data.options("few-shot classification with prototypical networks on generated glyphs (NumPy, by hand)")
    train, test = data.load(a)
    p = data.init_params(a.seed)
    y = data.labels(a)
    acc = lambda x: (forward(a, p, x)[0].argmax(2) == y).mean(1)  # noqa: E731
    before = data.evaluate(a, test, acc)
    opt, curve = NumpyAdam(p, a.lr), []
    with tut.timed("training"):
        for s in range(a.epochs * data.STEPS):
            loss, g = loss_and_grads(a, p, train.batch(s), y)
            p = opt(p, g)
            curve.append(loss)
    data.report(a, curve, before, data.evaluate(a, test, acc))


main()
