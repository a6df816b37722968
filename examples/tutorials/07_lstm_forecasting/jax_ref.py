"""07_lstm_forecasting in JAX: the same LSTM as a lax.scan, jax.value_and_grad and Adam
(Optax's formulas) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
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
    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a.seed)), a.lr, loss_fn, x, y, a.batch)
    tut.train_epochs(a, steps, train)
    data.report(np.asarray(jax.jit(predict)(train.p, xt)), xt, yt)


main()
