"""16_gpt_text in NumPy: the same character-level GPT, its backward pass written by hand
(common/transformer.py), Adam as Optax computes it."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import transformer as tf
import tut


def forward(p, x, layers, pos):
    f, cache = tf.stack_fwd(p, "block", layers, p["tok_emb"][x] + pos[:x.shape[1]], tf.causal_mask(x.shape[1]))
    return f @ p["head"]["w"] + p["head"]["b"], (cache, f)


def make_grads(layers, pos):
    def grads(p, x, y):
        logits, (cache, f) = forward(p, x, layers, pos)
        loss, dl = tf.ce_fwd_bwd(logits, y)
        dl2 = dl.reshape(-1, dl.shape[-1])
        g = {"head": {"w": f.reshape(-1, data.D).T @ dl2, "b": dl2.sum(0)}}
        dh, _ = tf.stack_bwd(p, "block", layers, cache, dl @ p["head"]["w"].T, g)
        g["tok_emb"] = np.zeros_like(p["tok_emb"])
        np.add.at(g["tok_emb"], x, dh)
        return loss, g
    return grads


def main():
    a = data.options("Character-level GPT (NumPy, backward by hand)")
    c = data.Corpus(a)
    pos = tf.positions(data.CTX, data.D)
    train = NumpyTrainer(data.init(a, c.vocab), a.lr, make_grads(a.layers, pos), c.x, c.y)
    tut.train_epochs(a, c.steps, data.Stepper(train, a.batch), data.line)
    ce, _ = tf.ce_fwd_bwd(forward(train.p, c.tx, a.layers, pos)[0], c.ty)
    data.report(c, ce, lambda w: forward(train.p, w, a.layers, pos)[0], a.seed)


main()
