"""cnn_step_jax.py: bench/cnn_step.c's workload in JAX (Flax modules), to compare jx's jit
with XLA's on convolutions.

The model of examples/mnist_cnn.c without dropout, as bench/cnn_step.c builds it:
conv3x3(32, SAME, no bias) - BatchNorm - relu - max_pool 2, conv3x3(64) - BatchNorm - relu -
max_pool 2, Dense(128) - relu - Dense(10), NHWC, mean softmax cross-entropy, SGD 0.1
(optax.sgd), batch norm in training mode returning its running statistics (momentum 0.9),
f32. Prints lines `jax <figure> <value>` as mlp_step_jax.py (trace_ms, compile_ms, step_ms,
step_min_ms, predict_compile_ms, predict_ms).

  usage: python3 cnn_step_jax.py [steps] [batch]   (threads: see bench/peers/run.sh)
"""
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from peer_timing import median_ms

LR = 0.1


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        for feat in (32, 64):
            x = nn.Conv(feat, (3, 3), padding="SAME", use_bias=False)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
            x = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(128)(x))
        return nn.Dense(10)(x)


MODEL = CNN()
TX = optax.sgd(LR)


def step(params, opt_state, stats, x, y):
    def loss(p):
        logits, upd = MODEL.apply({"params": p, "batch_stats": stats}, x, True,
                                  mutable=["batch_stats"])
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * y, axis=1)), upd["batch_stats"]

    (value, new_stats), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, opt_state = TX.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, new_stats, value


def predict(params, stats, x):
    return jax.nn.log_softmax(MODEL.apply({"params": params, "batch_stats": stats}, x, False))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    rng = np.random.default_rng(42)
    x = jnp.asarray(rng.uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32))
    y = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
    v = MODEL.init(jax.random.PRNGKey(0), x, False)
    params, stats = v["params"], v["batch_stats"]
    opt_state = TX.init(params)
    print(f"jax version {jax.__version__}")
    print(f"jax batch {batch}")

    jitted = jax.jit(step, donate_argnums=(0, 1, 2))
    t0 = time.perf_counter()
    lowered = jitted.lower(params, opt_state, stats, x, y)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    print(f"jax trace_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax compile_ms {(t2 - t1) * 1e3:.3f}")
    sys.stdout.flush()

    state = [params, opt_state, stats]

    def one_step():
        p, o, s, value = compiled(*state, x, y)
        value.block_until_ready()
        jax.tree_util.tree_map(lambda a: a.block_until_ready(), (p, s))
        state[:] = [p, o, s]

    med, least = median_ms(one_step, steps)
    print(f"jax step_ms {med:.4f}")
    print(f"jax step_min_ms {least:.4f}")
    t0 = time.perf_counter()
    fwd_c = jax.jit(predict).lower(state[0], state[2], x).compile()
    t1 = time.perf_counter()
    med, _ = median_ms(lambda: fwd_c(state[0], state[2], x).block_until_ready(), steps)
    print(f"jax predict_compile_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax predict_ms {med:.4f}")


if __name__ == "__main__":
    main()
