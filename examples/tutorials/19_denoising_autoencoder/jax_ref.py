"""19_denoising_autoencoder in JAX: the same autoencoder, data, initial weights and Adam
steps, the noise drawn inside the jitted step from fold_in(key, step) as the C program
does with jx's PRNG, which draws the same bits: the two follow the same trajectory."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import jax_keyed


def forward(p, x):
    for l, name in enumerate(data.LAYERS):
        x = x @ p[name]["w"] + p[name]["b"]
        x = jax.nn.relu(x) if l < 3 else x
    return x


def loss_fn(p, x, noisy):
    return jnp.mean((jax.nn.sigmoid(forward(p, noisy)) - x) ** 2)


@functools.partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def step(opt, p, state, x, key, i):
    noise = jax.random.normal(jax.random.fold_in(key, i), x.shape)
    loss, g = jax.value_and_grad(loss_fn)(p, x, jnp.clip(x + data.SIGMA * noise, 0, 1))
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


def main():
    a = data.options("a denoising autoencoder on MNIST (JAX)")
    x, clean, noisy = data.load(a)
    p, curve = jax_keyed.train(a, step, data.init_params(a.seed), x)
    steps = len(x) // a.batch
    denoise = jax.jit(lambda p, x: jax.nn.sigmoid(forward(p, x)))
    out = np.concatenate([np.asarray(denoise(p, noisy[i:i + data.EVAL_BATCH]))
                          for i in range(0, len(noisy), data.EVAL_BATCH)])
    data.report(a, steps, np.asarray(curve), clean, noisy, out)


main()
