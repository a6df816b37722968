"""02_rnn_sentiment in JAX: the same embedding, GRU (Flax's cell, as a lax.scan) and
linear head, optax's cross-entropy, jax.value_and_grad and Adam (Optax's formulas,
common/optim.py) in one jitted step."""
import jax
import jax.numpy as jnp
import optax

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import tut

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


def main():
    a = data.options("sentiment of generated reviews with a GRU (JAX)")
    v, x, y, xt, yt = data.problem(a)
    train = JaxTrainer(jax.tree_util.tree_map(jnp.asarray, data.init(a.seed, len(v))), a.lr, loss_fn, x, y, a.batch)
    tut.train_epochs(a, len(x) // a.batch, train, data.epoch_line)
    data.report(jax.jit(forward)(train.p, xt), yt)


main()
