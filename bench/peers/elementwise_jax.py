"""elementwise_jax.py: the peer figures of bench/jit_elementwise.c's jitted rows, in jax.jit
on this CPU: the chain exp, tanh, log1p, logistic over 16M f32; softmax over the last
axis of f32[4096,4096]; layer norm over its rows (no scale or bias, eps 1e-5); an LSTM
cell's gates from f32[4096, 5x640]; dropout at rate 0.1 over 16M f32 (a threefry
Bernoulli mask); and a copy of 64 MiB (x + 0 into a new buffer) as
XLA's memcpy. Inputs are filled with 0.5, as jx's. Run it with the same thread count
as jx (bench/peers/run.sh's conventions: taskset for fewer cores than the machine has).
Prints lines `jax <figure>_ms <median>` and `jax <figure>_x_copy <ratio to the copy>`.
  usage: python3 elementwise_jax.py [reps]   (default 20)
"""
import sys

import jax
import jax.numpy as jnp
from peer_timing import median_ms

ELEMS = 16 * 1024 * 1024


def chain(x):
    return jax.nn.sigmoid(jnp.log1p(jnp.tanh(jnp.exp(x))))


def softmax(x):
    return jax.nn.softmax(x, axis=-1)


def layer_norm(x):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-5)


def lstm_gates(x):
    i, f, g, o, c = jnp.split(x, 5, axis=1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c)


def dropout(x):
    keep = jax.random.bernoulli(jax.random.key(0), 0.9, x.shape)
    return jnp.where(keep, x / 0.9, 0)


def copy(x):
    return x + 0


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"jax version {jax.__version__}")
    cases = [
        ("copy", copy, (ELEMS,)),
        ("chain", chain, (ELEMS,)),
        ("softmax", softmax, (4096, 4096)),
        ("layer_norm", layer_norm, (4096, 4096)),
        ("lstm_gates", lstm_gates, (4096, 5 * 640)),
        ("dropout", dropout, (ELEMS,)),
    ]
    base = None
    for name, fn, shape in cases:
        x = jnp.full(shape, 0.5, dtype=jnp.float32)
        f = jax.jit(fn)
        f(x).block_until_ready()
        med, _ = median_ms(lambda: f(x).block_until_ready(), reps)
        base = base or med
        print(f"jax {name}_ms {med:.2f}")
        print(f"jax {name}_x_copy {med / base:.2f}")


if __name__ == "__main__":
    main()
