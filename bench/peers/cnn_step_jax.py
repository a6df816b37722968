"""cnn_step_jax.py: examples/mnist_cnn.c's training step in JAX with Flax and Optax.

The same model and recipe: conv3x3(32, no bias, SAME) - batch norm - relu - maxpool2,
conv3x3(64) - batch norm - relu - maxpool2, dense(128) - relu - dropout(0.5) -
dense(10), batch norm momentum 0.9 and eps 1e-5, Adam(1e-3), mean softmax cross-entropy
with integer labels, f32, NHWC; one jax.jit step with params, optimizer state and
batch_stats donated, a fresh dropout key per step. Prints `jax step_ms <median>` and
`jax step_min_ms <least>` over `steps` steps on random images (the step's time does not
depend on the pixels).

  usage: python3 cnn_step_jax.py [steps] [batch]   (threads: see bench/peers/run.sh)
"""
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from peer_timing import median_ms


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        for feats in (32, 64):
            x = nn.Conv(feats, (3, 3), padding="SAME", use_bias=False)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
            x = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
        x = nn.relu(nn.Dense(128)(x.reshape(x.shape[0], -1)))
        x = nn.Dropout(0.5, deterministic=not train)(x)
        return nn.Dense(10)(x)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    model, tx = CNN(), optax.adam(1e-3)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, batch).astype(np.int32))
    v = model.init({"params": jax.random.PRNGKey(0)}, x, False)
    params, stats = v["params"], v["batch_stats"]
    opt = tx.init(params)

    def step(params, opt, stats, x, y, key):
        def loss_fn(p):
            logits, upd = model.apply({"params": p, "batch_stats": stats}, x, True, rngs={"dropout": key},
                                      mutable=["batch_stats"])
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), upd["batch_stats"]
        (loss, stats), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
        u, opt = tx.update(g, opt, params)
        return optax.apply_updates(params, u), opt, stats, loss

    jstep = jax.jit(step, donate_argnums=(0, 1, 2))
    state = [params, opt, stats, 0]

    def one():
        state[3] += 1
        p, o, s, loss = jstep(state[0], state[1], state[2], x, y, jax.random.fold_in(jax.random.PRNGKey(1), state[3]))
        loss.block_until_ready()
        state[0], state[1], state[2] = p, o, s

    med, least = median_ms(one, steps)
    print(f"jax step_ms {med:.3f}")
    print(f"jax step_min_ms {least:.3f}")


if __name__ == "__main__":
    main()
