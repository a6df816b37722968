"""27_inpainting in JAX: the same network, data, holes, initial weights and Adam steps;
the masks built inside the jitted step from each hole's corner (iota and comparisons, as
inpainting.c does), jax.value_and_grad of the hole's MSE, Adam from common/optim.py."""
import jax
import jax.numpy as jnp
import numpy as np

import data
import tut
from optim import JaxTrainer


def masks(rc):
    i = jnp.arange(28)
    r, c = rc[:, :1, None], rc[:, 1:, None]
    rows = (i[None, :, None] >= r) & (i[None, :, None] < r + data.HOLE)
    cols = (i[None, None, :] >= c) & (i[None, None, :] < c + data.HOLE)
    return (rows & cols).astype(jnp.float32).reshape(-1, 784)


def fill(p, x, rc):
    """The image with its hole filled by the network: (input, hole mask) -> sigmoid."""
    m = masks(rc)
    h = jnp.concatenate([x * (1 - m), m], axis=1)
    for i, n in enumerate(data.NAMES):
        h = h @ p[n]["w"] + p[n]["b"]
        h = jax.nn.relu(h) if i + 1 < len(data.NAMES) else jax.nn.sigmoid(h)
    return x * (1 - m) + h * m, m


def loss(p, x, rc):
    f, m = fill(p, x, rc)
    return jnp.sum(jnp.square(f - x)) / jnp.sum(m)


def main():
    a = data.options("inpainting MNIST digits with a context encoder (JAX)")
    x, rc, xt, rct = data.load(a)
    t = JaxTrainer(jax.tree.map(jnp.asarray, data.init_params(a.seed)), a.lr, loss, x, rc, a.batch)
    tut.train_epochs(a, len(x) // a.batch, t, data.line)
    f = jax.jit(fill)
    out = np.concatenate([np.asarray(f(t.p, xt[i:i + data.EVAL_BATCH], rct[i:i + data.EVAL_BATCH])[0])
                          for i in range(0, len(xt), data.EVAL_BATCH)])
    data.report(x, xt, out, data.masks(rct))


main()
