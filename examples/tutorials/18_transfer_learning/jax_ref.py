"""18_transfer_learning in JAX: the same CNN, pre-training and three adaptations;
jax.value_and_grad with respect to the trainable dict only (the frozen one is a second,
undifferentiated argument) and Adam (common/optim.py) in one jitted step per run."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import jax_adam  # noqa: I100


def conv(x, w, b):
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b


def pool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def forward(p, x):
    h = pool(jax.nn.relu(conv(x, p["features.conv1.w"], p["features.conv1.b"])))
    h = pool(jax.nn.relu(conv(h, p["features.conv2.w"], p["features.conv2.b"])))
    return h.reshape(len(x), -1) @ p["head.w"] + p["head.b"]


def loss_fn(t, frozen, x, y):
    logits = forward({**frozen, **t}, x)
    return jnp.mean(jax.nn.logsumexp(logits, 1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0])


def train(name, p, pattern, lr, epochs, s, batch):
    p = jax.tree.map(jnp.asarray, p)
    t = {k: v for k, v in p.items() if k.startswith(pattern)}
    frozen = {k: v for k, v in p.items() if not k.startswith(pattern)}
    print(f"{name}: training {len(t)} of {len(p)} parameter arrays, {len(s[1])} images, {epochs} epochs")
    init, update = jax_adam(lr)

    @jax.jit
    def step(t, state, frozen, x, y):
        loss, g = jax.value_and_grad(loss_fn)(t, frozen, x, y)
        return update(t, state, g) + (loss,)

    state = init(t)
    step.lower(t, state, frozen, s[0][:batch], s[1][:batch]).compile()  # timed, as the C program compiles its steps
    for e in range(epochs):
        losses = []
        for x, y in data.batches(s, batch):
            t, state, loss = step(t, state, frozen, x, y)
            losses.append(loss)
        print(f"epoch {e + 1}: mean training loss {float(np.mean(losses)):.4f}")
    return {**frozen, **t}


predict = jax.jit(lambda p, x: forward(p, x).argmax(1))


def accuracy(p, s):
    return data.count_right(lambda x: np.asarray(predict(p, x)), s)


data.run(data.options("transfer learning, digits 0-4 to 5-9 (JAX)"), train, accuracy)
