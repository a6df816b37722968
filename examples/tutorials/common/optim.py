"""optim.py: Adam as Optax computes it (optax.adam, optionally after
optax.clip_by_global_norm), for the tutorials' references: by hand in NumPy, and as pure
functions for a jitted JAX step. jx's jx_optim_adam follows the same formulas."""
import math

import numpy as np


def _zeros(t):
    return {k: _zeros(v) if isinstance(v, dict) else np.zeros_like(v) for k, v in t.items()}


def _leaves(t):
    for v in t.values():
        yield from _leaves(v) if isinstance(v, dict) else (v,)


class NumpyAdam:
    """p = adam(p, g) on dicts (nested or flat) of float32 arrays."""

    def __init__(self, p, lr, b1=0.9, b2=0.999, eps=1e-8, clip=None):
        self.m, self.v = _zeros(p), _zeros(p)
        self.lr, self.b1, self.b2, self.eps = np.float32(lr), np.float32(b1), np.float32(b2), np.float32(eps)
        self.clip, self.count = clip, 0

    def __call__(self, p, g):
        if self.clip is not None:
            norm = math.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in _leaves(g)))
            if norm >= self.clip:
                g = _scale(g, self.clip / norm)
        self.count += 1
        c1, c2 = np.float32(1 - self.b1 ** self.count), np.float32(1 - self.b2 ** self.count)
        return self._step(p, g, self.m, self.v, c1, c2)

    def _step(self, p, g, m, v, c1, c2):
        out = {}
        for k in p:
            if isinstance(p[k], dict):
                out[k] = self._step(p[k], g[k], m[k], v[k], c1, c2)
                continue
            gk = np.asarray(g[k], np.float32)
            m[k] = self.b1 * m[k] + (1 - self.b1) * gk
            v[k] = self.b2 * v[k] + (1 - self.b2) * gk * gk
            out[k] = p[k] - self.lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + self.eps)
        return out


def _scale(t, f):
    return {k: _scale(x, f) if isinstance(x, dict) else x * f for k, x in t.items()}


def jax_adam(lr, b1=0.9, b2=0.999, eps=1e-8, clip=None):
    """(init(params) -> state, update(params, state, grads) -> (params, state)), pure
    functions over pytrees to call inside jax.jit."""
    import jax
    import jax.numpy as jnp

    def init(p):
        return jax.tree.map(jnp.zeros_like, p), jax.tree.map(jnp.zeros_like, p), jnp.float32(0)

    def update(p, state, g):
        m, v, count = state
        if clip is not None:
            norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(g)))
            g = jax.tree.map(lambda x: jnp.where(norm < clip, x, x * clip / norm), g)
        count = count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        p = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
        return p, (m, v, count)

    return init, update


class NumpyTrainer:
    """Adam on regression batches, for tut.train_epochs: trainer(sl) steps on x[sl], y[sl]
    with grads(p, x, y) -> (loss, gradient dict) and returns the loss; trainer.p holds
    the parameters."""

    def __init__(self, p, lr, grads, x, y):
        self.p, self.adam, self.grads, self.x, self.y = p, NumpyAdam(p, lr), grads, x, y

    def __call__(self, sl):
        loss, g = self.grads(self.p, self.x[sl], self.y[sl])
        self.p = self.adam(self.p, g)
        return loss


class JaxTrainer:
    """The same in JAX: jax.value_and_grad(loss_fn)(p, x, y) and jax_adam in one jitted
    step, compiled here (outside the timed part, as jx_jit is); trainer.p: the parameters."""

    def __init__(self, p, lr, loss_fn, x, y, batch):
        import jax
        init, update = jax_adam(lr)

        def step(p, state, x, y):
            loss, g = jax.value_and_grad(loss_fn)(p, x, y)
            return update(p, state, g) + (loss,)

        self.step, self.p, self.state, self.x, self.y = jax.jit(step), p, init(p), x, y
        self.step.lower(p, self.state, x[:batch], y[:batch]).compile()

    def __call__(self, sl):
        self.p, self.state, loss = self.step(self.p, self.state, self.x[sl], self.y[sl])
        return loss
