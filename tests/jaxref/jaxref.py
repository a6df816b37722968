"""jaxref.py: JAX's values for tests/jaxref/test_jaxref.c. Reads lines "op dtype x..."
(x as float.hex) on stdin and prints, per line, the values of op, its first and second
derivative at every x (jax.grad, vmapped), as float.hex, one line per order."""
import sys

import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_disable_jit", True)  # op by op: tiny inputs, no compile per line
import jax.numpy as jnp
from jax import lax

OPS = {
    "exp": jnp.exp, "log": jnp.log, "log1p": jnp.log1p, "expm1": jnp.expm1,
    "tanh": jnp.tanh, "logistic": jax.nn.sigmoid, "sin": jnp.sin, "cos": jnp.cos,
    "sqrt": jnp.sqrt, "rsqrt": lax.rsqrt, "abs": jnp.abs, "relu": jax.nn.relu,
    "square": jnp.square, "neg": jnp.negative, "sign": jnp.sign, "floor": jnp.floor,
}

for line in sys.stdin:
    op, dt, *xs = line.split()
    dtype = jnp.float32 if dt == "f32" else jnp.float64
    x = jnp.array([float.fromhex(v) for v in xs], dtype=dtype)
    f = OPS[op]
    d1 = jax.grad(f)
    d2 = jax.grad(d1)
    for g in (f, d1, d2):
        y = jax.vmap(g)(x)
        print(" ".join(float(v).hex() for v in y.tolist()))
    sys.stdout.flush()
