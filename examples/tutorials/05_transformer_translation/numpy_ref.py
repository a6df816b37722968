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
    x, enc = p["src_emb"][src] + pos[:src.shape[1]], []
    for l in range(layers):
        x, c = tf.block_fwd(p[f"enc{l}"], x, keys)
        enc.append(c)
    mem, cm = tf.ln_fwd(p["enc_ln"], x)
    y, dec = p["tgt_emb"][tin] + pos[:tin.shape[1]], []
    causal = tf.causal_mask(tin.shape[1])
    for l in range(layers):
        y, c = tf.block_fwd(p[f"dec{l}"], y, causal, mem, keys)
        dec.append(c)
    h, ch = tf.ln_fwd(p["dec_ln"], y)
    return h @ p["out"]["w"] + p["out"]["b"], (enc, cm, dec, ch, h)


def make_grads(layers, pos):
    def grads(p, src, tgt):
        tin, labels = tgt[:, :-1], tgt[:, 1:]
        logits, (enc, cm, dec, ch, h) = forward(p, src, tin, layers, pos)
        loss, dl = tf.ce_fwd_bwd(logits, labels, translate.PAD)
        g = {"out": {"w": h.reshape(-1, data.D).T @ dl.reshape(-1, dl.shape[-1]), "b": dl.sum((0, 1))}}
        dy, g["dec_ln"] = tf.ln_bwd(p["dec_ln"], ch, dl @ p["out"]["w"].T)
        dmem = 0
        for l in reversed(range(layers)):
            dy, dm, g[f"dec{l}"] = tf.block_bwd(p[f"dec{l}"], dec[l], dy)
            dmem = dmem + dm
        g["tgt_emb"] = np.zeros_like(p["tgt_emb"])
        np.add.at(g["tgt_emb"], tin, dy)
        dx, g["enc_ln"] = tf.ln_bwd(p["enc_ln"], cm, dmem)
        for l in reversed(range(layers)):
            dx, _, g[f"enc{l}"] = tf.block_bwd(p[f"enc{l}"], enc[l], dx)
        g["src_emb"] = np.zeros_like(p["src_emb"])
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
