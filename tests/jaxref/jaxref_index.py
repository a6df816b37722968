"""jaxref_index.py: JAX's values for tests/jaxref/test_jaxref_index.c (protocol in
jaxref_run.py): gather, scatter_add, dynamic slices, where and one_hot, indices
passed as floats and converted to int32 inside F."""
from jaxref_run import run  # first: it configures jax (x64, cpu)

import jax
import jax.numpy as jnp
from jax import lax


def i32(x):
    return x.astype(jnp.int32)


def clip(i, n):
    """the index jx's gather reads and sends the gradient to: wrapped once, then clamped"""
    i = i32(i)
    return jnp.clip(jnp.where(i < 0, i + n, i), 0, n - 1)


OPS = {
    "take": lambda x, i: x[i32(i)],
    "take_ax1": lambda x, i: x[:, i32(i)],
    # jx's deliberate difference: the gradient at an index out of range after the wrap
    # goes to the clamped element (JAX's x[i] drops it); the values are x[i]'s
    "take_clip_grad": lambda x, i: jnp.take(x, clip(i, x.shape[0]), axis=0, mode="clip"),
    "take_ax1_clip_grad": lambda x, i: jnp.take(x, clip(i, x.shape[1]), axis=1, mode="clip"),
    "take_batched": lambda x, i: jax.vmap(lambda a, b: a[b])(x, i32(i)),
    "scatter_add": lambda x, i, u: x.at[i32(i)].add(u),
    "dslice_a": lambda x, s: lax.dynamic_slice(x, (i32(s[8]), i32(s[2])), (3, 2)),
    "dslice_b": lambda x, s: lax.dynamic_slice(x, (i32(s[9]), i32(s[10])), (3, 2)),
    "dslice_literal": lambda x: lax.dynamic_slice(x, (-1, -7), (3, 2)),
    "dupdate_a": lambda x, u, s: lax.dynamic_update_slice(x, u, (i32(s[8]), i32(s[2]))),
    "dupdate_b": lambda x, u, s: lax.dynamic_update_slice(x, u, (i32(s[9]), i32(s[10]))),
    "where": lambda x, y: jnp.where(x > 0, x * y, y),
    "where_max": lambda x, y: jnp.where(x > y, x, y),
    "one_hot": lambda i: jax.nn.one_hot(i32(i), 5, dtype=i.dtype),
}

run(OPS)
