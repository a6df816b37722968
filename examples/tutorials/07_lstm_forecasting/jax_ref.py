"""07_lstm_forecasting in JAX: the same LSTM as a lax.scan, jax.value_and_grad and Adam
(Optax's formulas) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data
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


def make_step(lr, b1=0.9, b2=0.999, eps=1e-8):
    @jax.jit
    def step(p, m, v, count, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        count = count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        p = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
        return p, m, v, count, loss

    return step


def main():
    a = data.options("LSTM forecasting (JAX)")
    x, y, xt, yt, steps = data.problem(a)
    p = jax.tree.map(jnp.asarray, data.init(a.seed))
    m, v, count = jax.tree.map(jnp.zeros_like, p), jax.tree.map(jnp.zeros_like, p), jnp.float32(0)
    step = make_step(a.lr)
    step.lower(p, m, v, count, x[:a.batch], y[:a.batch]).compile()  # compiled outside the timed part, as jx_jit is
    with tut.timed("training"):
        for e in range(a.epochs):
            total = 0.0
            for s in range(steps):
                sl = slice(s * a.batch, (s + 1) * a.batch)
                p, m, v, count, loss = step(p, m, v, count, x[sl], y[sl])
                total += float(loss) / steps
            print(f"epoch {e + 1}: train MSE {total:.5f}")
    data.report(np.asarray(jax.jit(predict)(p, xt)), xt, yt)


main()
