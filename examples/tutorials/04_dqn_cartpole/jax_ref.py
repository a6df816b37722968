"""04_dqn_cartpole in JAX: the same DQN, its training step (Huber TD loss,
jax.value_and_grad, Adam) and the greedy policy's Q values as jitted functions."""
import jax
import jax.numpy as jnp
import numpy as np

import data


def qnet(p, s):
    h = jax.nn.relu(s @ p["w1"] + p["b1"])
    h = jax.nn.relu(h @ p["w2"] + p["b2"])
    return h @ p["w3"] + p["b3"]


def huber(e):
    a = jnp.abs(e)
    return jnp.where(a <= 1, 0.5 * e * e, a - 0.5)


def loss_fn(p, target, batch):
    s, act, r, s2, notdone = batch
    q = jnp.sum(qnet(p, s) * act, axis=1)
    tq = r + data.GAMMA * notdone * jnp.max(qnet(target, s2), axis=1)
    return jnp.mean(huber(q - jax.lax.stop_gradient(tq)))


def make_step(lr, b1=0.9, b2=0.999, eps=1e-8):
    @jax.jit
    def step(p, m, v, count, target, batch):
        g = jax.grad(loss_fn)(p, target, batch)
        count = count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        return jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v), m, v, count

    return step


def main():
    a = data.options("DQN on CartPole (JAX)")
    params = jax.tree.map(jnp.asarray, data.init(a.seed))
    q = jax.jit(qnet)
    step = make_step(a.lr)
    opt = [jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), jnp.float32(0)]

    def greedy(p, s):
        v = np.asarray(q(p, s))[0]
        return int(v[1] > v[0])

    def train(p, target, batch):
        p, opt[0], opt[1], opt[2] = step(p, opt[0], opt[1], opt[2], target, batch)
        return p

    zero = np.zeros((a.batch, 4), np.float32)  # compile both outside the timed part, as jx_jit does
    step.lower(params, opt[0], opt[1], opt[2], params, (zero, np.zeros((a.batch, 2), np.float32),
               zero[:, 0], zero, zero[:, 0])).compile()
    greedy(params, zero[:1])
    params, _ = data.run(a, params, greedy, train, lambda p: p)
    data.evaluate(a, params, greedy)


main()
