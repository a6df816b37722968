"""13_collaborative_filtering in JAX: the same model and batches, jax.value_and_grad over
the parameter dict, Adam written with jax.tree.map (Optax's formulas; no Optax, to keep
the references to NumPy and JAX), the batch cut with lax.dynamic_slice inside one jitted
step -- as collab.c does with jx_tree_value_and_grad, jx_optim_adam and jx_jit."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import data
import tut


def predict(p, mean, u, i):
    pu, qi = p["user.emb"][u], p["item.emb"][i]
    return mean + p["user.bias"][u, 0] + p["item.bias"][i, 0] + jnp.sum(pu * qi, 1), pu, qi


def loss(p, mean, u, i, r):
    pred, pu, qi = predict(p, mean, u, i)
    sse = jnp.sum((pred - r) ** 2)
    return (sse + data.LAMBDA * (jnp.sum(pu * pu) + jnp.sum(qi * qi))) / r.shape[0], sse


@partial(jax.jit, static_argnums=(5, 6), donate_argnums=(0, 1))
def step(p, opt, mean, train, start, batch, lr):
    u, i, r = (jax.lax.dynamic_slice(x, (start,), (batch,)) for x in train)
    (_, sse), g = jax.value_and_grad(loss, has_aux=True)(p, mean, u, i, r)
    t, mu, nu = opt
    t = t + 1
    mu = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, mu, g)
    nu = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, nu, g)
    p = jax.tree.map(lambda x, m, v: x - lr * (m / (1 - 0.9 ** t)) / (jnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8), p, mu, nu)
    return p, (t, mu, nu), sse


@jax.jit
def test_sse(p, mean, test):
    return jnp.sum((predict(p, mean, test[0], test[1])[0] - test[2]) ** 2)


def main():
    a = tut.parse("matrix factorisation (JAX)", epochs=10, batch=1000, lr=0.01)
    train, test, mean, p0 = data.problem(a)
    base, nb = data.baseline(test, mean), len(train[2]) // a.batch
    mean, train, test = jnp.float32(mean), tuple(map(jnp.asarray, train)), tuple(map(jnp.asarray, test))

    def fresh():
        p = {k: jnp.asarray(v) for k, v in p0.items()}
        return p, (jnp.int32(0), jax.tree.map(jnp.zeros_like, p), jax.tree.map(jnp.zeros_like, p))

    p, opt = fresh()  # compile outside the timed part, as jx_jit is
    step(p, opt, mean, train, 0, a.batch, a.lr)[2].block_until_ready()
    test_sse(p0, mean, test).block_until_ready()
    p, opt = fresh()
    train_rmse, rmse = [], []
    with tut.timed("training"):
        for _ in range(a.epochs):
            sse = []
            for s in range(nb):
                p, opt, e = step(p, opt, mean, train, s * a.batch, a.batch, a.lr)
                sse.append(e)
            train_rmse.append(float(np.sqrt(sum(map(float, sse)) / (nb * a.batch))))
            rmse.append(float(np.sqrt(float(test_sse(p, mean, test)) / len(test[2]))))
    data.report(a, train_rmse, rmse, base)


main()
