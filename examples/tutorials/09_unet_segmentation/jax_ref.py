"""09_unet_segmentation in JAX: the same U-Net with lax.conv_general_dilated (NHWC, HWIO,
SAME), lax.reduce_window max pooling and jnp.repeat upsampling; jax.value_and_grad and
Adam (Optax's formulas, common/optim.py) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import tut


def conv(p, name, x):
    w = p[name + ".w"]
    y = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p[name + ".b"]


def pool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def up_block(p, name, skip, x):
    up = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
    return jax.nn.relu(conv(p, name, jnp.concatenate([skip, up], 3)))


def unet(p, x):
    e0 = jax.nn.relu(conv(p, "enc0", x))
    e1 = jax.nn.relu(conv(p, "enc1", pool(e0)))
    m = jax.nn.relu(conv(p, "mid", pool(e1)))
    return conv(p, "head", up_block(p, "dec0", e0, up_block(p, "dec1", e1, m)))


def loss_fn(p, x, y):
    logp = jax.nn.log_softmax(unet(p, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[..., None], -1))


def main():
    a = data.options("U-Net segmentation of generated scenes (JAX)")
    x, y, xt, yt, steps = data.problem(a)
    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a.seed + 10)), a.lr, loss_fn, x, y, a.batch)
    tut.train_epochs(a, steps, train, data.epoch_line)
    data.report(np.asarray(jax.jit(lambda p, x: unet(p, x).argmax(-1))(train.p, xt)), yt)


main()
