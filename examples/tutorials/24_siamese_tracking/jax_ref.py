"""24_siamese_tracking in JAX: the same videos, triplets, embedding, initial weights,
Adam steps and tracker, with lax's strided convolutions, jax.value_and_grad, optax.adam
and the step jitted with its parameters and optimizer state donated, as the C program."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import tut


def embed(p, x):
    def conv(h, layer, k, c, o):
        w = p[layer]["w"].reshape(k, k, c, o)
        h = jax.lax.conv_general_dilated(h, w, (2, 2), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(h + p[layer]["b"])

    h = conv(conv(x, "conv1", 4, 1, data.C1), "conv2", 3, data.C1, data.C2)
    return h.reshape(len(x), -1) @ p["dense"]["w"] + p["dense"]["b"]


def loss_fn(p, a, pos, neg):
    za, zp, zn = jnp.split(embed(p, jnp.concatenate([a, pos, neg])), 3)
    return jax.nn.softplus(((za - zp) ** 2).sum(1) - ((za - zn) ** 2).sum(1)).mean()


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, a, pos, neg):
    loss, g = jax.value_and_grad(loss_fn)(p, a, pos, neg)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


@jax.jit
def dist(p, cand, tmpl):
    zc, zt = embed(p, cand).reshape(len(tmpl), data.CAND, -1), embed(p, tmpl)
    return ((zc - zt[:, None]) ** 2).sum(2)


def main():
    a = data.options("a Siamese embedding tracking generated glyphs (JAX)")
    (frames, pos), (tf, tp) = data.load(a)
    trip = data.Triplets(a, frames, pos)
    p = jax.tree_util.tree_map(jnp.asarray, data.init_params(a.seed))
    opt = optax.adam(a.lr)
    state = opt.init(p)
    before = data.track(tf, tp, lambda c, t: dist(p, c, t))
    step(opt, *jax.tree_util.tree_map(jnp.copy, (p, state)), *trip.batch(0))  # compiled before the timed part
    curve = []
    with tut.timed("training"):
        for s in range(a.epochs * data.STEPS):
            p, state, loss = step(opt, p, state, *trip.batch(s))
            curve.append(loss)
        jax.block_until_ready(p)
    data.report(a, np.asarray(curve), before, data.track(tf, tp, lambda c, t: dist(p, c, t)))


main()
