"""05_transformer_translation in NumPy: the same encoder-decoder Transformer, its
backward pass written by hand (common/transformer.py), Adam as Optax computes it."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import transformer as tf
import translate
import tut


def forward(p, src, tin, layers, pos):
    keys = (src != translate.PAD)[:, None, None, :]
    mem, ce = tf.stack_fwd(p, "enc", layers, p["src_emb"][src] + pos[:src.shape[1]], keys)
    h, cd = tf.stack_fwd(p, "dec", layers, p["tgt_emb"][tin] + pos[:tin.shape[1]], tf.causal_mask(tin.shape[1]),
                         mem, keys)
    return h @ p["out"]["w"] + p["out"]["b"], (ce, cd, h)


def make_grads(layers, pos):
    def grads(p, src, tgt):
        tin = tgt[:, :-1]
        logits, (ce, cd, h) = forward(p, src, tin, layers, pos)
        loss, dl = tf.ce_fwd_bwd(logits, tgt[:, 1:], translate.PAD)
        g = {"out": {"w": h.reshape(-1, data.D).T @ dl.reshape(-1, dl.shape[-1]), "b": dl.sum((0, 1))}}
        dy, dmem = tf.stack_bwd(p, "dec", layers, cd, dl @ p["out"]["w"].T, g)
        dx, _ = tf.stack_bwd(p, "enc", layers, ce, dmem, g)
        g["tgt_emb"], g["src_emb"] = np.zeros_like(p["tgt_emb"]), np.zeros_like(p["src_emb"])
        np.add.at(g["tgt_emb"], tin, dy)
        np.add.at(g["src_emb"], src, dx)
        return loss, g
    return grads


def main():
    a = data.options("Transformer translation (NumPy, backward by hand)")
    src, tgt, vsrc, vtgt, steps = translate.problem(a)
    pos = tf.positions(translate.TGT, data.D)
    train = NumpyTrainer(data.init(a), a.lr, make_grads(a.layers, pos), src, tgt)
    tut.train_epochs(a, steps, train, translate.line)
    out = translate.greedy(lambda tin: forward(train.p, vsrc, tin, a.layers, pos)[0], len(vsrc))
    translate.report(out, vtgt)


main()
