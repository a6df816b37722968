"""30_adversarial in JAX: the same MLP, data, initial weights, Adam steps and attacks, the
input's gradient from jax.grad(loss, argnums=1), the attack's steps a Python loop
unrolled by jax.jit, as the C loop is unrolled into jx's trace."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import tut


def forward(p, x):
    for l, n in enumerate(data.NAMES):
        x = x @ p[n]["w"] + p[n]["b"]
        x = jax.nn.relu(x) if l < 2 else x
    return x


def loss_fn(p, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(forward(p, x), y).mean()


def attack(p, x0, y, steps, alpha):
    x = x0
    for _ in range(steps):
        x = x + alpha * jnp.sign(jax.grad(loss_fn, argnums=1)(p, x, y))
        x = jnp.clip(jnp.clip(x, x0 - data.EPS, x0 + data.EPS), 0, 1)
    return jax.lax.stop_gradient(x)


@functools.partial(jax.jit, static_argnums=(0, 1), donate_argnums=(2, 3))
def step(opt, adversarial, p, state, x, y):
    if adversarial:
        x = attack(p, x, y, data.TRAIN_PGD_STEPS, data.TRAIN_ALPHA)
    loss, g = jax.value_and_grad(loss_fn)(p, x, y)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


@jax.jit
def predictions(p, x, y):
    xs = (x, attack(p, x, y, 1, data.EPS), attack(p, x, y, data.TEST_PGD_STEPS, data.TEST_ALPHA))
    return jnp.stack([forward(p, xa).argmax(1) for xa in xs])


def main():
    a = data.options("FGSM and PGD attacks and adversarial training (JAX)")
    x, y, xt, yt = data.load(a)
    steps, B, acc, opt = len(x) // a.batch, a.batch, [], optax.adam(a.lr)
    for adversarial, what in ((False, "standard training"), (True, "adversarial training (PGD-3)")):
        p = jax.tree_util.tree_map(jnp.asarray, data.init_params(a.seed))
        state = opt.init(p)
        step(opt, adversarial, *jax.tree_util.tree_map(jnp.copy, (p, state)), x[:B], y[:B])  # compiled first
        predictions(p, xt[:data.EVAL_BATCH], yt[:data.EVAL_BATCH]).block_until_ready()
        with tut.timed(what):
            for e in range(a.epochs):
                losses = []
                for s in range(steps):
                    p, state, loss = step(opt, adversarial, p, state, x[s * B:(s + 1) * B], y[s * B:(s + 1) * B])
                    losses.append(loss)
                data.report_epoch(what, e, np.asarray(losses))
        with tut.timed("attacks on the test set"):
            right = sum((np.asarray(predictions(p, xt[i:i + data.EVAL_BATCH], yt[i:i + data.EVAL_BATCH]))
                         == yt[i:i + data.EVAL_BATCH]).sum(1) for i in range(0, len(xt), data.EVAL_BATCH))
        acc.append(right / len(xt))
    data.report(len(xt), acc)


main()
