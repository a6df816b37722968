"""28_actor_critic in NumPy: the same A2C in one process (NumPy has no devices to spread
the update over; the loss averages over all environments, which is what the jx workers'
pmean of equal shards computes); the backward pass, the clipping and Adam by hand
(common/ac.py, common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
import ac  # noqa: I100
from optim import NumpyAdam


def policy(p, s):
    _, _, logp, v = ac.forward(p, s)
    return logp, v


def main():
    a = data.options("A2C on CartPole (NumPy, backpropagation by hand)")
    params = ac.init(a.seed)
    adam = NumpyAdam(params, a.lr, clip=data.CLIP)

    def update(p, batch):
        s, act, ret = batch
        n = len(ret)
        h, g, logp, v = ac.forward(p, s)
        prob = np.exp(logp)
        # d/dz of -mean(logp_a (R - V)), V held fixed there; d/dV of the critic's term
        dz = (prob - act) * (ret - v)[:, None] / n + ac.entropy_dz(prob, logp, data.ENTROPY_COEF, n)
        dv = data.VALUE_COEF * 2 * (v - ret) / n
        return adam(p, ac.backward(p, s, h, g, dz, dv))

    params = data.run(a, params, policy, update)
    ac.greedy_return(policy, params, a.seed)


main()
