"""What 28_actor_critic's references share with actor_critic.c: the random streams and
the A2C loop, which calls the framework's policy(params, states) -> (log pi, values) and
update(params, (s, a one-hot, returns)) -> params (the networks: common/ac.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402
from cartpole import CartPole  # noqa: E402

ROLL, GAMMA, VALUE_COEF, ENTROPY_COEF, CLIP = 5, 0.99, 0.5, 0.01, 0.5


def options(about):
    a = tut.parse(about, epochs=60, batch=8, lr=2e-3,
                  extra=lambda p: p.add_argument("--workers", type=int, default=2))
    if a.quick:
        a.epochs = 15
    return a


def run(a, params, policy, update):
    n = a.batch
    updates = a.epochs * 1000 // (n * ROLL)
    u_act = tut.uniform(a.seed + 1, updates * ROLL * n)
    u_start = tut.uniform(a.seed + 4, 4 * (updates * ROLL * n + n))
    envs = [CartPole(u_start[4 * e:4 * e + 4]) for e in range(n)]
    starts, returns, ep = n, [], [0.0] * n
    bs, ba = np.zeros((n * ROLL, 4), np.float32), np.zeros((n * ROLL, 2), np.float32)
    rew, nd, bret = np.ones(n * ROLL, np.float32), np.zeros(n * ROLL, np.float32), np.zeros(n * ROLL, np.float32)
    with tut.timed("training"):
        for u in range(updates):
            for k in range(ROLL):
                s = np.array([e.s for e in envs], np.float32)
                lp, _ = policy(params, s)
                for e in range(n):
                    row = e * ROLL + k
                    act = int(u_act[(u * ROLL + k) * n + e] < np.exp(lp[e, 1]))
                    bs[row], ba[row] = s[e], (act == 0, act == 1)
                    done, _ = envs[e].step(act)
                    nd[row], ep[e] = 0.0 if done else 1.0, ep[e] + 1
                    if done:
                        returns.append(ep[e])
                        ep[e] = 0.0
                        envs[e], starts = CartPole(u_start[4 * starts:4 * starts + 4]), starts + 1
            _, v = policy(params, np.array([e.s for e in envs], np.float32))
            for e in range(n):
                ret = v[e]
                for k in reversed(range(ROLL)):
                    row = e * ROLL + k
                    ret = rew[row] + np.float32(GAMMA) * nd[row] * ret
                    bret[row] = ret
            params = update(params, (bs, ba, bret))
            if (u + 1) * n * ROLL % 5000 == 0:
                last = returns[-10:]
                print(f"step {(u + 1) * n * ROLL}: {len(returns)} episodes, mean return of the last {len(last)} "
                      f"{sum(last) / max(len(last), 1):.1f}", flush=True)
    return params
