"""07_lstm_forecasting in JAX: the same LSTM as a lax.scan, jax.value_and_grad and Adam
(Optax's formulas) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import jax_adam  # noqa: I100
import tut

H = data.H


def predict(p, x):
    def cell(carry, xt):
        c, h = carry
        z = xt @ p["wi"] + h @ p["wh"] + p["b"]
        i, f, g, o = (jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H:2 * H]), jnp.tanh(z[:, 2 * H:3 * H]),
                      jax.nn.sigmoid(z[:, 3 * H:]))
        c = f * c + i * g
        return (c, o * jnp.tanh(c)), None

    zero = jnp.zeros((x.shape[0], H), x.dtype)
    (_, h), _ = jax.lax.scan(cell, (zero, zero), jnp.swapaxes(x, 0, 1))
    return h @ p["hw"] + p["hb"]


def loss_fn(p, x, y):
    return jnp.mean(jnp.square(predict(p, x) - y))


def main():
    a = data.options("LSTM forecasting (JAX)")
    x, y, xt, yt, steps = data.problem(a)
    p = jax.tree.map(jnp.asarray, data.init(a.seed))
    adam_init, adam_update = jax_adam(a.lr)

    @jax.jit
    def step(p, state, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return adam_update(p, state, g) + (loss,)

    state = adam_init(p)
    step.lower(p, state, x[:a.batch], y[:a.batch]).compile()  # compiled outside the timed part, as jx_jit is
    with tut.timed("training"):
        for e in range(a.epochs):
            total = 0.0
            for s in range(steps):
                sl = slice(s * a.batch, (s + 1) * a.batch)
                p, state, loss = step(p, state, x[sl], y[sl])
                total += float(loss) / steps
            print(f"epoch {e + 1}: train MSE {total:.5f}")
    data.report(np.asarray(jax.jit(predict)(p, xt)), xt, yt)


main()
