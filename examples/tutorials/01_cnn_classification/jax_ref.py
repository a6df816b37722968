"""01_cnn_classification in JAX: the same CNN, data, initial weights and Adam steps, with
lax's convolution and pooling, jax.value_and_grad over the parameter dict, optax.adam,
and the step jitted with its parameters and optimizer state donated, as the C program."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import tut


def forward(p, x):
    def conv(h, layer):
        h = jax.lax.conv_general_dilated(h, p[layer]["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(h + p[layer]["b"])

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    h = pool(conv(pool(conv(x, "conv1")), "conv2"))
    return h.reshape(len(x), -1) @ p["dense"]["w"] + p["dense"]["b"]


def loss_fn(p, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(forward(p, x), y).mean()


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, x, y):
    loss, g = jax.value_and_grad(loss_fn)(p, x, y)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


def main():
    a = data.options("a small CNN on MNIST (JAX)")
    x, y, xt, yt = data.load(a)
    p = jax.tree_util.tree_map(jnp.asarray, data.init_params(a.seed))
    opt = optax.adam(a.lr)
    state = opt.init(p)
    steps, B, curve = len(x) // a.batch, a.batch, []
    copy = jax.tree_util.tree_map(jnp.copy, (p, state))
    step(opt, *copy, x[:B], y[:B])  # compiled before the timed part, as jx_jit is (on copies: they are donated)
    predict = jax.jit(forward)
    with tut.timed("training"):
        for _ in range(a.epochs):
            for s in range(steps):
                p, state, loss = step(opt, p, state, x[s * B:(s + 1) * B], y[s * B:(s + 1) * B])
                curve.append(loss)
        jax.block_until_ready(p)
    right = sum(int((np.asarray(predict(p, xt[i:i + data.EVAL_BATCH])).argmax(1) == yt[i:i + data.EVAL_BATCH]).sum())
                for i in range(0, len(xt), data.EVAL_BATCH))
    data.report(a, steps, np.asarray(curve), right / len(xt))


main()
