"""04_dqn_cartpole in NumPy: the same DQN, the MLP's backward pass by hand, Adam from
common/optim.py."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyAdam  # noqa: I100


def forward(p, s):
    h1 = np.maximum(s @ p["w1"] + p["b1"], 0)
    h2 = np.maximum(h1 @ p["w2"] + p["b2"], 0)
    return h2 @ p["w3"] + p["b3"], (s, h1, h2)


def greedy(p, s):
    q = forward(p, s)[0][0]
    return int(q[1] > q[0])


def main():
    a = data.options("DQN on CartPole (NumPy, backpropagation by hand)")
    params = data.init(a.seed)
    adam = NumpyAdam(params, a.lr)

    def train(p, target, batch):
        s, act, r, s2, notdone = batch
        q, (x, h1, h2) = forward(p, s)
        tq = r + np.float32(data.GAMMA) * notdone * forward(target, s2)[0].max(axis=1)
        e = (q * act).sum(axis=1) - tq
        de = np.clip(e, -1, 1) / len(e)  # d mean(huber(e, 1)) / d e
        dq = act * de[:, None]
        g = {"w3": h2.T @ dq, "b3": dq.sum(0)}
        d2 = (dq @ p["w3"].T) * (h2 > 0)
        g["w2"], g["b2"] = h1.T @ d2, d2.sum(0)
        d1 = (d2 @ p["w2"].T) * (h1 > 0)
        g["w1"], g["b1"] = x.T @ d1, d1.sum(0)
        return adam(p, g)

    params, _ = data.run(a, params, greedy, train, lambda p: dict(p))
    data.evaluate(a, params, greedy)


main()
