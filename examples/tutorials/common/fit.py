"""fit.py: the training loop of the tutorials' references whose batches are several arrays
(images and captions, spectrograms, labels and lengths): Adam as common/optim.py computes
it, run by tut.train_epochs (timed as "training") over slices of a.batch rows of every
array, printing "epoch E: mean WHAT L". numpy_fit steps with a hand-written
grads(p, *batch) -> (loss, gradients); jax_fit with jax.value_and_grad(loss_fn) and the
update in one jitted step, compiled before the timed part as jx_jit is. Both return the
trained parameters."""
import tut
from optim import NumpyAdam, jax_adam


def _line(what):
    return lambda e, m: print(f"epoch {e + 1}: mean {what} {m:.4f}")


def numpy_fit(a, p, grads, arrays, steps, what):
    adam, cur = NumpyAdam(p, a.lr), [p]

    def train(sl):
        loss, g = grads(cur[0], *(x[sl] for x in arrays))
        cur[0] = adam(cur[0], g)
        return loss

    tut.train_epochs(a, steps, train, _line(what))
    return cur[0]


def jax_fit(a, p, loss_fn, arrays, steps, what):
    import jax
    import jax.numpy as jnp
    init, update = jax_adam(a.lr)

    @jax.jit
    def step(p, state, *batch):
        loss, g = jax.value_and_grad(loss_fn)(p, *batch)
        return update(p, state, g) + (loss,)

    p = jax.tree.map(jnp.asarray, p)
    cur = [p, init(p)]
    step.lower(*cur, *(x[:a.batch] for x in arrays)).compile()

    def train(sl):
        cur[0], cur[1], loss = step(*cur, *(x[sl] for x in arrays))
        return loss

    tut.train_epochs(a, steps, train, _line(what))
    return cur[0]
