"""12_kmeans in JAX: the distance of one image to every centroid, jax.vmap over the
images, one jitted Lloyd iteration -- as kmeans.c does with jx_vmap and jx_jit."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import data
import tut


def nearest(x, c):
    d = jnp.sum(c * c, 1) - 2 * (c @ x) + jnp.sum(x * x)
    return jnp.argmin(d), jnp.maximum(jnp.min(d), 0)


assign = jax.jit(jax.vmap(nearest, in_axes=(0, None)))


@partial(jax.jit, donate_argnums=1)
def lloyd(x, c):
    a, d = jax.vmap(nearest, in_axes=(0, None))(x, c)
    onehot = jax.nn.one_hot(a, c.shape[0], dtype=jnp.float32)
    counts = onehot.sum(0)
    mean = (onehot.T @ x) / jnp.maximum(counts, 1)[:, None]
    return jnp.where(counts[:, None] > 0, mean, c), d.sum()


def main():
    a = tut.parse("k-means clustering by Lloyd's algorithm (JAX)", epochs=50, batch=0, lr=0, extra=data.extra)
    x, y, xt, yt, c0 = data.problem(a)
    x = jnp.asarray(x)
    lloyd(x, jnp.asarray(c0))[1].block_until_ready()  # compile outside the timed part, as jx_jit is
    c = jnp.asarray(c0)
    with tut.timed("Lloyd iterations"):
        for _ in range(a.epochs):
            c, inertia = lloyd(x, c)
        inertia.block_until_ready()
    data.report(a, float(inertia), x, y, xt, yt, np.asarray(assign(x, c)[0]), np.asarray(assign(jnp.asarray(xt), c)[0]))


main()
