"""15_srcnn in JAX: the low-resolution inputs from jax.image.resize, the three
convolutions with lax.conv_general_dilated (NHWC, HWIO, SAME), jax.value_and_grad and
Adam (Optax's formulas, common/optim.py) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import tut


def lowres(y):
    n = y.shape[0]
    small = jax.image.resize(y, (n, data.LOW, data.LOW, 1), "bilinear")
    return jax.image.resize(small, (n, data.S, data.S, 1), "bilinear")


def conv(x, w, b):
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b


def predict(p, x):
    h = jax.nn.relu(conv(x, p["c1.w"], p["c1.b"]))
    h = jax.nn.relu(conv(h, p["c2.w"], p["c2.b"]))
    return x + conv(h, p["c3.w"], p["c3.b"])


def loss_fn(p, x, y):
    return jnp.mean(jnp.square(predict(p, x) - y))


def main():
    a = data.options("SRCNN super-resolution (JAX)")
    _, y, _, yt, steps = data.problem(a)
    x, xt = np.asarray(jax.jit(lowres)(y)), np.asarray(jax.jit(lowres)(yt))
    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a.seed + 10)), a.lr, loss_fn, x, y, a.batch)
    tut.train_epochs(a, steps, train, data.epoch_line)
    data.report(np.asarray(jax.jit(predict)(train.p, xt)), xt, yt)


main()
