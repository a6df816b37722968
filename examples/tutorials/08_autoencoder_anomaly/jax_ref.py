"""08_autoencoder_anomaly in JAX: the same autoencoder, data, initial weights and Adam
steps, with jax.value_and_grad over the parameter dict, optax.adam, and the step jitted
with its parameters and optimizer state donated, as the C program."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import tut


def forward(p, x):
    for l, name in enumerate(data.LAYERS):
        x = x @ p[name]["w"] + p[name]["b"]
        x = jax.nn.relu(x) if l < 3 else x
    return x


def loss_fn(p, x):
    return optax.sigmoid_binary_cross_entropy(forward(p, x), x).mean()


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, x):
    loss, g = jax.value_and_grad(loss_fn)(p, x)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


@jax.jit
def score(p, x):
    return jnp.mean((jax.nn.sigmoid(forward(p, x)) - x) ** 2, axis=1)


def main():
    a = data.options("autoencoder anomaly detection on MNIST (JAX)")
    x, xt, pos = data.load(a)
    p = jax.tree_util.tree_map(jnp.asarray, data.init_params(a.seed))
    opt = optax.adam(a.lr)
    state = opt.init(p)
    steps, B, curve = len(x) // a.batch, a.batch, []
    step(opt, *jax.tree_util.tree_map(jnp.copy, (p, state)), x[:B])  # compiled before the timed part, as jx_jit is
    with tut.timed("training"):
        for _ in range(a.epochs):
            for s in range(steps):
                p, state, loss = step(opt, p, state, x[s * B:(s + 1) * B])
                curve.append(loss)
        jax.block_until_ready(p)
    scores = np.concatenate([np.asarray(score(p, xt[i:i + data.EVAL_BATCH])) for i in range(0, len(xt), data.EVAL_BATCH)])
    data.report(a, steps, np.asarray(curve), scores, pos)


main()
