"""The data, initial weights, fixed codes and score of 03_gan_digits, as gan.c has them:
the first --limit training images in the file's order; the generator's and the
discriminator's weights from common/mlp.py (seeds seed and seed + 100); the codes of the
scored samples from common/tut.py's generator; the classifier score (nearest class
mean, softmax over -distance / TEMP) computed the same way as gan.c's."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

LATENT, HID, NSCORE, TEMP = 32, 128, 1000, 4.0
GEN, DIS = ("gen1", "gen2"), ("dis1", "dis2")


def options(about):
    return mnist_ref.options(about, 10, 64, 1e-3, 8000, (3, 64, 2000))


def load(a):
    """(x, means, z, real): training images (N,784) in [0, 1], the per-class mean test
    images (10,784), the NSCORE scored samples' codes (NSCORE, LATENT), and the score of
    the first NSCORE test images (what real digits reach)."""
    x, _, xt, yt = mnist_ref.load(a, 1000)
    means = np.stack([xt[yt == c].mean(0) for c in range(10)]).astype(np.float32)
    return x, means, tut.normal(a.seed + 2000, NSCORE * LATENT).reshape(NSCORE, LATENT), score(xt[:NSCORE], means)


def init_params(seed):
    return {"gen": mlp.init(GEN, (LATENT, HID, 784), seed), "dis": mlp.init(DIS, (784, HID, 1), seed + 100)}


def score(img, means):
    """The classifier score of images (n,784): exp(mean KL(p(y|x) || p(y))), p(y|x) the
    softmax over classes of -||x - mean_y||^2 / TEMP. 1 for one class only, up to 10."""
    img, means = img.astype(np.float64), means.astype(np.float64)
    d = (img ** 2).sum(1)[:, None] - 2 * img @ means.T + (means ** 2).sum(1)[None, :]
    logit = -d / TEMP
    logit -= logit.max(1, keepdims=True)
    p = np.exp(logit)
    p /= p.sum(1, keepdims=True)
    py = p.mean(0)
    kl = (p * (np.log(p + 1e-12) - np.log(py + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))


def report(a, steps, curve, s, real):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean discriminator loss {np.mean(curve[e * steps:(e + 1) * steps]):.4f}")
    print(f"classifier score of {NSCORE} samples {s:.3f} (real test digits {real:.3f}; one class only 1, ten even classes 10)")
    tut.metric("classifier_score", s)
