"""02_rnn_sentiment in JAX: the same embedding, GRU (Flax's cell, as a lax.scan) and
linear head, jax.value_and_grad and optax.adam in one jitted step."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data  # first: it puts ../common on the path
import tut  # noqa: I100

H = data.H


def forward(p, ids):
    x = p["emb"][ids]  # (B,T,E)

    def cell(h, xt):
        xi = xt @ p["wi"] + p["bi"]
        hh = h @ p["wh"] + p["bh"]
        r = jax.nn.sigmoid(xi[:, :H] + hh[:, :H])
        z = jax.nn.sigmoid(xi[:, H:2 * H] + hh[:, H:2 * H])
        n = jnp.tanh(xi[:, 2 * H:] + r * hh[:, 2 * H:])
        return (1 - z) * n + z * h, None

    h, _ = jax.lax.scan(cell, jnp.zeros((ids.shape[0], H), jnp.float32), jnp.swapaxes(x, 0, 1))
    return h @ p["hw"] + p["hb"]


def loss_fn(p, ids, y):
    return optax.softmax_cross_entropy_with_integer_labels(forward(p, ids), y).mean()


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, ids, y):
    loss, g = jax.value_and_grad(loss_fn)(p, ids, y)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


def main():
    a = data.options("sentiment of generated reviews with a GRU (JAX)")
    v, x, y, xt, yt = data.problem(a)
    p = jax.tree_util.tree_map(jnp.asarray, data.init(a.seed, len(v)))
    opt = optax.adam(a.lr)
    state = opt.init(p)
    steps, B = len(x) // a.batch, a.batch
    copy = jax.tree_util.tree_map(jnp.copy, (p, state))
    step(opt, *copy, x[:B], y[:B])  # compiled before the timed part, as jx_jit is (on copies: they are donated)
    with tut.timed("training"):
        for e in range(a.epochs):
            total = 0.0
            for s in range(steps):
                p, state, loss = step(opt, p, state, x[s * B:(s + 1) * B], y[s * B:(s + 1) * B])
                total += float(loss) / steps
            print(f"epoch {e + 1}: mean training loss {total:.4f}")
    data.report(jax.jit(forward)(p, xt), yt)


main()
