#!/usr/bin/env python3
"""ig_jax.py: integrated gradients on mnist_cnn's network in JAX, timed per image, the
computation examples/neurons does with jx (the same checkpoint, images, midpoint rule and
number of steps), to compare the two.

Usage: python3 bench/peers/ig_jax.py CKPT MNIST_DIR [STEPS] [THREADS]
  CKPT: an mnist_cnn checkpoint (safetensors); MNIST_DIR: holds t10k-images-idx3-ubyte.gz
  and t10k-labels-idx1-ubyte.gz. Prints the time per image (the mean of 3 runs of one
  jitted call on the first test image of each class, after a warm-up call) and the
  completeness error. THREADS (default 2) limits XLA's CPU threads, as jx's --threads.
"""
import gzip
import os
import sys
import time

threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"

import numpy as np
import jax
import jax.numpy as jnp
from safetensors.numpy import load_file


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


ckpt, mnist = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 32
t = load_file(ckpt)
P = {k[len("params."):]: jnp.asarray(v) for k, v in t.items() if k.startswith("params.")}
S = {k[len("batch_stats."):]: jnp.asarray(v) for k, v in t.items() if k.startswith("batch_stats.")}
images = idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz"))
labels = idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz"))
first = [int(np.nonzero(labels == c)[0][0]) for c in range(10)]
x = jnp.asarray(images[first].astype(np.float32)[..., None] / 255.0)
onehot = jax.nn.one_hot(labels[first], 10, dtype=jnp.float32)


def bn(h, name):
    return (h - S[name + ".mean"]) * jax.lax.rsqrt(S[name + ".var"] + 1e-5) * P[name + ".scale"] + P[name + ".bias"]


def logits(x):
    h = x
    for conv, norm in (("conv1", "bn1"), ("conv2", "bn2")):
        h = jax.lax.conv_general_dilated(h, P[conv + ".w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(bn(h, norm))
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = h.reshape(h.shape[0], -1)
    h = jax.nn.relu(h @ P["dense1.w"] + P["dense1.b"])
    return h @ P["dense2.w"] + P["dense2.b"]


def score(x):
    return jnp.sum(logits(x) * onehot)


@jax.jit
def ig(x, b):
    a = (jnp.arange(steps, dtype=jnp.float32) + 0.5) / steps
    pts = b[None] + a[:, None, None, None, None] * (x - b)[None]
    g = jax.vmap(jax.grad(score))(pts)
    return (x - b) * g.mean(0)


b = jnp.zeros_like(x)
ig(x, b).block_until_ready()
t0 = time.perf_counter()
for _ in range(3):
    r = ig(x, b).block_until_ready()
per_image = (time.perf_counter() - t0) / 3 / 10
want = np.sum(np.asarray(logits(x) - logits(b)) * np.asarray(onehot), axis=1)
got = np.asarray(r).reshape(10, -1).sum(1)
err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-6))
print(f"jax {jax.__version__}: integrated gradients ({steps} steps, baseline black): {1e3 * per_image:.1f} ms per image, "
      f"completeness error at most {err:.2e} (relative, over 10 images), {threads} threads")
