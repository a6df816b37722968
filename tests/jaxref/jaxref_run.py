"""jaxref_run.py: the python side of the differential suites against JAX
(tests/jaxref/jaxref_check.h). run(OPS) reads lines "name dtype maxorder n shape... : x..."
(shapes as 3x4, "s" for a scalar; the inputs' values flattened, as float.hex) on stdin
and prints, per line, maxorder + 1 lines "count v...":
  order 0: F(x), flattened;
  order 1: the gradients of L(t, x) = sum(F(x + t v) * ct) in each x at t = 0;
  order 2: the gradients of dL/dt in each x at t = 0 (the Hessian of L times v);
for v_i[k] = sin(0.53 k + i + 0.2) and ct[k] = cos(0.37 k), as the C driver makes them,
F = OPS[name]. One process for every case of a suite. Each of the three functions of a
case is compiled whole with jax.jit (XLA compiles per primitive otherwise, op by op, and
a suite's hundreds of small compiles cost three times as much); run(OPS, jit=False)
evaluates op by op instead."""
import contextlib
import math
import sys

import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import jax.numpy as jnp
import numpy as np


def pattern(shape, f, c, off, dtype):
    n = int(np.prod(shape))
    return jnp.asarray(f(c * np.arange(n) + off).reshape(shape), dtype=dtype)


def line(vals):
    flat = [float(v) for a in vals for v in np.ravel(np.asarray(a))]
    print(len(flat), " ".join(v.hex() if math.isfinite(v) else repr(v) for v in flat))


def run(ops, jit=True):
    wrap = jax.jit if jit else (lambda g: g)
    with contextlib.nullcontext() if jit else jax.disable_jit():
        cases(ops, wrap)


def cases(ops, wrap):
    for text in sys.stdin:
        head, data = text.split(":")
        name, dt, maxorder, n, *shapes = head.split()
        dtype = jnp.float32 if dt == "f32" else jnp.float64
        n, maxorder = int(n), int(maxorder)
        shapes = [() if s == "s" else tuple(int(d) for d in s.split("x")) for s in shapes]
        flat = [float.fromhex(v) for v in data.split()]
        xs, at = [], 0
        for s in shapes:
            size = int(np.prod(s))
            xs.append(jnp.asarray(np.array(flat[at:at + size]).reshape(s), dtype=dtype))
            at += size
        f = ops[name]
        y = wrap(f)(*xs)
        line([y])
        if maxorder >= 1:
            vs = [pattern(x.shape, np.sin, 0.53, i + 0.2, dtype) for i, x in enumerate(xs)]
            ct = pattern(y.shape, np.cos, 0.37, 0.0, dtype)

            def loss(t, *xs):
                return jnp.sum(f(*[x + t * v for x, v in zip(xs, vs)]) * ct)

            args = tuple(range(1, n + 1))
            t0 = jnp.zeros((), dtype)
            line(wrap(jax.grad(loss, argnums=args))(t0, *xs))
            if maxorder >= 2:
                line(wrap(jax.grad(jax.grad(loss, argnums=0), argnums=args))(t0, *xs))
        sys.stdout.flush()
