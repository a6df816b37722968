"""15_srcnn in JAX: the low-resolution inputs from jax.image.resize, the three
convolutions with lax.conv_general_dilated (NHWC, HWIO, SAME), jax.value_and_grad and
Adam (Optax's formulas, common/optim.py) in one jitted step."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import jax_adam  # noqa: I100
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
    p = jax.tree.map(jnp.asarray, data.init(a.seed + 10))
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
            data.epoch_line(e, total)
    data.report(np.asarray(jax.jit(predict)(p, xt)), xt, yt)


main()
