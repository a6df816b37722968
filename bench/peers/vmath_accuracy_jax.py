"""vmath_accuracy_jax.py: the largest error, in ulps, of jax.jit's f32 tanh, expm1, log1p and
exp on this CPU (XLA's own approximations) against numpy's float64 functions, over every
7th positive float from 5e-10 to 11 (41M values). bench/vmath.c prints jx's and
SLEEF's over every float pattern for the same functions.
  usage: python3 vmath_accuracy_jax.py
"""
import numpy as np
import jax
import jax.numpy as jnp


def main():
    bits = np.arange(0x30000000, 0x41300000, 7, dtype=np.uint32)
    x = bits.view(np.float32)
    print(f"jax version {jax.__version__}, {x.size} values from {x[0]:.3g} to {x[-1]:.3g}")
    for name, jf, nf in (("tanh", jnp.tanh, np.tanh), ("expm1", jnp.expm1, np.expm1),
                         ("log1p", jnp.log1p, np.log1p), ("exp", jnp.exp, np.exp)):
        got = np.asarray(jax.jit(jf)(x)).astype(np.float64)
        want = nf(x.astype(np.float64))
        ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
        err = np.abs(got - want) / ulp
        err[~np.isfinite(want)] = 0
        i = int(np.argmax(err))
        print(f"jax {name}_max_ulp {err[i]:.3f} at {x[i]!r}")


if __name__ == "__main__":
    main()
