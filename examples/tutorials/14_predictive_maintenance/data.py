"""The synthetic sensor data of 14_predictive_maintenance, as maintenance.c draws it:
eight normal features per machine, a failure when a uniform draw falls below
sigmoid(-6.5 + 1.5 x0 + 1.2 x1^2 - x2 + x3 x4); the initial MLP weights; and the scores
(F1 and accuracy at 0.5, the ROC area)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

F, H = 8, 32


def make_data(n, seed):
    x = tut.normal(seed, n * F).reshape(n, F)
    u = tut.uniform(seed + 1, n)
    f = x.astype(np.float64)
    logit = -6.5 + 1.5 * f[:, 0] + 1.2 * f[:, 1] * f[:, 1] - f[:, 2] + f[:, 3] * f[:, 4]
    return x, (u < 1 / (1 + np.exp(-logit))).astype(np.float32)


def problem(a):
    """(x, y, xt, yt, params, pos_weight) for the options a (--quick sizes included); failures
    weigh sqrt(negatives / positives) in the loss."""
    n, m = (a.limit if a.limit > 0 else 50000), 10000
    if a.quick:
        n, m, a.epochs = 5000, 2000, 5
    x, y = make_data(n, a.seed + 200)
    xt, yt = make_data(m, a.seed + 300)
    pos = float(y.sum())
    print(f"{n} training machines, {pos:.0f} failures ({100 * pos / n:.1f}%): failures weigh {np.sqrt((n - pos) / pos):.1f} "
          "times more")
    params = {}
    for l, (fi, fo) in enumerate([(F, H), (H, H), (H, 1)]):
        params[f"l{l + 1}.w"] = (tut.normal(a.seed + 10 + l, fi * fo).reshape(fi, fo) * np.float32(np.sqrt(2.0 / fi)))
        params[f"l{l + 1}.b"] = np.zeros(fo, np.float32)
    return x, y, xt, yt, params, np.float32(np.sqrt((n - pos) / pos))


def report(prob, yt):
    p, t = prob > 0.5, yt > 0.5
    tp = np.sum(p & t)
    f1 = 2 * tp / (p.sum() + t.sum()) if tp else 0.0
    order = np.argsort(-prob, kind="stable")
    ys = t[order]
    tpr = np.cumsum(ys) / t.sum()
    auc = float(np.sum(tpr[~ys]) / (~t).sum())
    print(f"test: F1 {f1:.4f}, accuracy {np.mean(p == t):.4f} (\"never fails\" scores {np.mean(~t):.4f}), "
          f"ROC area {auc:.4f}")
    tut.metric("f1", f1)
