"""mlp_step_jax.py: bench/mlp_step.c's workload in JAX, to compare jx's jit with XLA's.

The MNIST MLP training step of examples/mnist_mlp.c (784-512-512-10, relu, log_softmax
cross-entropy, SGD step 0.1, batch 128, f32) as one jax.jit function with its parameters
donated. Prints lines `jax <figure> <value>` with the names bench_mlp_step uses:
  trace_ms       jit(...).lower(...): tracing to a jaxpr and lowering to StableHLO
  compile_ms     .compile() of the lowered step (XLA's optimisation and code generation)
  first_call_ms  the first call of a fresh jax.jit (tracing, compiling and one step)
  second_call_ms the second call of that jax.jit, same shapes: the cache lookup and one
                 step (bench_mlp_step's cache_hit_ms is the lookup alone)
  step_ms, step_min_ms, predict_compile_ms, predict_ms  as bench_mlp_step

  usage: python3 mlp_step_jax.py [steps] [batch]   (threads: see bench/peers/run.sh)
"""
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from peer_timing import median_ms

SIZES = [784, 512, 512, 10]
LR = 0.1


def predict(params, x):
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b)
    w, b = params[-1]
    return jax.nn.log_softmax(h @ w + b, axis=-1)


def loss(params, x, y):
    return -jnp.mean(jnp.sum(predict(params, x) * y, axis=1))


def step(params, x, y):
    value, grads = jax.value_and_grad(loss)(params, x, y)
    new = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    return new, value


def make_inputs(batch):
    rng = np.random.default_rng(42)
    params = [(jnp.asarray(rng.uniform(-0.01, 0.01, (m, n)).astype(np.float32)),
               jnp.asarray(rng.uniform(-0.01, 0.01, (n,)).astype(np.float32)))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    x = jnp.asarray(rng.uniform(0, 1, (batch, 784)).astype(np.float32))
    y = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
    return params, x, y


def copy_params(params):
    return jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True), params)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    params, x, y = make_inputs(batch)
    print(f"jax version {jax.__version__}")
    print(f"jax batch {batch}")

    jitted = jax.jit(step, donate_argnums=0)
    t0 = time.perf_counter()
    lowered = jitted.lower(params, x, y)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    print(f"jax trace_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax compile_ms {(t2 - t1) * 1e3:.3f}")

    fresh = jax.jit(step, donate_argnums=0)  # its own cache: the first call compiles again
    jax.clear_caches()
    t0 = time.perf_counter()
    p, v = fresh(copy_params(params), x, y)
    v.block_until_ready()
    t1 = time.perf_counter()
    p, v = fresh(p, x, y)
    v.block_until_ready()
    t2 = time.perf_counter()
    print(f"jax first_call_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax second_call_ms {(t2 - t1) * 1e3:.4f}")
    sys.stdout.flush()

    state = [copy_params(params)]

    def one_step():
        new, value = compiled(state[0], x, y)
        value.block_until_ready()
        jax.tree_util.tree_map(lambda a: a.block_until_ready(), new)
        state[0] = new

    med, least = median_ms(one_step, steps)
    print(f"jax step_ms {med:.4f}")
    print(f"jax step_min_ms {least:.4f}")

    fwd = jax.jit(predict)
    t0 = time.perf_counter()
    fwd_c = fwd.lower(state[0], x).compile()
    t1 = time.perf_counter()
    med, _ = median_ms(lambda: fwd_c(state[0], x).block_until_ready(), steps)
    print(f"jax predict_compile_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax predict_ms {med:.4f}")


if __name__ == "__main__":
    main()
