"""23_ppo in JAX: the same PPO, the minibatch update (jax.grad of the clipped surrogate,
clipping by global norm, Adam) and the policy as jitted functions."""
import jax
import jax.numpy as jnp
import numpy as np

import data


def net(p, s):
    h = jnp.tanh(s @ p["hw"] + p["hb"])
    g = jnp.tanh(s @ p["gw"] + p["gb"])
    return jax.nn.log_softmax(h @ p["pw"] + p["pb"], axis=1), (g @ p["vw"] + p["vb"])[:, 0]


def loss_fn(p, s, act, logp_old, adv, ret):
    logp, v = net(p, s)
    adv = (adv - jnp.mean(adv)) / (jnp.sqrt(jnp.var(adv)) + 1e-8)
    ratio = jnp.exp(jnp.sum(logp * act, axis=1) - logp_old)
    surr = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - data.CLIP_EPS, 1 + data.CLIP_EPS) * adv)
    ent = -jnp.mean(jnp.sum(jnp.exp(logp) * logp, axis=1))
    return -jnp.mean(surr) + data.VALUE_COEF * jnp.mean(jnp.square(ret - v)) - data.ENTROPY_COEF * ent


def make_update(lr, b1=0.9, b2=0.999, eps=1e-5):
    @jax.jit
    def update(p, m, v, count, batch):
        g = jax.grad(loss_fn)(p, *batch)
        norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(g)))
        g = jax.tree.map(lambda x: jnp.where(norm < data.CLIP, x, x * data.CLIP / norm), g)
        count = count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        return jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v), m, v, count

    return update


def main():
    a = data.options("PPO on CartPole (JAX)")
    params = jax.tree.map(jnp.asarray, data.init(a.seed))
    opt = [jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), jnp.float32(0)]
    update, pol = make_update(a.lr), jax.jit(net)

    def policy(p, s):
        logp, v = pol(p, s)
        return np.asarray(logp), np.asarray(v)

    def train(p, batch):
        p, opt[0], opt[1], opt[2] = update(p, opt[0], opt[1], opt[2], batch)
        return p

    b = a.batch  # compile outside the timed part, as jx_jit does
    update.lower(params, opt[0], opt[1], opt[2], (np.zeros((b, 4), np.float32), np.zeros((b, 2), np.float32),
                 np.zeros(b, np.float32), np.zeros(b, np.float32), np.zeros(b, np.float32))).compile()
    policy(params, np.zeros((data.ENVS, 4), np.float32)), policy(params, np.zeros((1, 4), np.float32))
    params = data.run(a, params, policy, train)
    data.evaluate(a, params, policy)


main()
