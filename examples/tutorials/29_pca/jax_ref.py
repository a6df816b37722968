"""29_pca in JAX: the same fit as one jitted function (jnp.linalg.eigh), as pca.c
compiles it with jx_jit."""
from functools import partial

import jax
import jax.numpy as jnp

import data
import tut


@partial(jax.jit, static_argnums=2)
def pca(x, xt, k):
    mean = x.mean(0)
    xc = x - mean
    w, v = jnp.linalg.eigh(xc.T @ xc / x.shape[0])
    w, top = w[::-1], v[:, ::-1][:, :k].T
    tc = xt - mean
    z = tc @ top.T
    return w, top, z[:, :2], jnp.mean((z @ top - tc) ** 2)


def main():
    a = tut.parse("PCA by eigh of the covariance (JAX)", epochs=0, batch=0, lr=0, extra=data.extra)
    x, xt = data.problem(a)
    x, xt = jnp.asarray(x), jnp.asarray(xt)
    pca(x, xt, a.k)[3].block_until_ready()  # compile outside the timed part, as jx_jit is
    with tut.timed("covariance, eigh, projection"):
        w, top, z, mse = pca(x, xt, a.k)
        mse.block_until_ready()
    data.report(a, w, mse)


main()
