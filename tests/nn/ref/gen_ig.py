#!/usr/bin/env python3
"""gen_ig.py: reference vectors for tests/nn/test_attrib.c: integrated gradients of a
small two-layer model with JAX, in float64 (jax_enable_x64).

f(W1, b1, w2, x) = sum(tanh(x @ W1 + b1) * w2) + 0.5 * sum(x * x * x), a float scalar;
IG of x against a baseline b with the midpoint rule over m points, the same formula as
jx_integrated_gradients:
    a_k = (k + 1/2) / m,   IG = (x - b) * mean_k grad_x f(b + a_k (x - b))
with the gradients of all points from one jax.vmap(jax.grad(f)). Also the gradient x
input at x.

Run:  python3 tests/nn/ref/gen_ig.py > tests/nn/ref/ig_ref.h
"""
import numpy as np
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(17)
I, H, M = 6, 5, 16
W1 = rng.normal(size=(I, H))
b1 = rng.normal(size=(H,)) * 0.1
w2 = rng.normal(size=(H,))
x = rng.normal(size=(I,))
base = rng.normal(size=(I,)) * 0.2


def f(W1, b1, w2, x):
    return jnp.sum(jnp.tanh(x @ W1 + b1) * w2) + 0.5 * jnp.sum(x * x * x)


def ig(x, b, m):
    a = (jnp.arange(m) + 0.5) / m
    pts = b[None, :] + a[:, None] * (x - b)[None, :]
    g = jax.vmap(jax.grad(f, argnums=3), in_axes=(None, None, None, 0))(W1, b1, w2, pts)
    return (x - b) * g.mean(0)


def arr(name, v):
    v = np.asarray(v, dtype=np.float64).ravel()
    print(f"static const double {name}[{v.size}] = {{" + ", ".join(repr(float(t)) for t in v) + "};")


print("/* ig_ref.h: written by tests/nn/ref/gen_ig.py with jax %s (float64); do not edit. */" % jax.__version__)
print(f"enum {{ IG_I = {I}, IG_H = {H}, IG_M = {M} }};")
for n, v in [("ig_W1", W1), ("ig_b1", b1), ("ig_w2", w2), ("ig_x", x), ("ig_base", base)]:
    arr(n, v)
arr("ig_want", ig(jnp.asarray(x), jnp.asarray(base), M))
arr("ig_gxi_want", x * jax.grad(f, argnums=3)(W1, b1, w2, x))
arr("ig_fx_fb", [f(W1, b1, w2, x) - f(W1, b1, w2, base)])
