"""28_actor_critic in JAX: the same A2C; the update is jax.pmap over --workers CPU devices
(XLA's --xla_force_host_platform_device_count), each computing the gradient of its
environments' rollouts, averaged with lax.pmean, clipped and applied with Adam."""
import os
import sys

workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={workers}"
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import data  # noqa: E402


def net(p, s):
    h = jnp.tanh(s @ p["hw"] + p["hb"])
    logits = h @ p["pw"] + p["pb"]
    g = jnp.tanh(s @ p["gw"] + p["gb"])
    return logits, (g @ p["vw"] + p["vb"])[:, 0]


def loss_fn(p, s, act, ret):
    logits, v = net(p, s)
    logp = jax.nn.log_softmax(logits, axis=1)
    adv = jax.lax.stop_gradient(ret - v)
    pg = -jnp.mean(jnp.sum(logp * act, axis=1) * adv)
    ent = -jnp.mean(jnp.sum(jnp.exp(logp) * logp, axis=1))
    return pg + data.VALUE_COEF * jnp.mean(jnp.square(ret - v)) - data.ENTROPY_COEF * ent


def make_update(lr, b1=0.9, b2=0.999, eps=1e-8):
    def update(p, m, v, count, s, act, ret):
        g = jax.lax.pmean(jax.grad(loss_fn)(p, s, act, ret), "workers")
        norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(g)))
        g = jax.tree.map(lambda x: jnp.where(norm < data.CLIP, x, x * data.CLIP / norm), g)
        count = count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        return jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v), m, v, count

    return jax.pmap(update, axis_name="workers", in_axes=(None, None, None, None, 0, 0, 0), out_axes=None)


def main():
    a = data.options("A2C on CartPole (JAX, pmap over CPU devices)")
    w = a.workers
    params = jax.tree.map(jnp.asarray, data.init(a.seed))
    opt = [jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), jnp.float32(0)]
    update, pol = make_update(a.lr), jax.jit(net)

    def policy(p, s):
        logits, v = pol(p, s)
        return np.asarray(jax.nn.softmax(logits, axis=1))[:, 1], np.asarray(v)

    def train(p, batch):
        s, act, ret = (x.reshape(w, -1, *x.shape[1:]) for x in batch)
        p, opt[0], opt[1], opt[2] = update(p, opt[0], opt[1], opt[2], s, act, ret)
        return p

    n = a.batch * data.ROLL  # compile outside the timed part, as jx_jit does
    train(params, (np.zeros((n, 4), np.float32), np.zeros((n, 2), np.float32), np.zeros(n, np.float32)))
    opt[:] = [jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), jnp.float32(0)]
    policy(params, np.zeros((a.batch, 4), np.float32)), policy(params, np.zeros((1, 4), np.float32))
    params = data.run(a, params, policy, train)
    data.evaluate(a, params, policy)


main()
