"""tut.py: what the tutorials' Python references (numpy_ref.py, jax_ref.py) share with
the C programs (common/tut.h): the same options, the "timed: S s" and "metric: NAME V"
lines that bench.sh reads, and an MNIST reader for the IDX files."""
import argparse
import gzip
import os
import struct
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_MNIST = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "mnist"))


def mnist_dir():
    """The repository's ../shared/data/mnist when present, else Debian's Fashion-MNIST."""
    if os.path.exists(os.path.join(SHARED_MNIST, "t10k-labels-idx1-ubyte.gz")):
        return SHARED_MNIST
    return "/usr/share/datasets/fashion-mnist"


def parse(about, epochs=5, batch=64, lr=1e-3, seed=0, extra=None):
    """The shared options (--data --epochs --batch --lr --seed --threads --limit --out
    --quick); extra(parser) may add the tutorial's own."""
    p = argparse.ArgumentParser(description=about)
    p.add_argument("--data", default=None)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    if extra:
        extra(p)
    return p.parse_args()


class timed:
    """with timed("training"): ... prints "timed: S s (training)" at the end."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t
        print(f"timed: {self.seconds:.3f} s ({self.what})", flush=True)


def metric(name, value):
    print(f"metric: {name} {float(value):.6g}", flush=True)


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(d=None):
    """(train_x f32 (N,28,28) in [0,1], train_y i32, test_x, test_y)."""
    d = d or mnist_dir()
    tx = _idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    ty = _idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int32)
    vx = _idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    vy = _idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int32)
    return tx, ty, vx, vy


def _splitmix(seed, n):
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(seed, n):
    """common/tut.h's tut_uniform: the same n floats in [0, 1)."""
    return (_splitmix(seed, n) >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def normal(seed, n):
    """common/tut.h's tut_normal (Box-Muller in double on pairs)."""
    m = n + (n & 1)
    z = _splitmix(seed, m)
    u1 = ((z[0::2] >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53
    u2 = (z[1::2] >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    r = np.sqrt(-2 * np.log(u1))
    out = np.empty(m, np.float64)
    out[0::2] = r * np.cos(2 * np.pi * u2)
    out[1::2] = r * np.sin(2 * np.pi * u2)
    return out[:n].astype(np.float32)


def weights(seed, r, c, scale):
    """common/tut.h's tut_weights: an (r, c) float32 array of normal(seed) * scale."""
    return (normal(seed, r * c).astype(np.float64) * scale).astype(np.float32).reshape(r, c)


def train_epochs(a, steps, step, line=None):
    """The training loop, timed as "training": a.epochs passes of `steps` batches;
    step(sl) trains on the batch slice sl (a.batch rows) and returns its loss; line(e,
    mean loss) prints epoch e (default "epoch E: train MSE L")."""
    with timed("training"):
        for e in range(a.epochs):
            total = 0.0
            for s in range(steps):
                total += float(step(slice(s * a.batch, (s + 1) * a.batch))) / steps
            if line:
                line(e, total)
            else:
                print(f"epoch {e + 1}: train MSE {total:.5f}")
