"""What 04_dqn_cartpole's references share with dqn.c: the environment
(common/cartpole.py), the random streams, the initial weights and the DQN loop, which calls
the framework's greedy(params, state) and train(params, target, batch) functions."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402
from cartpole import CartPole, MAX_STEPS  # noqa: E402,F401

HID, BUFFER, WARMUP, SYNC, EVAL_EPISODES, GAMMA = 64, 10000, 1000, 500, 10, 0.99


def options(about):
    a = tut.parse(about, epochs=20, batch=64, lr=1e-3)
    if a.quick:
        a.epochs = 5
    return a


def init(seed):
    dims, p = [4, HID, HID, 2], {}
    for i in range(3):
        p[f"w{i + 1}"] = tut.weights(seed + 10 + i, dims[i], dims[i + 1], math.sqrt(2.0 / dims[i]))
        p[f"b{i + 1}"] = np.zeros(dims[i + 1], np.float32)
    return p


def run(a, params, greedy, train, copy):
    """The DQN loop of dqn.c. greedy(params, s f32[1,4]) -> action; train(params, target,
    (s, a one-hot, r, s2, notdone)) -> params; copy(params) -> target. Returns
    (params, episode returns)."""
    total, b = a.epochs * 1000, a.batch
    decay = total // 2
    u_explore, u_action = tut.uniform(a.seed + 1, total), tut.uniform(a.seed + 2, total)
    u_sample, u_start = tut.uniform(a.seed + 3, total * b), tut.uniform(a.seed + 4, 4 * total)
    rs, rs2 = np.zeros((BUFFER, 4), np.float32), np.zeros((BUFFER, 4), np.float32)
    ra, rnd = np.zeros(BUFFER, np.int64), np.zeros(BUFFER, np.float32)
    ones = np.ones(b, np.float32)
    returns, size, starts, ep_return = [], 0, 1, 0.0
    env, target = CartPole(u_start[0:4]), copy(params)
    with tut.timed("training"):
        for i in range(total):
            eps = max(0.05, 1 - 0.95 * i / decay)
            if u_explore[i] < eps:
                act = int(u_action[i] >= np.float32(0.5))
            else:
                act = greedy(params, np.array([env.s], np.float32))
            k = i % BUFFER
            rs[k] = env.s
            done, term = env.step(act)
            rs2[k], ra[k], rnd[k] = env.s, act, 0.0 if term else 1.0
            size += size < BUFFER
            ep_return += 1
            if done:
                returns.append(ep_return)
                ep_return = 0.0
                env, starts = CartPole(u_start[4 * starts:4 * starts + 4]), starts + 1
            if i >= WARMUP:
                m = (u_sample[i * b:(i + 1) * b] * np.float32(size)).astype(np.int64)
                onehot = np.stack([ra[m] == 0, ra[m] == 1], axis=1).astype(np.float32)
                params = train(params, target, (rs[m], onehot, ones, rs2[m], rnd[m]))
            if i % SYNC == 0:
                target = copy(params)
            if (i + 1) % 1000 == 0:
                last = returns[-10:]
                print(f"step {i + 1}: {len(returns)} episodes, mean return of the last {len(last)} "
                      f"{sum(last) / max(len(last), 1):.1f}", flush=True)
    return params, returns


def evaluate(a, params, greedy):
    starts, mean = tut.uniform(a.seed + 5, 4 * EVAL_EPISODES), 0.0
    for e in range(EVAL_EPISODES):
        env, done = CartPole(starts[4 * e:4 * e + 4]), False
        while not done:
            done, _ = env.step(greedy(params, np.array([env.s], np.float32)))
        mean += env.steps / EVAL_EPISODES
    print(f"greedy policy: mean return {mean:.1f} over {EVAL_EPISODES} episodes")
    tut.metric("eval_return", mean)
