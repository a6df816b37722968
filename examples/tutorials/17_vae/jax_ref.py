"""17_vae in JAX: the same VAE, data, initial weights and Adam steps, eps drawn inside the
jitted step from fold_in(key, step) as the C program does with jx's PRNG (the same bits),
jax.value_and_grad through the reparameterisation, optax.adam."""
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


def neg_elbo(p, x, eps):
    """Per image: the negative ELBO, its reconstruction term and its KL term."""
    mu, lv = jnp.split(mlp(p["enc"], ("enc1", "enc2"), x), 2, axis=1)
    logits = mlp(p["dec"], ("dec1", "dec2"), mu + jnp.exp(0.5 * lv) * eps)
    recon = optax.sigmoid_binary_cross_entropy(logits, x).sum(1)
    kl = -0.5 * jnp.sum(1 + lv - mu ** 2 - jnp.exp(lv), axis=1)
    return recon + kl, recon, kl


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, x, key, i):
    eps = jax.random.normal(jax.random.fold_in(key, i), (x.shape[0], data.LATENT))
    loss, g = jax.value_and_grad(lambda p: neg_elbo(p, x, eps)[0].mean())(p)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


def main():
    a = data.options("a variational autoencoder on MNIST (JAX)")
    x, xt, eps_t = data.load(a)
    p, curve = jax_keyed.train(a, step, data.init_params(a.seed), x)
    steps = len(x) // a.batch
    ev = jax.jit(neg_elbo)
    parts = [ev(p, xt[i:i + data.EVAL_BATCH], eps_t[i:i + data.EVAL_BATCH]) for i in range(0, len(xt), data.EVAL_BATCH)]
    nelbo, recon, kl = (float(np.mean(np.concatenate([np.asarray(q[k]) for q in parts]))) for k in range(3))
    data.report(a, steps, np.asarray(curve), nelbo, recon, kl)


main()
