"""The data, initial parameters and training schedule of 18_transfer_learning, as
transfer_learning.c makes them: MNIST digits 0-4 (the first --limit training images)
for pre-training, the first --labelled training images of digits 5-9 for adapting,
test images of each, and weights from common/tut.py's generator."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import conv_np  # noqa: E402
import numpy as np  # noqa: E402
import tut  # noqa: E402

C1, C2, FLAT, K, EVAL, PRE_BATCH = 8, 16, 7 * 7 * 16, 5, 500, 64


def options(about):
    a = tut.parse(about, epochs=20, batch=16, lr=3e-3,
                  extra=lambda p: p.add_argument("--labelled", type=int, default=100))
    if a.quick:
        a.epochs, a.limit = 15, 3000
    a.limit = a.limit or 20000
    return a


def _subset(x, y, n, lo, most):
    keep = np.nonzero((y[:n] >= lo) & (y[:n] < lo + K))[0][:most]
    return x[keep].reshape(-1, 28, 28, 1), (y[keep] - lo).astype(np.int32)


def load(a):
    """(pre-training set, adaptation set, their test sets): each (x (N,28,28,1), y i32)."""
    tx, ty, vx, vy = tut.load_mnist(a.data)
    ntest = 1000 if a.quick else 4500
    sets = (_subset(tx, ty, a.limit, 0, len(ty)), _subset(tx, ty, len(ty), K, a.labelled),
            _subset(vx, vy, len(vy), 0, ntest), _subset(vx, vy, len(vy), K, ntest))
    print(f"pre-training on {len(sets[0][1])} images of classes 0-4, adapting to classes 5-9 from {len(sets[1][1])} "
          f"labelled images; {len(sets[2][1])} and {len(sets[3][1])} test images")
    return sets


def new_head(p, seed):
    p = dict(p)
    p["head.w"] = tut.weights(seed, FLAT, K, 1 / 28.0)
    p["head.b"] = np.zeros(K, np.float32)
    return p


def init(seed):
    p = {"features.conv1.w": conv_np.he_conv(seed, 3, 1, C1), "features.conv1.b": np.zeros(C1, np.float32),
         "features.conv2.w": conv_np.he_conv(seed + 1, 3, C1, C2), "features.conv2.b": np.zeros(C2, np.float32)}
    return new_head(p, seed + 2)


def run(a, train, accuracy):
    """The C program's schedule: train(name, params, pattern, lr, epochs, (x, y), batch)
    -> params trains the leaves whose names start with pattern ("" for all);
    accuracy(params, (x, y)) scores in batches of EVAL."""
    pre_tr, tr5, pre_te, te5 = load(a)
    with tut.timed("pre-training"):
        pre = train("pre-training", init(a.seed + 10), "", a.lr, 1, pre_tr, PRE_BATCH)
    print(f"pre-trained network: test accuracy {100 * accuracy(pre, pre_te):.2f}% on classes 0-4")
    with tut.timed("adaptation, three runs"):
        frozen = train("frozen features", new_head(pre, a.seed + 20), "head.", a.lr, a.epochs, tr5, a.batch)
        tuned = train("fine-tuned", new_head(pre, a.seed + 20), "", a.lr / 3, a.epochs, tr5, a.batch)
        scratch = train("from scratch", init(a.seed + 10), "", a.lr, a.epochs, tr5, a.batch)
    acc = [accuracy(p, te5) for p in (frozen, tuned, scratch)]
    print(f"test accuracy on classes 5-9 after {len(tr5[1])} labelled images: frozen features {100 * acc[0]:.2f}%, "
          f"fine-tuned {100 * acc[1]:.2f}%, from scratch {100 * acc[2]:.2f}%")
    tut.metric("pretrained_accuracy", accuracy(pre, pre_te))
    tut.metric("frozen_accuracy", acc[0])
    tut.metric("scratch_accuracy", acc[2])
    tut.metric("finetuned_accuracy", acc[1])


def batches(s, batch):
    """The (x, y) batches of one epoch over the set s, in order (the last partial dropped)."""
    for i in range(len(s[1]) // batch):
        yield s[0][i * batch:(i + 1) * batch], s[1][i * batch:(i + 1) * batch]


def count_right(predict, s):
    n = len(s[1]) - len(s[1]) % EVAL
    right = sum(int((predict(s[0][i:i + EVAL]) == s[1][i:i + EVAL]).sum()) for i in range(0, n, EVAL))
    return right / n
