"""03_gan_digits in JAX: the same GAN, data, initial weights and Adam steps; the codes
drawn inside the jitted step from fold_in(key, step) as the C program does with jx's
PRNG (the same bits), one jax.grad per player, one optax.adam(b1 = 0.5) update of both."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import jax_keyed


def mlp(p, names, x):
    for i, n in enumerate(names):
        x = x @ p[n]["w"] + p[n]["b"]
        x = jax.nn.relu(x) if i + 1 < len(names) else x
    return x


def generate(gen, z):
    return jax.nn.sigmoid(mlp(gen, data.GEN, z))


def d_loss(dis, gen, x, z):
    """The discriminator's: real images are 1, generated ones 0."""
    real, fake = mlp(dis, data.DIS, x), mlp(dis, data.DIS, generate(gen, z))
    bce = optax.sigmoid_binary_cross_entropy
    return bce(real, jnp.ones_like(real)).mean() + bce(fake, jnp.zeros_like(fake)).mean()


def g_loss(gen, dis, z):
    """The generator's (non-saturating): its images called real."""
    fake = mlp(dis, data.DIS, generate(gen, z))
    return optax.sigmoid_binary_cross_entropy(fake, jnp.ones_like(fake)).mean()


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, x, key, i):
    z = jax.random.normal(jax.random.fold_in(key, i), (x.shape[0], data.LATENT))
    dl, gd = jax.value_and_grad(d_loss)(p["dis"], p["gen"], x, z)
    gg = jax.grad(g_loss)(p["gen"], p["dis"], z)
    updates, state = opt.update({"gen": gg, "dis": gd}, state, p)
    return optax.apply_updates(p, updates), state, dl


def main():
    a = data.options("a GAN generating digits (JAX)")
    x, means, z, real = data.load(a)
    p, curve = jax_keyed.train(a, step, data.init_params(a.seed), x, optax.adam(a.lr, b1=0.5))
    img = np.asarray(jax.jit(generate)(p["gen"], z))
    data.report(a, len(x) // a.batch, np.asarray(curve), data.score(img, means), real)


main()
