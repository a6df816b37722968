"""23_ppo in NumPy: the same PPO; the clipped surrogate's gradient by hand, the backward
pass, the clipping by global norm and Adam from common/ac.py and common/optim.py."""
import numpy as np

import data  # first: it puts ../common on the path
import ac  # noqa: I100
from optim import NumpyAdam


def policy(p, s):
    _, _, logp, v = ac.forward(p, s)
    return logp, v


def main():
    a = data.options("PPO on CartPole (NumPy, gradients by hand)")
    params = ac.init(a.seed)
    adam = NumpyAdam(params, a.lr, eps=1e-5, clip=data.CLIP)

    def update(p, batch):
        s, act, logp_old, adv, ret = batch
        n = len(ret)
        h, g, logp, v = ac.forward(p, s)
        prob = np.exp(logp)
        adv = (adv - adv.mean()) / (adv.std() + np.float32(1e-8))
        ratio = np.exp((logp * act).sum(axis=1) - logp_old)
        clipped = np.clip(ratio, 1 - data.CLIP_EPS, 1 + data.CLIP_EPS)
        inside = (ratio >= 1 - data.CLIP_EPS) & (ratio <= 1 + data.CLIP_EPS)
        # d min(r A, clip(r) A) / d r: A where the unclipped term is the smaller (or clip is inactive)
        g_ratio = np.where(inside | (ratio * adv < clipped * adv), adv, 0)
        dz = (g_ratio * ratio)[:, None] * (prob - act) / n + ac.entropy_dz(prob, logp, data.ENTROPY_COEF, n)
        dv = data.VALUE_COEF * 2 * (v - ret) / n
        return adam(p, ac.backward(p, s, h, g, dz, dv))

    params = data.run(a, params, policy, update)
    ac.greedy_return(policy, params, a.seed)


main()
