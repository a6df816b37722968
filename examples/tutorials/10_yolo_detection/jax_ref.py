"""10_yolo_detection in JAX: the same grid detector with lax.conv_general_dilated and
lax.reduce_window, the same three-part loss (optax's sigmoid and softmax cross-entropies
written out), jax.value_and_grad and Adam (Optax's formulas, common/optim.py) in one
jitted step; decoding, NMS and mAP on the host (common/vision.py)."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import jax_adam  # noqa: I100
import tut


def conv(p, name, x):
    y = jax.lax.conv_general_dilated(x, p[name + ".w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p[name + ".b"]


def space_to_depth(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // 2, w // 2, 4 * c)


def detector(p, x):
    x = jax.lax.reduce_window(jax.nn.relu(conv(p, "c1", x)), -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    x = space_to_depth(jax.nn.relu(conv(p, "c2", x)))
    x = space_to_depth(jax.nn.relu(conv(p, "c3", x)))
    return conv(p, "head", jax.nn.relu(conv(p, "c4", x)))


def loss_fn(p, x, obj, box, cls):
    y = detector(p, x)
    o, b, logits = y[..., 0], y[..., 1:5], y[..., 5:]
    conf = jnp.mean(jax.nn.softplus(o) - obj * o)  # sigmoid cross-entropy
    box_err = jnp.sum(obj[..., None] * jnp.square(b - box))
    ce = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, cls[..., None], -1)[..., 0]
    return conf + (data.BOX_WEIGHT * box_err + jnp.sum(obj * ce)) / obj.size


def main():
    a = data.options("YOLO-style detection of generated shapes (JAX)")
    x, obj, box, cls, test, steps = data.problem(a)
    init, update = jax_adam(a.lr)
    p = jax.tree.map(jnp.asarray, data.init(a.seed + 10))
    state = init(p)

    @jax.jit
    def step(p, state, x, obj, box, cls):
        loss, g = jax.value_and_grad(loss_fn)(p, x, obj, box, cls)
        return update(p, state, g) + (loss,)

    B = a.batch
    step.lower(p, state, x[:B], obj[:B], box[:B], cls[:B]).compile()

    def train(sl):
        nonlocal p, state
        p, state, loss = step(p, state, x[sl], obj[sl], box[sl], cls[sl])
        return loss

    tut.train_epochs(a, steps, train, data.epoch_line)
    data.report(np.asarray(jax.jit(detector)(p, test[0])), test)


main()
