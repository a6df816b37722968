"""coco_seg_jax.py: examples/coco_seg's U-Net and recipe in JAX/Flax/optax, the baseline
for jx's figures (docs/coco.md).

The same network as jx/unet.h (width 16, depth 3: two conv3x3-batchnorm-relu per level,
max pool, 2x2 stride-2 transposed convolutions, skip concatenation, 1x1 head; He-normal
kernels, batch norm momentum 0.9, eps 1e-5), the same loss (mean cross-entropy over
labelled pixels plus soft dice per sample and class, label 255 ignored), Adam with a
cosine decay to lr/100 over the run.

  bench SIZE [BATCH [STEPS]]   training throughput on a fixed synthetic batch:
                               prints `jax unet ... N images/s` as bench_coco_seg_step
  train [--data DIR] [--size N] [--epochs N] [--batch N] [--lr X] [--seed N]
        [--categories LIST] [--limit N] [--lib PATH]
                               trains on COCO with the SAME batches as coco_seg: the
                               images come from jx's own loader (libjx.so through
                               ctypes: same order, augmentation and labels), so only the
                               model's arithmetic and initial draws differ. Prints
                               `epoch E: ... train loss L, train mIoU X%, val mIoU Y%`.
"""
import ctypes
import json
import os
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

IGNORE = 255


class Block(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x, train):
        for _ in range(2):
            x = nn.Conv(self.width, (3, 3), padding="SAME", use_bias=False,
                        kernel_init=nn.initializers.he_normal())(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
            x = nn.relu(x)
        return x


class UNet(nn.Module):
    classes: int
    width: int = 16
    depth: int = 3

    @nn.compact
    def __call__(self, x, train):
        skips, h = [], x
        for lvl in range(self.depth):
            h = Block(self.width << lvl)(h, train)
            skips.append(h)
            h = nn.max_pool(h, (2, 2), (2, 2))
        h = Block(self.width << self.depth)(h, train)
        for lvl in reversed(range(self.depth)):
            up = nn.ConvTranspose(self.width << lvl, (2, 2), strides=(2, 2), padding="SAME",
                                  kernel_init=nn.initializers.he_normal())(h)
            h = Block(self.width << lvl)(jnp.concatenate([skips[lvl], up], -1), train)
        return nn.Conv(self.classes, (1, 1), kernel_init=nn.initializers.he_normal())(h)


def seg_loss(logits, labels):
    k = logits.shape[-1]
    valid = (labels != IGNORE)
    lse = jax.nn.logsumexp(logits, -1)
    picked = jnp.take_along_axis(logits, jnp.where(valid, labels, 0)[..., None], -1)[..., 0]
    ce = jnp.sum(jnp.where(valid, lse - picked, 0.0)) / jnp.maximum(jnp.sum(valid), 1)
    t = jax.nn.one_hot(labels, k)  # 255: all zero
    p = jax.nn.softmax(logits, -1) * valid[..., None]
    inter = jnp.sum(p * t, (1, 2))
    dice = 1 - (2 * inter + 1) / (jnp.sum(p, (1, 2)) + jnp.sum(t, (1, 2)) + 1)
    return ce + jnp.mean(dice)


def make_step(model, tx):
    def loss_fn(params, stats, x, y):
        logits, upd = model.apply({"params": params, "batch_stats": stats}, x, True,
                                  mutable=["batch_stats"])
        return seg_loss(logits, y), (upd["batch_stats"], jnp.argmax(logits, -1))

    @jax.jit
    def step(params, opt, stats, x, y):
        (loss, (stats, pred)), g = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y)
        upd, opt = tx.update(g, opt, params)
        return optax.apply_updates(params, upd), opt, stats, loss, pred

    @jax.jit
    def predict(params, stats, x):
        return jnp.argmax(model.apply({"params": params, "batch_stats": stats}, x, False), -1)

    return step, predict


def init(model, size, lr, total, seed):
    v = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, size, size, 3)), False)
    tx = optax.adam(optax.cosine_decay_schedule(lr, max(total, 1), alpha=0.01))
    return v["params"], v["batch_stats"], tx, tx.init(v["params"])


def bench(size, batch, steps):
    model = UNet(2)
    params, stats, tx, opt = init(model, size, 1e-3, 1000, 0)
    step, _ = make_step(model, tx)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32))
    y = jnp.asarray(np.broadcast_to((np.arange(size) > size // 2)[None, :, None], (batch, size, size)).astype(np.int32))
    t0 = time.perf_counter()
    params, opt, stats, loss, _ = step(params, opt, stats, x, y)
    loss.block_until_ready()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        params, opt, stats, loss, _ = step(params, opt, stats, x, y)
    loss.block_until_ready()
    t = (time.perf_counter() - t0) / steps
    n = sum(a.size for a in jax.tree_util.tree_leaves(params))
    print(f"jax unet width 16 depth 3, {size}x{size}, batch {batch}: first step (compile) {first:.2f} s, "
          f"step {t:.3f} s, {batch / t:.1f} images/s, {n} parameters, loss {float(loss):.4f}")


# ------------------------------------------------------------------ jx's loader via ctypes

class LoaderOpts(ctypes.Structure):
    _fields_ = [("coco", ctypes.c_void_p), ("image_dir", ctypes.c_char_p), ("images", ctypes.c_void_p),
                ("n_images", ctypes.c_size_t), ("batch", ctypes.c_int32), ("height", ctypes.c_int32),
                ("width", ctypes.c_int32), ("label_of", ctypes.c_void_p), ("augment", ctypes.c_int),
                ("scale_min", ctypes.c_double), ("scale_max", ctypes.c_double), ("flip", ctypes.c_int),
                ("shuffle", ctypes.c_int), ("drop_last", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("threads", ctypes.c_int), ("prefetch", ctypes.c_int), ("mean", ctypes.c_float * 3),
                ("std", ctypes.c_float * 3)]


class Batch(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("images", ctypes.POINTER(ctypes.c_float)),
                ("labels", ctypes.POINTER(ctypes.c_uint8)), ("labels_i32", ctypes.POINTER(ctypes.c_int32)),
                ("ids", ctypes.POINTER(ctypes.c_int64))]


class Split:
    """One split read by jx (jx_coco_load) and batched by jx's loader."""

    def __init__(self, lib, data, name, cats, size, batch, seed, train, limit):
        self.lib = lib
        path = f"{data}/annotations/instances_{name}.json"
        with open(path) as f:
            names = [c["name"] for c in json.load(f)["categories"]]
        self.coco = ctypes.c_void_p()
        if lib.jx_coco_load(path.encode(), ctypes.byref(self.coco)) != 0:
            sys.exit(f"coco_seg_jax: {lib.jx_errmsg().decode()}")
        self.label_of = (ctypes.c_uint8 * (len(names) + 1))()
        for i, n in enumerate(names):
            if n in cats:
                self.label_of[i] = cats.index(n) + 1
        self.idx = None
        if limit:
            self.idx = (ctypes.c_uint32 * limit)(*range(limit))
        self.image_dir = f"{data}/{name}".encode()  # the loader borrows it
        o = LoaderOpts(coco=self.coco, image_dir=self.image_dir,
                       images=ctypes.cast(self.idx, ctypes.c_void_p) if self.idx else None,
                       n_images=limit or 0, batch=batch, height=size, width=size,
                       label_of=ctypes.cast(self.label_of, ctypes.c_void_p), augment=int(train), flip=int(train),
                       shuffle=int(train), seed=seed, threads=2, prefetch=2)
        self.loader = ctypes.c_void_p()
        if lib.jx_coco_loader_new(ctypes.byref(o), ctypes.byref(self.loader)) != 0:
            sys.exit(f"coco_seg_jax: {lib.jx_errmsg().decode()}")
        self.size = size

    def epoch(self, e):
        self.lib.jx_coco_loader_epoch(self.loader, ctypes.c_uint32(e))
        b = Batch()
        while True:
            if self.lib.jx_coco_loader_next(self.loader, ctypes.byref(b)) != 0:
                sys.exit(f"coco_seg_jax: {self.lib.jx_errmsg().decode()}")
            if b.n == 0:
                return
            s = self.size
            x = np.ctypeslib.as_array(b.images, (b.n, s, s, 3)).copy()
            y = np.ctypeslib.as_array(b.labels_i32, (b.n, s, s)).copy()
            yield x, y


def confusion(pred, y, k):
    m = y != IGNORE
    return np.bincount(y[m].astype(np.int64) * k + pred[m], minlength=k * k).reshape(k, k)


def miou(cm):
    tp = np.diag(cm).astype(np.float64)
    den = cm.sum(0) + cm.sum(1) - tp
    ok = den > 0
    return 100 * float(np.mean(tp[ok] / den[ok]))


def train(argv):
    a = {"--data": "../shared/data/coco-tiny", "--size": "128", "--epochs": "10", "--batch": "8", "--lr": "3e-3",
         "--seed": "0", "--categories": "person", "--limit": "0", "--lib": "build/libjx.so"}
    for i in range(0, len(argv), 2):
        if argv[i] not in a:
            sys.exit(f"coco_seg_jax: unknown option {argv[i]}")
        a[argv[i]] = argv[i + 1]
    lib = ctypes.CDLL(a["--lib"])
    lib.jx_errmsg.restype = ctypes.c_char_p
    size, batch, epochs, seed, limit = (int(a[k]) for k in ("--size", "--batch", "--epochs", "--seed", "--limit"))
    cats = a["--categories"].split(",")
    if cats == ["all"]:
        with open(f"{a['--data']}/annotations/instances_train2017.json") as f:
            cats = [c["name"] for c in json.load(f)["categories"]]
    tr = Split(lib, a["--data"], "train2017", cats, size, batch, seed, True, limit)
    va = Split(lib, a["--data"], "val2017", cats, size, batch, seed, False, 0)
    k = len(cats) + 1
    model = UNet(k)
    nb = -(-(limit or lib_count(tr)) // batch)
    params, stats, tx, opt = init(model, size, float(a["--lr"]), epochs * nb, seed)
    step, predict = make_step(model, tx)
    for e in range(1, epochs + 1):
        t0, ls, n, cm = time.perf_counter(), 0.0, 0, np.zeros((k, k), np.int64)
        for x, y in tr.epoch(e):
            params, opt, stats, loss, pred = step(params, opt, stats, x, y)
            ls += float(loss) * len(x)
            n += len(x)
            cm += confusion(np.asarray(pred), y, k)
        secs = time.perf_counter() - t0
        vcm = np.zeros((k, k), np.int64)
        for x, y in va.epoch(0):
            vcm += confusion(np.asarray(predict(params, stats, x)), y, k)
        print(f"epoch {e}: {secs:.1f} s ({n / secs:.1f} images/s), train loss {ls / n:.4f}, "
              f"train mIoU {miou(cm):.2f}%, val mIoU {miou(vcm):.2f}%", flush=True)


def lib_count(split):
    n = ctypes.c_size_t()
    split.lib.jx_coco_images.restype = ctypes.c_void_p
    split.lib.jx_coco_images(split.coco, ctypes.byref(n))
    return n.value


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "bench":
        bench(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8, int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    elif len(sys.argv) >= 2 and sys.argv[1] == "train":
        train(sys.argv[2:])
    else:
        sys.exit(__doc__)
