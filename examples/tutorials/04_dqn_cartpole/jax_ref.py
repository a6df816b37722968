"""04_dqn_cartpole in JAX: the same DQN, its training step (Huber TD loss,
jax.value_and_grad, Adam) and the greedy policy's Q values as jitted functions."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import jax_adam  # noqa: I100


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


def main():
    a = data.options("DQN on CartPole (JAX)")
    params = jax.tree.map(jnp.asarray, data.init(a.seed))
    q = jax.jit(qnet)
    adam_init, adam_update = jax_adam(a.lr)
    step = jax.jit(lambda p, state, target, batch: adam_update(p, state, jax.grad(loss_fn)(p, target, batch)))
    opt = [adam_init(params)]

    def greedy(p, s):
        v = np.asarray(q(p, s))[0]
        return int(v[1] > v[0])

    def train(p, target, batch):
        p, opt[0] = step(p, opt[0], target, batch)
        return p

    zero = np.zeros((a.batch, 4), np.float32)  # compile both outside the timed part, as jx_jit does
    step.lower(params, opt[0], params, (zero, np.zeros((a.batch, 2), np.float32),
               zero[:, 0], zero, zero[:, 0])).compile()
    greedy(params, zero[:1])
    params, _ = data.run(a, params, greedy, train, lambda p: p)
    data.evaluate(a, params, greedy)


main()
