"""jaxref_control.py: JAX's values for tests/jaxref/test_jaxref_control.c (protocol in
jaxref_run.py): cond, switch, while_loop, fori_loop and scan."""
from jaxref_run import run  # first: it configures jax (x64, cpu)

import jax.numpy as jnp
from jax import lax


def cond(sign):
    def f(x, y):
        a = sign * x
        return lax.cond(jnp.sum(a) > 0, lambda a, y: jnp.sin(a) * y, lambda a, y: a * y * y, a, y)
    return f


def switch(k):
    branches = [jnp.sin, lambda x: x * x, lambda x: jnp.exp(x * 0.5)]
    return lambda x, s: lax.switch(s[k].astype(jnp.int32), branches, x) * jnp.sum(s)


def fori(x, c):
    return lax.fori_loop(0, 4, lambda i, c: jnp.sin(c) * x + c * (i * 0.25), c)


def scan(reverse, part):
    def f(xs, c):
        return lax.scan(lambda c, xt: (c * xt + jnp.tanh(c), 2 * c), c, xs, reverse=reverse)[part]
    return f


OPS = {
    "cond_true": cond(1), "cond_false": cond(-1),
    "switch_low": switch(8), "switch_mid": switch(1), "switch_high": switch(9),
    "while": lambda x: lax.while_loop(lambda c: jnp.sum(c * c) < 50, lambda c: c * 1.5 + 0.1, x),
    "fori": fori, "scan_carry": scan(False, 0), "scan_ys_rev": scan(True, 1),
}

run(OPS)
