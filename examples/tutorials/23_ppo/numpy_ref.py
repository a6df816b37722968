"""23_ppo in NumPy: the same PPO; the clipped surrogate's gradient, the backward pass,
the clipping by global norm and Adam by hand."""
import math

import numpy as np

import data


def forward(p, s):
    h = np.tanh(s @ p["hw"] + p["hb"])
    z = h @ p["pw"] + p["pb"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    g = np.tanh(s @ p["gw"] + p["gb"])
    return h, g, logp, (g @ p["vw"] + p["vb"])[:, 0]


def policy(p, s):
    _, _, logp, v = forward(p, s)
    return logp, v


def main():
    a = data.options("PPO on CartPole (NumPy, gradients by hand)")
    params = data.init(a.seed)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    count = [0]

    def update(p, batch):
        s, act, logp_old, adv, ret = batch
        n = len(ret)
        h, g, logp, v = forward(p, s)
        prob = np.exp(logp)
        adv = (adv - adv.mean()) / (adv.std() + np.float32(1e-8))
        ratio = np.exp((logp * act).sum(axis=1) - logp_old)
        clipped = np.clip(ratio, 1 - data.CLIP_EPS, 1 + data.CLIP_EPS)
        inside = (ratio >= 1 - data.CLIP_EPS) & (ratio <= 1 + data.CLIP_EPS)
        # d min(r A, clip(r) A) / d r: A where the unclipped term is the smaller (or clip is inactive)
        g_ratio = np.where(inside | (ratio * adv < clipped * adv), adv, 0)
        ent = -(prob * logp).sum(axis=1, keepdims=True)
        dz = (g_ratio * ratio)[:, None] * (prob - act) / n + data.ENTROPY_COEF * prob * (logp + ent) / n
        dv = data.VALUE_COEF * 2 * (v - ret) / n
        grad = {"pw": h.T @ dz, "pb": dz.sum(0), "vw": g.T @ dv[:, None], "vb": np.array([dv.sum()])}
        dh = (dz @ p["pw"].T) * (1 - h * h)
        grad["hw"], grad["hb"] = s.T @ dh, dh.sum(0)
        dg = (dv[:, None] @ p["vw"].T) * (1 - g * g)
        grad["gw"], grad["gb"] = s.T @ dg, dg.sum(0)
        norm = math.sqrt(sum(float((x * x).sum()) for x in grad.values()))
        scale = 1.0 if norm < data.CLIP else data.CLIP / norm  # optax.clip_by_global_norm
        count[0] += 1
        c1, c2, lr, out = 1 - 0.9 ** count[0], 1 - 0.999 ** count[0], np.float32(a.lr), {}
        for k in p:
            gk = (grad[k] * scale).astype(np.float32)
            m[k] = np.float32(0.9) * m[k] + np.float32(0.1) * gk
            v2[k] = np.float32(0.999) * v2[k] + np.float32(0.001) * gk * gk
            out[k] = p[k] - lr * (m[k] / np.float32(c1)) / (np.sqrt(v2[k] / np.float32(c2)) + np.float32(1e-5))
        return out

    params = data.run(a, params, policy, update)
    data.evaluate(a, params, policy)


main()
