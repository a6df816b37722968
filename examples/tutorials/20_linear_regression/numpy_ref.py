"""20_linear_regression in NumPy: the same data, the same full-batch gradient descent on
the mean squared error, its gradient written by hand."""
import numpy as np

import data
import tut


def main():
    a = tut.parse("linear regression by gradient descent (NumPy)", epochs=500, batch=65536, lr=0.05)
    x, y, xt, yt = data.problem(a)
    w, b, lr, n = np.zeros(data.D, np.float32), np.float32(0), np.float32(a.lr), np.float32(a.batch)
    with tut.timed("gradient descent"):
        for _ in range(a.epochs):
            r = x @ w + b - y
            loss = np.mean(r * r)
            w = w - lr * (2 / n) * (x.T @ r)
            b = b - lr * (2 / n) * np.sum(r)
    mse = float(np.mean((xt @ w + b - yt) ** 2))
    print(f"after {a.epochs} steps: train loss {loss:.5f}, test MSE {mse:.5f}")
    tut.metric("test_mse", mse)


main()
