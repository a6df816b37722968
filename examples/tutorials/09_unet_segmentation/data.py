"""The data and initial parameters of 09_unet_segmentation, as unet_segmentation.c makes
them: generated scenes of shapes (common/vision.py, the C program's pixels and masks),
He-scaled kernels from common/tut.py's generator, and the mIoU of jx/metrics.h."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import conv_np  # noqa: E402
import numpy as np  # noqa: E402
import tut  # noqa: E402
import vision  # noqa: E402

S, GRID, RMIN, RMAX, K, W0, W1, W2 = 32, 4, 3, 6, vision.CLASSES + 1, 8, 16, 32
LAYERS = (("enc0", 3, 1, W0), ("enc1", 3, W0, W1), ("mid", 3, W1, W2), ("dec1", 3, W1 + W2, W1),
          ("dec0", 3, W0 + W1, W0), ("head", 1, W0, K))


def init(seed):
    """The parameters of the C program's init_params (HWIO kernels)."""
    return conv_np.init_convs(seed, LAYERS)


def options(about):
    a = tut.parse(about, epochs=8, batch=16, lr=3e-3)
    if a.quick:
        a.epochs, a.batch, a.limit = 4, 8, 256
    return a


def problem(a):
    """(x (N,32,32,1), y (N,32,32) i32, xt, yt, steps) for the options a."""
    n, nt = a.limit or 512, 64 if a.quick else 256
    x, y, _, _ = vision.scenes(a.seed * 4 + 1, n, S, GRID, RMIN, RMAX)
    xt, yt, _, _ = vision.scenes(a.seed * 4 + 3, nt, S, GRID, RMIN, RMAX)
    print(f"{n} training scenes of {S}x{S}, {a.epochs} epochs of {n // a.batch} steps, {nt} test scenes")
    return x[..., None], y, xt[..., None], yt, n // a.batch


def report(pred, yt):
    """Prints the test mIoU of the predicted labels pred against yt (as jx_metrics)."""
    cm = np.bincount((yt * K + pred).ravel(), minlength=K * K).reshape(K, K)
    inter, union = np.diag(cm), cm.sum(0) + cm.sum(1) - np.diag(cm)
    iou = inter / np.maximum(union, 1)
    miou = iou[union > 0].mean()
    print(f"test mIoU {100 * miou:.2f}% over {len(yt)} scenes (IoU background {100 * iou[0]:.1f}%, square "
          f"{100 * iou[1]:.1f}%, cross {100 * iou[2]:.1f}%, triangle {100 * iou[3]:.1f}%), pixel accuracy "
          f"{100 * np.trace(cm) / cm.sum():.2f}%")
    tut.metric("test_miou", miou)


def epoch_line(e, loss):
    print(f"epoch {e + 1}: mean training cross-entropy {loss:.4f}")
