"""jaxref_collective.py: JAX's values for tests/jaxref/test_jaxref_collective.c (protocol
in jaxref_run.py): collectives under jax.vmap with axis_name="i"."""
from jaxref_run import run  # first: it configures jax (x64, cpu)

import jax
import jax.numpy as jnp
from jax import lax


def pmax(x):
    # lax.pmax has no derivative in JAX; jx's is that of the max over the slices
    return jnp.max(lax.all_gather(x, "i"), axis=0)


def pmin(x):
    return jnp.min(lax.all_gather(x, "i"), axis=0)


def ppermute_partial(x):
    # JAX's vmap refuses a partial permutation; lax.ppermute's rule (zeros where no slice
    # sends) written out on the gathered slices
    g = lax.all_gather(x, "i")
    out = jnp.zeros_like(g).at[2].set(g[0]).at[0].set(g[1])
    return out[lax.axis_index("i")]


BODIES = {
    "psum": lambda x: x * lax.psum(x, "i"),
    "pmean": lambda x: (x - lax.pmean(jnp.sin(x), "i")) ** 2,
    "pmax": lambda x: pmax(x) * jnp.sin(x),
    "pmin_ax1": lambda x: pmin(x * x) * x,
    "all_gather": lambda x: lax.all_gather(jnp.sin(x), "i") * x,
    "ppermute_ring": lambda x: lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]) * jnp.cos(x),
    "ppermute_partial": lambda x: ppermute_partial(x) * jnp.cos(x),
}
BODIES["psum_ax1"] = BODIES["psum"]


def mapped(name):
    axis = 1 if name.endswith("_ax1") else 0
    return jax.vmap(BODIES[name], in_axes=axis, out_axes=axis, axis_name="i")


OPS = {name: mapped(name) for name in BODIES}

run(OPS)
