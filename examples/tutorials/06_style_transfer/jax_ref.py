"""06_style_transfer in JAX: the same feature network, pre-training and image
optimisation, jax.grad with respect to the parameters and then to the image, Adam from
common/optim.py."""
import jax
import jax.numpy as jnp
import numpy as np

import data
import tut
from optim import JaxTrainer, jax_adam


def conv(x, p):
    y = jax.lax.conv_general_dilated(x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(y + p["b"])


def pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean((2, 4))


def features(p, x):
    f1 = conv(x, p["c1"])
    return f1, conv(pool(f1), p["c2"])


def ce_loss(p, x, y):
    logits = pool(features(p, x)[1]).reshape(len(x), -1) @ p["fc"]["w"] + p["fc"]["b"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))


def gram(f):
    f = f.reshape(-1, f.shape[-1])
    return f.T @ f / f.shape[0]


def losses(img, p, target):
    """(content, style): the squared distance of the second layer's features from the
    content image's, and of both layers' Gram matrices from the style image's."""
    f1, f2 = features(p, img)
    return jnp.mean(jnp.square(f2 - target["f2"])), \
        jnp.mean(jnp.square(gram(f1) - target["g1"])) + jnp.mean(jnp.square(gram(f2) - target["g2"]))


def total(img, p, target):
    c, s = losses(img, p, target)
    return c + data.STYLE_W * s


def main():
    a = data.options("neural style transfer on a digit with a pre-trained small CNN (JAX)")
    x, y, content, style = data.load(a)
    p = data.pretrain(a, JaxTrainer(jax.tree.map(jnp.asarray, data.init_params(a.seed)), data.PRE_LR, ce_loss, x, y, a.batch), len(x))
    fs, fc = features(p, style), features(p, content)
    target = {"f2": fc[1], "g1": gram(fs[0]), "g2": gram(fs[1])}
    init, update = jax_adam(a.lr)

    @jax.jit
    def step(img, state):
        loss, g = jax.value_and_grad(total)(img, p, target)
        img, state = update(img, state, g)
        return img, state, loss

    img, state = jnp.asarray(content), init(jnp.asarray(content))
    step.lower(img, state).compile()
    with tut.timed("style transfer"):
        for e in range(a.epochs):
            tot = 0.0
            for _ in range(data.STEPS):
                img, state, loss = step(img, state)
                tot += float(loss) / data.STEPS
            data.style_line(e, tot)
    c0, s0 = losses(jnp.asarray(content), p, target)
    c, s = losses(img, p, target)
    data.report(float(c0), float(s0), float(c), float(s))


main()
