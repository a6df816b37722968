"""jaxref_sort.py: JAX's values for tests/jaxref/test_jaxref_sort.c (protocol in
jaxref_run.py): sort, argsort, sort by a key, top_k and the cumulative ops."""
from jaxref_run import run  # first: it configures jax (x64, cpu)

import jax.numpy as jnp
from jax import lax


def top_k_axis(x, k, axis):
    v, i = lax.top_k(jnp.moveaxis(x, axis, -1), k)
    return jnp.moveaxis(v, -1, axis), jnp.moveaxis(i, -1, axis)


OPS = {
    "sort_ax1": lambda x: jnp.sort(x, axis=1), "sort_ax0": lambda x: jnp.sort(x, axis=0),
    "argsort_ax1": lambda x: jnp.argsort(x, axis=1, stable=True),
    "argsort_ax0": lambda x: jnp.argsort(x, axis=0, stable=True),
    "sort_by_key": lambda k, v: lax.sort((k, v), dimension=1, num_keys=1)[1],
    "top_k_values": lambda x: lax.top_k(x, 3)[0], "top_k_indices": lambda x: lax.top_k(x, 3)[1],
    "top_k_ax0_values": lambda x: top_k_axis(x, 2, 0)[0], "top_k_ax0_indices": lambda x: top_k_axis(x, 2, 0)[1],
    "cumsum_rev1": lambda x: lax.cumsum(x, axis=1, reverse=True),
    "cumprod_rev0": lambda x: lax.cumprod(x, axis=0, reverse=True),
    "cummax_rev1": lambda x: lax.cummax(x, axis=1, reverse=True),
    "cummin_rev1": lambda x: lax.cummin(x, axis=1, reverse=True),
    "cummax_inf": lambda x: lax.cummax(x, axis=1),
}

run(OPS)
