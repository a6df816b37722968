"""The data, initial weights and score of 19_denoising_autoencoder, as
denoising_autoencoder.c makes them: the first --limit training images in the file's order;
test images with fixed noise from common/tut.py's generator; PSNR in dB."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

LAYERS, WIDTHS = ("enc1", "enc2", "dec1", "dec2"), (784, 256, 64, 256, 784)
SIGMA, EVAL_BATCH = np.float32(0.5), 1000


def options(about):
    return mnist_ref.options(about, 5, 128, 1e-3, 20000, (2, 64, 2000))


def load(a):
    """(x, clean, noisy): training images (N,784), test images and their noisy versions."""
    x, _, clean, _ = mnist_ref.load(a, EVAL_BATCH)
    noisy = np.clip(clean + SIGMA * tut.normal(a.seed + 1000, clean.size).reshape(clean.shape), 0, 1)
    return x, clean, noisy


def init_params(seed):
    return mlp.init(LAYERS, WIDTHS, seed)


def psnr(a, b):
    """The mean over images of 10 log10(1 / mse)."""
    return float(np.mean(10 * np.log10(784 / np.sum((a.astype(np.float64) - b) ** 2, axis=1))))


def report(a, steps, curve, clean, noisy, denoised):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean training loss (MSE) {np.mean(curve[e * steps:(e + 1) * steps]):.4f}")
    p = psnr(denoised, clean)
    print(f"test PSNR over {len(clean)} images: noisy input {psnr(noisy, clean):.2f} dB, denoised {p:.2f} dB")
    tut.metric("psnr_db", p)
