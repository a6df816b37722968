"""jax_keyed.py: the training loop of the JAX references whose step draws its own random
numbers, as the C programs' steps do with jx's PRNG: each call gets the run's key and the
step number, which the step folds together (jax.random.fold_in). The step is compiled on
copies before the timed part (it donates its parameters and optimizer state)."""
import jax
import jax.numpy as jnp
import optax

import tut


def train(a, step, params, x, opt=None):
    """opt (default optax.adam(a.lr)) over a.epochs epochs of len(x) // a.batch batches of
    x, in order, with step(opt, params, state, batch, key, step_number) -> (params, state,
    loss). Returns the trained parameters and the losses."""
    p = jax.tree_util.tree_map(jnp.asarray, params)
    opt, key = opt or optax.adam(a.lr), jax.random.PRNGKey(a.seed)
    state = opt.init(p)
    steps, B, curve = len(x) // a.batch, a.batch, []
    step(opt, *jax.tree_util.tree_map(jnp.copy, (p, state)), x[:B], key, 0)  # compiled before the timed part
    with tut.timed("training"):
        for e in range(a.epochs):
            for s in range(steps):
                p, state, loss = step(opt, p, state, x[s * B:(s + 1) * B], key, e * steps + s)
                curve.append(loss)
        jax.block_until_ready(p)
    return p, jnp.stack(curve)
