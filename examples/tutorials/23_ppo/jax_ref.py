"""23_ppo in JAX: the same PPO, the minibatch update (jax.grad of the clipped surrogate,
clipping by global norm, Adam) and the policy as jitted functions."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
import ac  # noqa: I100
from optim import jax_adam


def loss_fn(p, s, act, logp_old, adv, ret):
    logp, v = ac.jax_net(p, s)
    adv = (adv - jnp.mean(adv)) / (jnp.sqrt(jnp.var(adv)) + 1e-8)
    ratio = jnp.exp(jnp.sum(logp * act, axis=1) - logp_old)
    surr = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - data.CLIP_EPS, 1 + data.CLIP_EPS) * adv)
    ent = -jnp.mean(jnp.sum(jnp.exp(logp) * logp, axis=1))
    return -jnp.mean(surr) + data.VALUE_COEF * jnp.mean(jnp.square(ret - v)) - data.ENTROPY_COEF * ent


def main():
    a = data.options("PPO on CartPole (JAX)")
    params = jax.tree.map(jnp.asarray, ac.init(a.seed))
    adam_init, adam_update = jax_adam(a.lr, eps=1e-5, clip=data.CLIP)
    update = jax.jit(lambda p, state, batch: adam_update(p, state, jax.grad(loss_fn)(p, *batch)))
    pol, opt = jax.jit(ac.jax_net), [adam_init(params)]

    def policy(p, s):
        logp, v = pol(p, s)
        return np.asarray(logp), np.asarray(v)

    def train(p, batch):
        p, opt[0] = update(p, opt[0], batch)
        return p

    b = a.batch  # compile outside the timed part, as jx_jit does
    update.lower(params, opt[0], (np.zeros((b, 4), np.float32), np.zeros((b, 2), np.float32),
                 np.zeros(b, np.float32), np.zeros(b, np.float32), np.zeros(b, np.float32))).compile()
    policy(params, np.zeros((data.ENVS, 4), np.float32)), policy(params, np.zeros((1, 4), np.float32))
    params = data.run(a, params, policy, train)
    ac.greedy_return(policy, params, a.seed)


main()
