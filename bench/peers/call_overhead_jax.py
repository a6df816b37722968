"""call_overhead_jax.py: the cost of one jax.jit call on tiny arrays, the peer figure of
bench/call_overhead.c (which runs this script and prints both side by side).

The function is bench_call_overhead's: x * y + exp(x) over f32[4,3]. Each call is
followed by block_until_ready, as a C caller of jx_exec_run has its result at return.
Prints lines `jax <figure> <value>`:
  call_us_median call_us_min   f(x, y) of a jax.jit function already compiled
  usage: python3 call_overhead_jax.py [calls]   (default 20000)
"""
import sys

import jax
import jax.numpy as jnp
import numpy as np
from peer_timing import median_ms


def tiny(x, y):
    return x * y + jnp.exp(x)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    x = jnp.asarray(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    y = jnp.asarray(np.linspace(0, 2, 12, dtype=np.float32).reshape(4, 3))
    f = jax.jit(tiny)
    f(x, y).block_until_ready()
    med, low = median_ms(lambda: f(x, y).block_until_ready(), calls)
    print(f"jax call_us_median {med * 1e3:.2f}")
    print(f"jax call_us_min {low * 1e3:.2f}")


if __name__ == "__main__":
    main()
