"""The data, episodes and initial weights of 26_prototypical_nets, as prototypical_nets.c
makes them: generated glyph classes (common/glyphs.py), 20 drawings of each, the first
--limit classes for training and the next 100 held out; episodes drawn from
common/tut.py's uniforms; the embedding's weights from common/mlp.py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import glyphs  # noqa: E402
import mlp  # noqa: E402
import tut  # noqa: E402

PER, TEST_CLS, EMBED, HID, STEPS, EVAL_BATCH = 20, 100, 64, 256, 100, 50
NAMES, WIDTHS = ("embed1", "embed2"), (glyphs.SIDE * glyphs.SIDE, HID, EMBED)


def options(about):
    def extra(p):
        p.add_argument("--way", type=int, default=5)
        p.add_argument("--shot", type=int, default=5)
        p.add_argument("--query", type=int, default=5)
        p.add_argument("--test-episodes", type=int, default=500)
    a = tut.parse(about, epochs=5, batch=8, lr=1e-3, extra=extra)
    a.limit = a.limit or 200
    if a.quick:
        a.epochs, a.test_episodes = 1, 100
    return a


class Sampler:
    """The episodes of one stream as the C program's sampler draws them: batch(s) is
    episodes s * per_step ... as x (per_step, way * (shot + query), 784), the support
    images (class-major) before the queries (class-major); cls, the batch's classes."""

    def __init__(self, a, images, ncls, per_step, neps, seed):
        self.images, self.ncls, self.per_step = images.reshape(-1, WIDTHS[0]), ncls, per_step
        self.way, self.shot, self.query = a.way, a.shot, a.query
        self.u = tut.uniform(seed, neps * (ncls + a.way * PER)).reshape(neps, ncls + a.way * PER)

    def batch(self, s):
        u = self.u[s * self.per_step:(s + 1) * self.per_step]
        self.cls = np.argsort(u[:, :self.ncls], axis=1, kind="stable")[:, :self.way]
        pick = np.argsort(u[:, self.ncls:].reshape(-1, self.way, PER), axis=2, kind="stable")
        idx = self.cls[:, :, None] * PER + pick
        support = idx[:, :, :self.shot].reshape(len(u), -1)
        query = idx[:, :, self.shot:self.shot + self.query].reshape(len(u), -1)
        return self.images[np.concatenate([support, query], axis=1)]


def load(a):
    """(training sampler, test sampler)."""
    seg = glyphs.classes(a.seed + 1000, a.limit + TEST_CLS)
    train = glyphs.instances(a.seed + 1, seg[:a.limit], PER)
    test = glyphs.instances(a.seed + 2, seg[a.limit:], PER)
    return (Sampler(a, train, a.limit, a.batch, a.epochs * STEPS * a.batch, a.seed + 3),
            Sampler(a, test, TEST_CLS, EVAL_BATCH, a.test_episodes, a.seed + 4))


def init_params(seed):
    return mlp.init(NAMES, WIDTHS, seed)


def labels(a):
    """The queries' classes within an episode: 0 x query, 1 x query, ..."""
    return np.repeat(np.arange(a.way, dtype=np.int32), a.query)


def evaluate(a, test, acc_fn):
    """Mean query accuracy over the test episodes; acc_fn(x) -> per-episode accuracies."""
    return float(np.mean(np.concatenate([np.asarray(acc_fn(test.batch(s)))
                                         for s in range(a.test_episodes // EVAL_BATCH)])))


def report(a, curve, before, after):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean episode loss {np.mean(curve[e * STEPS:(e + 1) * STEPS]):.4f}")
    print(f"held-out classes, {a.way}-way {a.shot}-shot: query accuracy {100 * after:.2f}% over "
          f"{a.test_episodes} episodes (untrained embedding {100 * before:.2f}%, chance {100 / a.way:.0f}%)")
    tut.metric("test_accuracy", after)
