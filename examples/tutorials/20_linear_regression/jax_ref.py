"""20_linear_regression in JAX: the same data and descent, the step jitted with
jax.value_and_grad as the C program does with jx_value_and_grad and jx_jit."""
import jax
import jax.numpy as jnp

import data
import tut


def mse(w, b, x, y):
    return jnp.mean(jnp.square(x @ w + b - y))


@jax.jit
def step(w, b, x, y, lr):
    loss, (dw, db) = jax.value_and_grad(mse, argnums=(0, 1))(w, b, x, y)
    return w - lr * dw, b - lr * db, loss


def main():
    a = tut.parse("linear regression by gradient descent (JAX)", epochs=500, batch=65536, lr=0.05)
    x, y, xt, yt = data.problem(a)
    x, y, lr = jnp.asarray(x), jnp.asarray(y), jnp.float32(a.lr)
    w, b = jnp.zeros(data.D, jnp.float32), jnp.float32(0)
    step(w, b, x, y, lr)[2].block_until_ready()  # compile outside the timed part, as jx_jit is
    with tut.timed("gradient descent"):
        for _ in range(a.epochs):
            w, b, loss = step(w, b, x, y, lr)
        loss.block_until_ready()
    test = float(mse(w, b, xt, yt))
    print(f"after {a.epochs} steps: train loss {float(loss):.5f}, test MSE {test:.5f}")
    tut.metric("test_mse", test)


main()
