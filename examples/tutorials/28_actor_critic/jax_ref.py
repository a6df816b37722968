"""28_actor_critic in JAX: the same A2C; the update is jax.pmap over --workers CPU devices
(XLA's --xla_force_host_platform_device_count), each computing the gradient of its
environments' rollouts, averaged with lax.pmean, clipped and applied with Adam."""
import os
import sys

workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
# first: XLA stops reading its flags at a bare word such as "intra_op_parallelism_threads=1"
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={workers} " + os.environ.get("XLA_FLAGS", "")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import data  # noqa: E402  (first: it puts ../common on the path)
import ac  # noqa: E402,I100
from optim import jax_adam  # noqa: E402


def loss_fn(p, s, act, ret):
    logp, v = ac.jax_net(p, s)
    adv = jax.lax.stop_gradient(ret - v)
    pg = -jnp.mean(jnp.sum(logp * act, axis=1) * adv)
    ent = -jnp.mean(jnp.sum(jnp.exp(logp) * logp, axis=1))
    return pg + data.VALUE_COEF * jnp.mean(jnp.square(ret - v)) - data.ENTROPY_COEF * ent


def main():
    a = data.options("A2C on CartPole (JAX, pmap over CPU devices)")
    w = a.workers
    params = jax.tree.map(jnp.asarray, ac.init(a.seed))
    adam_init, adam_update = jax_adam(a.lr, clip=data.CLIP)

    def update(p, state, s, act, ret):
        return adam_update(p, state, jax.lax.pmean(jax.grad(loss_fn)(p, s, act, ret), "workers"))

    update = jax.pmap(update, axis_name="workers", in_axes=(None, None, 0, 0, 0), out_axes=None)
    pol = jax.jit(ac.jax_net)
    opt = [adam_init(params)]

    def policy(p, s):
        logp, v = pol(p, s)
        return np.asarray(logp), np.asarray(v)

    def train(p, batch):
        p, opt[0] = update(p, opt[0], *(x.reshape(w, -1, *x.shape[1:]) for x in batch))
        return p

    n = a.batch * data.ROLL  # compile outside the timed part, as jx_jit does
    update(params, opt[0], np.zeros((w, n // w, 4), np.float32), np.zeros((w, n // w, 2), np.float32),
           np.zeros((w, n // w), np.float32))
    policy(params, np.zeros((a.batch, 4), np.float32)), policy(params, np.zeros((1, 4), np.float32))
    params = data.run(a, params, policy, train)
    ac.greedy_return(policy, params, a.seed)


main()
