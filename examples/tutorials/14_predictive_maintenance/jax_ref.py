"""14_predictive_maintenance in JAX: the same MLP and weighted loss, jax.value_and_grad,
Adam by jax.tree.map (Optax's formulas, without Optax), and an epoch's steps run by
lax.scan inside one jitted function -- as maintenance.c does with jx_scan and jx_jit."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import data
import tut


def logits(p, x):
    h = jax.nn.relu(x @ p["l1.w"] + p["l1.b"])
    h = jax.nn.relu(h @ p["l2.w"] + p["l2.b"])
    return (h @ p["l3.w"] + p["l3.b"])[:, 0]


def loss(p, x, y, pw):
    z = logits(p, x)
    return jnp.mean((1 + (pw - 1) * y) * (jax.nn.softplus(z) - y * z))


@partial(jax.jit, static_argnums=4)
def epoch(p, opt, xs, ys, lr, pw):
    def step(carry, batch):
        p, (t, mu, nu) = carry
        l, g = jax.value_and_grad(loss)(p, batch[0], batch[1], pw)
        t = t + 1
        mu = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, mu, g)
        nu = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, nu, g)
        p = jax.tree.map(lambda x, m, v: x - lr * (m / (1 - 0.9 ** t)) / (jnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8),
                         p, mu, nu)
        return (p, (t, mu, nu)), l

    return jax.lax.scan(step, (p, opt), (xs, ys))


def main():
    a = tut.parse("failure prediction with an MLP (JAX)", epochs=10, batch=250, lr=3e-3)
    x, y, xt, yt, p0, pw = data.problem(a)
    nb = len(y) // a.batch
    xs = jnp.asarray(x[:nb * a.batch].reshape(nb, a.batch, data.F))
    ys = jnp.asarray(y[:nb * a.batch].reshape(nb, a.batch))

    def fresh():
        p = {k: jnp.asarray(v) for k, v in p0.items()}
        return p, (jnp.int32(0), jax.tree.map(jnp.zeros_like, p), jax.tree.map(jnp.zeros_like, p))

    p, opt = fresh()
    epoch(p, opt, xs, ys, a.lr, pw)[1].block_until_ready()  # compile outside the timed part, as jx_jit is
    p, opt = fresh()
    with tut.timed("training"):
        for e in range(a.epochs):
            (p, opt), losses = epoch(p, opt, xs, ys, a.lr, pw)
            print(f"epoch {e + 1}: mean weighted loss {float(losses.mean()):.4f}")
    data.report(np.asarray(jax.nn.sigmoid(logits(p, jnp.asarray(xt)))), yt)


main()
