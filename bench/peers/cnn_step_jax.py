"""cnn_step_jax.py: bench/cnn_step.c's workload in JAX, to compare jx's jit with XLA's on
the training step of examples/mnist_cnn.c.

The network of examples/common/cnn_seq.c in plain JAX (no Flax, so that only jax and optax
are needed), NHWC, f32: conv3x3(32, SAME, no bias) - batch norm - relu - max_pool 2,
conv3x3(64) - batch norm - relu - max_pool 2, dense(128) - relu - dropout(0.5) -
dense(10); batch norm in training mode (batch statistics, eps 1e-5) returning its running
statistics (0.9 old + 0.1 batch, Flax's momentum 0.9), dropout from a key given with the
batch, the mean softmax cross-entropy on integer labels, Adam (optax.adam, 0.9, 0.999,
1e-8) at 1e-3 with the trainer's cosine decay to 1e-5 over 10 epochs of 60,000 images;
params, optimizer state and statistics donated. Prints lines `jax <figure> <value>` as
mlp_step_jax.py (trace_ms, compile_ms, step_ms, step_min_ms, predict_compile_ms,
predict_ms).

  usage: python3 cnn_step_jax.py [steps] [batch]   (threads: see bench/peers/run.sh)
"""
import math
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from peer_timing import median_ms

LR, EPOCHS, TRAIN_IMAGES, MOMENTUM, EPS, RATE = 1e-3, 10, 60000, 0.9, 1e-5, 0.5


def init(key):
    """LeCun-normal weights (cnn_seq's init), batch-norm scales 1, biases and means 0."""
    k = jax.random.split(key, 4)
    lecun = jax.nn.initializers.lecun_normal()
    params = {"conv1": lecun(k[0], (3, 3, 1, 32)), "bn1": {"scale": jnp.ones(32), "bias": jnp.zeros(32)},
              "conv2": lecun(k[1], (3, 3, 32, 64)), "bn2": {"scale": jnp.ones(64), "bias": jnp.zeros(64)},
              "dense1": {"w": lecun(k[2], (7 * 7 * 64, 128)), "b": jnp.zeros(128)},
              "dense2": {"w": lecun(k[3], (128, 10)), "b": jnp.zeros(10)}}
    stats = {b: {"mean": jnp.zeros(c), "var": jnp.ones(c)} for b, c in (("bn1", 32), ("bn2", 64))}
    return params, stats


def forward(p, stats, x, key=None):
    """Logits (B,10); with a key: training (batch statistics, dropout), also the new stats."""
    new_stats = {}
    h = x
    for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
        h = jax.lax.conv_general_dilated(h, p[conv], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if key is not None:
            mean, var = jnp.mean(h, (0, 1, 2)), jnp.var(h, (0, 1, 2))
            new_stats[bn] = {"mean": MOMENTUM * stats[bn]["mean"] + (1 - MOMENTUM) * mean,
                             "var": MOMENTUM * stats[bn]["var"] + (1 - MOMENTUM) * var}
        else:
            mean, var = stats[bn]["mean"], stats[bn]["var"]
        h = (h - mean) * jax.lax.rsqrt(var + EPS) * p[bn]["scale"] + p[bn]["bias"]
        h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = h.reshape((h.shape[0], -1))
    h = jax.nn.relu(h @ p["dense1"]["w"] + p["dense1"]["b"])
    if key is not None:
        keep = jax.random.bernoulli(key, 1 - RATE, h.shape)
        h = jnp.where(keep, h / (1 - RATE), 0)
    return h @ p["dense2"]["w"] + p["dense2"]["b"], new_stats


def make_tx(batch):
    steps = EPOCHS * math.ceil(TRAIN_IMAGES / batch)
    return optax.adam(optax.warmup_cosine_decay_schedule(LR, LR, 0, steps, LR / 100), 0.9, 0.999, 1e-8)


def step(tx, params, opt_state, stats, x, y, key):
    def loss(p):
        logits, new_stats = forward(p, stats, x, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), new_stats

    (value, new_stats), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, new_stats, value


def predict(params, stats, x):
    return jax.nn.log_softmax(forward(params, stats, x)[0])


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    rng = np.random.default_rng(42)
    x = jnp.asarray(rng.uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, batch).astype(np.int32))
    key = jax.random.PRNGKey(1)
    params, stats = init(jax.random.PRNGKey(0))
    tx = make_tx(batch)
    opt_state = tx.init(params)
    print(f"jax version {jax.__version__}")
    print(f"jax batch {batch}")

    jitted = jax.jit(lambda *a: step(tx, *a), donate_argnums=(0, 1, 2))
    t0 = time.perf_counter()
    lowered = jitted.lower(params, opt_state, stats, x, y, key)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    print(f"jax trace_ms {(t1 - t0) * 1e3:.3f}")
    print(f"jax compile_ms {(t2 - t1) * 1e3:.3f}")
    sys.stdout.flush()

    state = [params, opt_state, stats]

    def one_step():
        p, o, s, value = compiled(*state, x, y, key)
        value.block_until_ready()
        jax.tree_util.tree_map(lambda a: a.block_until_ready(), (p, o, s))
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
