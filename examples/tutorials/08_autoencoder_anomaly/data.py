"""The data, initial weights and ROC AUC of 08_autoencoder_anomaly, as
autoencoder_anomaly.c makes them: the training images of every digit but --anomaly among
the first --limit, in the file's order; the test set scored in batches of 1,000; weights
drawn by common/tut.py's generator (the C program's numbers)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

WIDTHS = (784, 128, 32, 128, 784)
LAYERS = ("enc1", "enc2", "dec1", "dec2")
EVAL_BATCH = 1000


def options(about):
    return mnist_ref.options(about, 5, 128, 1e-3, 20000, (2, 64, 2000),
                             extra=lambda p: p.add_argument("--anomaly", type=int, default=2))


def load(a):
    """(x, xt, is_anomaly): normal training images (N,784) f32 in [0, 1], the test images
    and whether each is the held-out digit."""
    x, y, xt, yt = mnist_ref.load(a, EVAL_BATCH)
    return x[y != a.anomaly], xt, yt == a.anomaly


def init_params(seed):
    return mlp.init(LAYERS, WIDTHS, seed)


def roc_auc(score, pos):
    """The area under the ROC curve (a run of equal scores is one threshold), as the C program."""
    order = np.argsort(-score, kind="stable")
    s, p = score[order], pos[order]
    tpr = np.concatenate([[0], np.cumsum(p) / p.sum()])
    fpr = np.concatenate([[0], np.cumsum(~p) / (~p).sum()])
    ends = np.concatenate([[0], np.flatnonzero(np.append(s[1:] != s[:-1], True)) + 1])
    return float(np.sum((fpr[ends[1:]] - fpr[ends[:-1]]) * (tpr[ends[1:]] + tpr[ends[:-1]]) / 2))


def report(a, steps, curve, score, pos):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean reconstruction loss {np.mean(curve[e * steps:(e + 1) * steps]):.4f}")
    print(f"mean reconstruction error: normal digits {score[~pos].mean():.5f}, digit {a.anomaly} {score[pos].mean():.5f}")
    auc = roc_auc(score, pos)
    print(f"ROC AUC of the reconstruction error for digit {a.anomaly} among {len(pos)} test images: {auc:.4f}")
    tut.metric("roc_auc", auc)
