"""22_image_captioning in JAX: the same strided-convolution encoder, GRU decoder (a
lax.scan under teacher forcing) and masked cross-entropy, jax.value_and_grad and Adam
(Optax's formulas) in one jitted step; greedy decoding as a jitted loop of cells."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

import data  # first: it puts ../common on the path
from fit import jax_fit  # noqa: I100

H, L = data.H, data.L


def conv(x, w, shape, stride):
    dn = ("NHWC", "HWIO", "NHWC")
    return jax.lax.conv_general_dilated(x, w.reshape(shape), (stride, stride), "VALID", dimension_numbers=dn)


def encode(p, x):
    h = jax.nn.relu(conv(x, p["conv1"], (4, 4, 3, 16), 4) + p["conv1_b"])
    h = jax.nn.relu(conv(h, p["conv2"], (2, 2, 16, 32), 2) + p["conv2_b"])
    return jnp.tanh(h.reshape(x.shape[0], -1) @ p["enc"] + p["enc_b"])


def cell(g, h, xt):
    """flax's GRUCell without a recurrent bias; xt the input's projection x @ wi + bi."""
    hh = h @ g["wh"]
    r = jax.nn.sigmoid(xt[:, :H] + hh[:, :H])
    z = jax.nn.sigmoid(xt[:, H:2 * H] + hh[:, H:2 * H])
    n = jnp.tanh(xt[:, 2 * H:] + r * hh[:, 2 * H:])
    return (1 - z) * n + z * h


def loss_fn(p, x, inputs, targets):
    g = p["gru"]
    xp = p["embed"][inputs] @ g["wi"] + g["bi"]

    def step(h, xt):
        h = cell(g, h, xt)
        return h, h

    _, hs = jax.lax.scan(step, encode(p, x), jnp.swapaxes(xp, 0, 1))
    logits = jnp.swapaxes(hs, 0, 1) @ p["out_w"] + p["out_b"]
    mask = targets != data.PAD
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return jnp.sum(ce * mask) / jnp.sum(mask)


@jax.jit
def greedy(p, x):
    g, h = p["gru"], encode(p, x)
    w, out = jnp.full(x.shape[0], data.BOS), []
    for _ in range(L):
        h = cell(g, h, p["embed"][w] @ g["wi"] + g["bi"])
        w = jnp.argmax(h @ p["out_w"] + p["out_b"], -1)
        out.append(w)
    return jnp.stack(out, 1)


def main():
    a = data.options("Image captioning: CNN encoder, GRU decoder (JAX)")
    (x, cap), (xt, capt), steps = data.problem(a)
    p = jax_fit(a, data.init(a.seed), loss_fn, (x, data.teacher(cap), cap), steps, "cross-entropy")
    data.report(np.asarray(greedy(p, xt)), capt)


main()
