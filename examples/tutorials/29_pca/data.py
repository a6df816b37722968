"""The data of 29_pca, as pca.c reads it: MNIST (or Debian's Fashion-MNIST with --data)
images flattened to 784 values in [0, 1]; and the report both references print."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

D = 784


def extra(p):
    p.add_argument("--k", type=int, default=50)


def problem(a):
    """(x, xt) for the options a (the C program's --quick sizes included)."""
    if a.quick:
        a.limit = 1000
    tx, _, vx, _ = tut.load_mnist(a.data)
    n = a.limit if 0 < a.limit < len(tx) else len(tx)
    m = 500 if a.quick else len(vx)
    return tx[:n].reshape(n, D), vx[:m].reshape(m, D)


def report(a, w, mse):
    """w: the eigenvalues, descending; mse: the test images' top-k reconstruction error."""
    cum = np.cumsum(np.maximum(np.asarray(w, np.float64), 0))
    cum /= cum[-1]
    print(f"top 2 axes explain {100 * cum[1]:.1f}% of the variance, top {a.k} explain {100 * cum[a.k - 1]:.1f}%; "
          f"test images rebuilt from {a.k} numbers: mean squared error {float(mse):.5f}")
    tut.metric("explained_variance", cum[a.k - 1])
