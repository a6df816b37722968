"""reduce_accuracy.py: JAX's figures for bench/reduce_accuracy.c: the relative error of
jnp.sum(x * x) against the exact sum (math.fsum of the rounded squares), for lengths
2^14 .. 2^24 of the same uniform [0,1) values (splitmix64 of the element index), in f32
and f64. Prints nothing but a note when jax is not importable.
    usage: python3 bench/reduce_accuracy.py [max_log2]"""
import math
import sys

import numpy as np

try:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
except ImportError:
    print("jax is not importable: no JAX figures")
    sys.exit(0)


def gen(n):
    """Uniform [0,1) float64 of elements 0..n-1, as gen() in reduce_accuracy.c."""
    z = (np.arange(n, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def main():
    maxlog = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    print(f"{'type':4} {'n':8} {'exact':22} {'jax':10}")
    for dt in (np.float32, np.float64):
        for lg in range(14, maxlog + 1, 2):
            x = gen(1 << lg).astype(dt)
            exact = math.fsum((x * x).astype(np.float64))  # the rounded squares, exactly
            got = float(jax.jit(lambda v: jnp.sum(v * v))(jnp.asarray(x)))
            name = "f32" if dt == np.float32 else "f64"
            print(f"{name:4} 2^{lg:<6} {exact:<22.15g} {abs(got - exact) / exact:<10.2e}")


if __name__ == "__main__":
    main()
