"""The synthetic ratings of 13_collaborative_filtering, as collab.c draws them: hidden
user and item factors of rank 8, a rating 3 + p_u . q_i / sqrt(8) + 0.3 noise, training
and test pairs uniform over users and items; and the initial parameters."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

RANK, DIM, LAMBDA = 8, 16, 0.02


def draw(users, items, n, seed, p, q):
    u = (tut.uniform(seed, n).astype(np.float64) * users).astype(np.int32)
    i = (tut.uniform(seed + 1, n).astype(np.float64) * items).astype(np.int32)
    e = tut.normal(seed + 2, n).astype(np.float64)
    dot = (p[u].astype(np.float64) * q[i].astype(np.float64)).sum(1)
    return u, i, (3 + dot / np.sqrt(RANK) + 0.3 * e).astype(np.float32)


def problem(a):
    """(users, items, train (u, i, r), test (u, i, r), mean, params) for the options a
    (the C program's --quick sizes included)."""
    users, items, ntrain, ntest = 2000, 1000, 100000, 10000
    if a.quick:
        users, items, ntrain, ntest, a.epochs = 300, 200, 20000, 2000, 5
    p = tut.normal(a.seed + 100, users * RANK).reshape(users, RANK)
    q = tut.normal(a.seed + 101, items * RANK).reshape(items, RANK)
    train, test = draw(users, items, ntrain, a.seed + 200, p, q), draw(users, items, ntest, a.seed + 300, p, q)
    mean = float(np.mean(train[2].astype(np.float64)))
    params = {"user.emb": 0.1 * tut.normal(a.seed + 10, users * DIM).reshape(users, DIM),
              "user.bias": np.zeros((users, 1), np.float32),
              "item.emb": 0.1 * tut.normal(a.seed + 11, items * DIM).reshape(items, DIM),
              "item.bias": np.zeros((items, 1), np.float32)}
    return train, test, mean, params


def baseline(test, mean):
    return float(np.sqrt(np.mean((test[2].astype(np.float64) - mean) ** 2)))


def report(a, train_rmse, rmse, base):
    for e, (tr, te) in enumerate(zip(train_rmse, rmse)):
        print(f"epoch {e + 1}: training RMSE {tr:.4f}, test RMSE {te:.4f}")
    print(f"test RMSE {rmse[-1]:.4f} against {base:.4f} predicting the global mean (the noise alone gives 0.3)")
    tut.metric("test_rmse", rmse[-1])
