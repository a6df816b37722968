"""The data and initial weights of 01_cnn_classification, as cnn_classification.c makes
them: the first --limit training images in the file's order, the test set in batches of
1,000, and weights drawn by common/tut.py's generator (the C program's numbers)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

C1, C2, FLAT, CLASSES, EVAL_BATCH = 8, 16, 7 * 7 * 16, 10, 1000


def options(about):
    return mnist_ref.options(about, 2, 64, 3e-3, 10000, (1, 32, 1000))


def load(a):
    """(x, y, xt, yt): images (N,28,28,1) f32 in [0, 1], labels i32."""
    x, y, xt, yt = mnist_ref.load(a, EVAL_BATCH)
    return x.reshape(-1, 28, 28, 1), y, xt.reshape(-1, 28, 28, 1), yt


def _normal(seed, gain, fan_in, shape):
    return tut.normal(seed, int(np.prod(shape))).reshape(shape) * np.float32(np.sqrt(gain / fan_in))


def init_params(seed):
    return {"conv1": {"w": _normal(seed + 1, 2, 9, (3, 3, 1, C1)), "b": np.zeros(C1, np.float32)},
            "conv2": {"w": _normal(seed + 2, 2, 9 * C1, (3, 3, C1, C2)), "b": np.zeros(C2, np.float32)},
            "dense": {"w": _normal(seed + 3, 1, FLAT, (FLAT, CLASSES)), "b": np.zeros(CLASSES, np.float32)}}


def report(a, steps, curve, acc):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean training loss {np.mean(curve[e * steps:(e + 1) * steps]):.4f}")
    print(f"test accuracy {100 * acc:.2f}%")
    tut.metric("test_accuracy", acc)
