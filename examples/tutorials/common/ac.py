"""ac.py: common/ac.h for the references of tutorials 23 (PPO) and 28 (A2C): the actor
and critic (two 4-64 tanh MLPs) drawn as ac_init draws them, their forward and backward
passes in NumPy, the same network in JAX, and the greedy evaluation on CartPole."""
import math

import numpy as np

import tut
from cartpole import CartPole

HIDDEN = 64


def init(seed):
    w = tut.weights
    return {"hw": w(seed + 10, 4, HIDDEN, math.sqrt(2.0 / 4)), "hb": np.zeros(HIDDEN, np.float32),
            "pw": w(seed + 11, HIDDEN, 2, 0.01), "pb": np.zeros(2, np.float32),
            "gw": w(seed + 13, 4, HIDDEN, math.sqrt(2.0 / 4)), "gb": np.zeros(HIDDEN, np.float32),
            "vw": w(seed + 12, HIDDEN, 1, 1.0 / math.sqrt(HIDDEN)), "vb": np.zeros(1, np.float32)}


def forward(p, s):
    """NumPy: (actor hidden h, critic hidden g, log pi (n,2), V (n))."""
    h = np.tanh(s @ p["hw"] + p["hb"])
    z = h @ p["pw"] + p["pb"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    g = np.tanh(s @ p["gw"] + p["gb"])
    return h, g, logp, (g @ p["vw"] + p["vb"])[:, 0]


def backward(p, s, h, g, dz, dv):
    """NumPy: the gradients of every parameter from d loss / d logits (dz) and d loss / d V."""
    grad = {"pw": h.T @ dz, "pb": dz.sum(0), "vw": g.T @ dv[:, None], "vb": np.array([dv.sum()])}
    dh = (dz @ p["pw"].T) * (1 - h * h)
    grad["hw"], grad["hb"] = s.T @ dh, dh.sum(0)
    dg = (dv[:, None] @ p["vw"].T) * (1 - g * g)
    grad["gw"], grad["gb"] = s.T @ dg, dg.sum(0)
    return grad


def entropy_dz(prob, logp, coef, n):
    """d (-coef * mean entropy) / d logits."""
    ent = -(prob * logp).sum(axis=1, keepdims=True)
    return coef * prob * (logp + ent) / n


def jax_net(p, s):
    import jax
    import jax.numpy as jnp
    h = jnp.tanh(s @ p["hw"] + p["hb"])
    g = jnp.tanh(s @ p["gw"] + p["gb"])
    return jax.nn.log_softmax(h @ p["pw"] + p["pb"], axis=1), (g @ p["vw"] + p["vb"])[:, 0]


def greedy_return(policy, params, seed, episodes=10):
    """Prints and reports (metric eval_return) the greedy policy's mean return from the
    fixed starts of stream seed + 5; policy(params, states) -> (log pi, V)."""
    starts, mean = tut.uniform(seed + 5, 4 * episodes), 0.0
    for e in range(episodes):
        env, done = CartPole(starts[4 * e:4 * e + 4]), False
        while not done:
            lp, _ = policy(params, np.array([env.s], np.float32))
            done, _ = env.step(int(lp[0, 1] > lp[0, 0]))
        mean += env.steps / episodes
    print(f"greedy policy: mean return {mean:.1f} over {episodes} episodes")
    tut.metric("eval_return", mean)
