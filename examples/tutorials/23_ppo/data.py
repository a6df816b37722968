"""What 23_ppo's references share with ppo.c: the random streams and the PPO loop
(rollouts, GAE, shuffled minibatches), which calls the framework's policy(params, states)
-> (log pi (n,2), values) and update(params, minibatch) -> params (the networks:
common/ac.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402
from cartpole import CartPole  # noqa: E402

ENVS, ROLL, EPOCHS = 8, 128, 4
GAMMA, LAMBDA, CLIP_EPS, VALUE_COEF, ENTROPY_COEF, CLIP = 0.99, 0.95, 0.2, 0.5, 0.01, 0.5


def options(about):
    a = tut.parse(about, epochs=50, batch=256, lr=3e-4)
    if a.quick:
        a.epochs = 20
    return a


def run(a, params, policy, update):
    t_all, b = ENVS * ROLL, a.batch
    iters = a.epochs * 1000 // t_all
    u_act, u_perm = tut.uniform(a.seed + 1, iters * t_all), tut.uniform(a.seed + 3, iters * EPOCHS * t_all)
    u_start = tut.uniform(a.seed + 4, 4 * (iters * t_all + ENVS))
    envs = [CartPole(u_start[4 * e:4 * e + 4]) for e in range(ENVS)]
    starts, returns, ep = ENVS, [], [0.0] * ENVS
    ts, ta = np.zeros((t_all, 4), np.float32), np.zeros((t_all, 2), np.float32)
    tlp, tv, tnd = np.zeros(t_all, np.float32), np.zeros(t_all, np.float32), np.zeros(t_all, np.float32)
    tadv, tret = np.zeros(t_all, np.float32), np.zeros(t_all, np.float32)
    g, gl = np.float32(GAMMA), np.float32(GAMMA * LAMBDA)
    with tut.timed("training"):
        for it in range(iters):
            for k in range(ROLL):
                s = np.array([e.s for e in envs], np.float32)
                lp, v = policy(params, s)
                for e in range(ENVS):
                    row = k * ENVS + e
                    act = int(u_act[it * t_all + row] < np.exp(lp[e, 1]))
                    ts[row], ta[row], tlp[row], tv[row] = s[e], (act == 0, act == 1), lp[e, act], v[e]
                    done, _ = envs[e].step(act)
                    tnd[row], ep[e] = 0.0 if done else 1.0, ep[e] + 1
                    if done:
                        returns.append(ep[e])
                        ep[e] = 0.0
                        envs[e], starts = CartPole(u_start[4 * starts:4 * starts + 4]), starts + 1
            _, v = policy(params, np.array([e.s for e in envs], np.float32))
            for e in range(ENVS):
                gae, nxt = np.float32(0), v[e]
                for k in reversed(range(ROLL)):
                    row = k * ENVS + e
                    delta = np.float32(1) + g * tnd[row] * nxt - tv[row]
                    gae = delta + gl * tnd[row] * gae
                    tadv[row], tret[row], nxt = gae, gae + tv[row], tv[row]
            for ep_i in range(EPOCHS):
                perm = np.argsort(u_perm[(it * EPOCHS + ep_i) * t_all:(it * EPOCHS + ep_i + 1) * t_all], kind="stable")
                for m0 in range(0, t_all, b):
                    idx = perm[m0:m0 + b]
                    params = update(params, (ts[idx], ta[idx], tlp[idx], tadv[idx], tret[idx]))
            if (it + 1) % 5 and it + 1 < iters:
                continue
            last = returns[-10:]
            print(f"step {(it + 1) * t_all}: {len(returns)} episodes, mean return of the last {len(last)} "
                  f"{sum(last) / max(len(last), 1):.1f}", flush=True)
    return params
