"""The text, batches, initial parameters and sampling of 16_gpt_text, as gpt_text.c makes
them: the same character ids, the same windows per step, the same numbers."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import transformer  # noqa: E402
import tut  # noqa: E402

CTX, D, HEADS, FF, GEN = 32, 64, 4, 128, 240


def options(about):
    a = tut.parse(about, epochs=8, batch=32, lr=3e-3,
                  extra=lambda p: p.add_argument("--layers", type=int, default=2))
    if a.quick:
        a.epochs, a.layers = 4, 1
    return a


class Corpus:
    """ids: the text as indices into chars, its sorted distinct bytes; the first ntrain
    for training; x, y: every step's windows (inputs, next characters); tx, ty: the test
    text's windows, end to end."""

    def __init__(self, a):
        path = a.data or "/usr/share/common-licenses/GPL-3"
        raw = open(path, "rb").read()
        self.chars = sorted(set(raw))
        lut = np.zeros(256, np.int32)
        lut[self.chars] = np.arange(len(self.chars))
        self.ids = lut[np.frombuffer(raw, np.uint8)]
        n, self.vocab = len(raw), len(self.chars)
        self.ntrain = n * 9 // 10
        if 4 * (CTX + 1) <= a.limit < self.ntrain:
            self.ntrain = a.limit
        self.steps = max(self.ntrain // (a.batch * CTX), 1)
        u = tut.uniform(a.seed + 1, a.epochs * self.steps * a.batch).astype(np.float64)
        self.x, self.y = self.windows((u * (self.ntrain - CTX - 1)).astype(np.int64))
        ntw = (n - self.ntrain - 1) // CTX
        self.tx, self.ty = self.windows(self.ntrain + CTX * np.arange(ntw))
        counts = np.bincount(self.ids[:self.ntrain], minlength=self.vocab)
        test = self.ty.reshape(-1)
        self.unigram = math.exp(np.mean(-np.log((counts[test] + 1.0) / (self.ntrain + self.vocab))))
        print(f"{path}: {n} characters ({self.vocab} distinct), {self.ntrain} for training, "
              f"{ntw} test windows of {CTX}")

    def windows(self, starts):
        idx = starts[:, None] + np.arange(CTX)[None, :]
        return self.ids[idx], self.ids[idx + 1]


def init(a, vocab):
    s = a.seed + 10
    p = {"tok_emb": tut.weights(s, vocab, D, 1.0)}
    transformer.stack_init(p, "block", a.layers, D, HEADS, FF, False, s + 100)
    p["head"] = {"w": transformer.kernel(s + 1, D, vocab), "b": np.zeros(vocab, np.float32)}
    return p


class Stepper:
    """For tut.train_epochs: step k of the run trains on the corpus's k-th batch of windows
    (the C program's batches depend on the step, not on the place in the epoch)."""

    def __init__(self, train, batch):
        self.train, self.batch, self.k = train, batch, 0

    def __call__(self, _):
        loss = self.train(slice(self.k * self.batch, (self.k + 1) * self.batch))
        self.k += 1
        return loss


def line(e, loss):
    print(f"epoch {e + 1}: mean train cross-entropy (nats per character) {loss:.4f}")


def report(c, ce, logits_fn, seed):
    """Prints the perplexity and the metric, then a sample drawn as gpt_text.c's generate
    from logits_fn(window (1, CTX)) -> logits (1, CTX, vocab)."""
    ppl = math.exp(ce)
    print(f"test perplexity {ppl:.3f} per character ({ce / math.log(2):.3f} bits; a unigram model: "
          f"{c.unigram:.3f}) over {c.ty.size} characters")
    tut.metric("test_perplexity", ppl)
    win, u, out = c.ids[c.ntrain:c.ntrain + CTX].copy(), tut.uniform(seed + 2, GEN), []
    for g in range(GEN):
        l = np.asarray(logits_fn(win[None]), np.float64)[0, -1]
        p = np.exp((l - l.max()) / 0.8)
        pick = min(int(np.searchsorted(np.cumsum(p / p.sum()), u[g], side="right")), c.vocab - 1)
        win = np.append(win[1:], pick)
        out.append(c.chars[pick])
    prompt = bytes(c.chars[i] for i in c.ids[c.ntrain:c.ntrain + CTX]).decode("latin-1")
    print(f'sample (temperature 0.8) after "{prompt}":\n{bytes(out).decode("latin-1")}')
