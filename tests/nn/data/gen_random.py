"""gen_random.py: writes random_vectors.h, jax.random's outputs as exact bit patterns, for
tests/nn/test_random.c and test_init.c. Run from this folder: python3 gen_random.py
The header records the JAX version and configuration it was made with."""
import jax, jax.numpy as jnp, numpy as np
from jax import random

assert not jax.config.jax_enable_x64
out = []
def emit(name, arr):
    a = np.asarray(arr)
    if a.dtype == np.float32:
        a = a.view(np.uint32)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint32)
    a = a.astype(np.int64).ravel()
    typ = "uint32_t" if a.min() >= 0 else "int32_t"
    body = ", ".join(("0x%08x" % v) if typ == "uint32_t" else str(v) for v in a)
    out.append(f"static const {typ} {name}[{len(a)}] = {{{body}}};")

k = random.PRNGKey(42)
for s in [0, 42, 123456789, -1]:
    emit(f"key_{s & 0xffffffff:x}", random.PRNGKey(s))
emit("split_42_3", random.split(k, 3))
emit("fold_in_42_7", random.fold_in(k, 7))
emit("bits_42_2x7", random.bits(k, (2, 7)))
emit("bits_42_scalar", random.bits(k, ()))
emit("uniform_42_2x5", random.uniform(k, (2, 5), jnp.float32, -2.0, 3.0))
emit("uniform_0_1000", random.uniform(random.PRNGKey(0), (1000,)))
emit("normal_42_1000", random.normal(k, (1000,)))
emit("tnormal_42_1000", random.truncated_normal(k, -2.0, 2.0, (1000,)))
emit("bernoulli_42_64", random.bernoulli(k, 0.3, (64,)))
logits = jnp.log(jnp.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]], jnp.float32))
emit("categorical_logits", logits)
emit("categorical_42", random.categorical(k, logits, axis=-1))
emit("categorical_42_axis0", random.categorical(k, logits, axis=0))
emit("permutation_42_10", random.permutation(k, 10))
emit("permutation_42_3000", random.permutation(k, 3000))  # 2 sort rounds
emit("shuffle_42_4x3", random.permutation(k, jnp.arange(12, dtype=jnp.int32).reshape(4, 3), axis=0))

ini = jax.nn.initializers
for name, init, shape in [("glorot_uniform", ini.glorot_uniform(), (30, 20)),
                          ("glorot_normal", ini.glorot_normal(), (30, 20)),
                          ("he_uniform", ini.he_uniform(), (3, 3, 4, 8)),
                          ("he_normal", ini.he_normal(), (3, 3, 4, 8)),
                          ("lecun_uniform", ini.lecun_uniform(), (30, 20)),
                          ("lecun_normal", ini.lecun_normal(), (30, 20)),
                          ("vs_fan_avg_normal", ini.variance_scaling(2.0, "fan_avg", "normal"), (30, 20)),
                          ("vs_fan_out_untrunc", ini.variance_scaling(0.5, "fan_out", "normal"), (30, 20))]:
    emit("init_" + name, init(k, shape, jnp.float32))
# a longer normal run on another key: erf_inv's log1p takes both of XLA's branches often
emit("normal_7_8192", random.normal(random.PRNGKey(7), (8192,)))
# f64 draws need jax_enable_x64=True (not the default configuration): the *_x64 arrays
# are f64 values as pairs of 32-bit words, low word first (little-endian memory order).
jax.config.update("jax_enable_x64", True)
emit("uniform_x64_42_2x5", np.asarray(random.uniform(k, (2, 5), jnp.float64, -2.0, 3.0)).view(np.uint32))
emit("uniform_x64_0_1000", np.asarray(random.uniform(random.PRNGKey(0), (1000,), jnp.float64)).view(np.uint32))
jax.config.update("jax_enable_x64", False)

head = (f"/* random_vectors.h: made by gen_random.py with jax {jax.__version__} "
        f"(jaxlib {jax.lib.__version__}) on {jax.default_backend()},\n"
        f" * jax_default_prng_impl={jax.config.jax_default_prng_impl} "
        f"jax_threefry_partitionable={jax.config.jax_threefry_partitionable} "
        f"jax_enable_x64={jax.config.jax_enable_x64}. Floats are their f32 bit patterns. */")
open("random_vectors.h", "w").write(head + "\n#include <stdint.h>\n" + "\n".join(out) + "\n")
