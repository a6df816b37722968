"""The data of 12_kmeans, as kmeans.c reads it: MNIST (or Debian's Fashion-MNIST) images
flattened to 784 values in [0, 1], and k initial centroids drawn by common/tut.py's
generator; plus the purity that scores a clustering."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

D = 784


def extra(p):
    p.add_argument("--k", type=int, default=10)


def problem(a):
    """(x, y, xt, yt, c0) for the options a (the C program's --quick sizes included)."""
    if a.quick:
        a.epochs, a.limit = 10, 1000
    tx, ty, vx, vy = tut.load_mnist(a.data)
    n = a.limit if 0 < a.limit < len(tx) else len(tx)
    nt = 1000 if a.quick else len(vx)
    x, xt = tx[:n].reshape(n, D), vx[:nt].reshape(nt, D)
    idx = (tut.uniform(a.seed + 1, a.k).astype(np.float64) * n).astype(np.int64)
    return x, ty[:n], xt, vy[:nt], x[idx].copy()


def purity(assign, y, k):
    """(purity, majority digit of each cluster)."""
    cnt = np.zeros((k, 10), np.int64)
    np.add.at(cnt, (assign, y), 1)
    return cnt.max(1).sum() / len(y), cnt.argmax(1)


def report(a, inertia, x, y, xt, yt, assign_train, assign_test):
    pur, major = purity(assign_train, y, a.k)
    acc = float(np.mean(major[assign_test] == yt))
    print(f"after {a.epochs} iterations: inertia {inertia / len(x):.2f} per image, training purity {pur:.4f}, "
          f"test accuracy of the clusters' digits {acc:.4f}")
    tut.metric("purity", pur)
