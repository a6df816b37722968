"""The data, feature network, images and report of 06_style_transfer, as style.c has
them: the first --limit training images in the file's order for pre-training; the
network's initial weights from common/tut.py's generator (He-scaled, seeds seed + 1..3);
the content image (the first test image) and the style image (diagonal stripes)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

C1, C2, PRE_EPOCHS, PRE_LR, STEPS, STYLE_W, PERIOD = 8, 16, 2, 1e-3, 50, 1e3, 10


def options(about):
    """--epochs: rounds of STEPS steps of the image; --lr: the image's Adam rate;
    --batch and --limit: the pre-training's batches and images."""
    return mnist_ref.options(about, 8, 64, 0.05, 4000, (2, 64, 1000))


def load(a):
    """(x, y, content (1,28,28,1), style (1,28,28,1)): pre-training images (N,28,28,1)
    and labels, the first test image, the stripes."""
    x, y, xt, _ = mnist_ref.load(a, 1000)
    return x.reshape(-1, 28, 28, 1), y, xt[:1].reshape(1, 28, 28, 1), stripes()


def stripes():
    """0.5 + 0.5 sin(2 pi (row + col) / PERIOD), computed in double as style.c does."""
    i = np.arange(28, dtype=np.float64)
    return (0.5 + 0.5 * np.sin(2 * np.pi * (i[:, None] + i[None, :]) / PERIOD)).astype(np.float32).reshape(1, 28, 28, 1)


def init_params(seed):
    def conv(s, c, o):
        return tut.weights(s, 9 * c, o, float(np.float32(np.sqrt(2.0 / (9 * c))))).reshape(3, 3, c, o)
    return {"c1": {"w": conv(seed + 1, 1, C1), "b": np.zeros(C1, np.float32)},
            "c2": {"w": conv(seed + 2, C1, C2), "b": np.zeros(C2, np.float32)},
            "fc": {"w": tut.weights(seed + 3, 7 * 7 * C2, 10, float(np.float32(np.sqrt(1.0 / (7 * 7 * C2))))),
                   "b": np.zeros(10, np.float32)}}


def pre_line(e, loss):
    print(f"epoch {e + 1}: mean pre-training loss {loss:.4f}")


def pretrain(a, trainer, n):
    """PRE_EPOCHS epochs of the trainer (common/optim.py's) over n images in batches of
    a.batch, timed as "training"; returns the trained parameters."""
    tut.train_epochs(argparse.Namespace(**{**vars(a), "epochs": PRE_EPOCHS}), n // a.batch, trainer, pre_line)
    return trainer.p


def style_line(e, loss):
    print(f"round {e + 1}: mean style transfer loss {loss:.4f}")


def report(c0, s0, c, s):
    """The content and style losses of the content image itself (the start) and of the result."""
    print(f"style loss {s0:.5f} -> {s:.5f} (1/{s0 / s:.0f} of the start), content loss 0 -> {c:.5f}")
    tut.metric("style_loss_ratio", s / s0)
