"""26_prototypical_nets in JAX: the same glyphs, episodes, embedding, initial weights and
Adam steps, the loss written for one episode and jax.vmap'd over a batch of episodes
(the parameters unmapped), jax.value_and_grad and optax.adam in one jitted step whose
parameters and optimizer state are donated, as the C program's."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import data
import tut


def episode(a, p, x):
    """One episode x (n, 784) -> (loss, accuracy, predictions)."""
    h = jax.nn.relu(x @ p["embed1"]["w"] + p["embed1"]["b"])
    z = h @ p["embed2"]["w"] + p["embed2"]["b"]
    ns = a.way * a.shot
    protos = z[:ns].reshape(a.way, a.shot, -1).mean(1)
    logits = 2 * z[ns:] @ protos.T - (protos ** 2).sum(1)  # -|q - p|^2 up to a per-query constant
    y = jnp.repeat(jnp.arange(a.way), a.query)
    pred = logits.argmax(1)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), (pred == y).mean(), pred


def loss_fn(a, p, x):
    loss, _, _ = jax.vmap(episode, in_axes=(None, None, 0))(a, p, x)
    return loss.mean()


@functools.partial(jax.jit, static_argnums=(0, 1), donate_argnums=(2, 3))
def step(a, opt, p, state, x):
    loss, g = jax.value_and_grad(loss_fn, argnums=1)(a, p, x)
    updates, state = opt.update(g, state, p)
    return optax.apply_updates(p, updates), state, loss


class Static:
    """The episode's sizes as a hashable static argument."""

    def __init__(self, a):
        self.way, self.shot, self.query = a.way, a.shot, a.query

    def __hash__(self):
        return hash((self.way, self.shot, self.query))

    def __eq__(self, o):
        return (self.way, self.shot, self.query) == (o.way, o.shot, o.query)


def main():
    a = data.options("few-shot classification with prototypical networks on generated glyphs (JAX)")
    train, test = data.load(a)
    s = Static(a)
    p = jax.tree_util.tree_map(jnp.asarray, data.init_params(a.seed))
    opt = optax.adam(a.lr)
    state = opt.init(p)
    acc_fn = jax.jit(lambda p, x: jax.vmap(episode, in_axes=(None, None, 0))(s, p, x)[1])
    before = data.evaluate(a, test, lambda x: acc_fn(p, x))
    step(s, opt, *jax.tree_util.tree_map(jnp.copy, (p, state)), train.batch(0))  # compiled before the timed part
    curve = []
    with tut.timed("training"):
        for i in range(a.epochs * data.STEPS):
            p, state, loss = step(s, opt, p, state, train.batch(i))
            curve.append(loss)
        jax.block_until_ready(p)
    data.report(a, np.asarray(curve), before, data.evaluate(a, test, lambda x: acc_fn(p, x)))


main()
