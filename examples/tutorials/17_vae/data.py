"""The data, initial weights and test noise of 17_vae, as vae.c makes them: the first
--limit training images in the file's order; the encoder's and decoder's weights from
common/mlp.py (seeds seed and seed + 100); the test set's eps per batch of 1,000 from
common/tut.py's generator."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

LATENT, HID, EVAL_BATCH = 16, 256, 1000


def options(about):
    return mnist_ref.options(about, 5, 128, 1e-3, 20000, (2, 64, 2000))


def load(a):
    """(x, xt, eps_t): training and test images (N,784) in [0, 1], the test codes' noise."""
    x, _, xt, _ = mnist_ref.load(a, EVAL_BATCH)
    eps = np.concatenate([tut.normal(a.seed + 1000 + i, EVAL_BATCH * LATENT).reshape(EVAL_BATCH, LATENT)
                          for i in range(0, len(xt), EVAL_BATCH)])
    return x, xt, eps


def init_params(seed):
    return {"enc": mlp.init(("enc1", "enc2"), (784, HID, 2 * LATENT), seed),
            "dec": mlp.init(("dec1", "dec2"), (LATENT, HID, 784), seed + 100)}


def report(a, steps, curve, nelbo, recon, kl):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean negative ELBO (nats) {np.mean(curve[e * steps:(e + 1) * steps]):.4f}")
    print(f"test negative ELBO {nelbo:.2f} nats per image (reconstruction {recon:.2f} + KL {kl:.2f})")
    tut.metric("test_neg_elbo", nelbo)
