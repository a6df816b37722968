"""The synthetic data of 20_linear_regression, as linear_regression.c draws it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

D = 32


def make_data(n, seed, wstar):
    x = tut.normal(seed, n * D).reshape(n, D)
    noise = tut.normal(seed + 1, n)
    y = (0.5 + x.astype(np.float64) @ wstar.astype(np.float64) + 0.1 * noise).astype(np.float32)
    return x, y


def problem(a):
    """(x, y, xt, yt) for the options a (the C program's --quick sizes included)."""
    if a.quick:
        a.epochs, a.batch = 40, 1024
    wstar = tut.normal(a.seed + 100, D)
    return make_data(a.batch, a.seed + 200, wstar) + make_data(2048, a.seed + 300, wstar)
