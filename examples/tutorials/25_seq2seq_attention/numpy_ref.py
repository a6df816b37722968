"""25_seq2seq_attention in NumPy: the same bidirectional GRU encoder, GRU decoder and
attention, backpropagation through time and through the attention by hand, Adam as
Optax computes it."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
from transformer import LOWEST, ce_fwd_bwd
import translate
import tut

H = data.H


def sig(z):
    return 1 / (1 + np.exp(-z))


def gru_fwd(p, x, h):
    """x (B,T,I), initial h (B,H) -> outputs (B,T,H), cache (Flax's GRU cell, gates r z n)."""
    gx, hs, cache = x @ p["wi"] + p["bi"], [], []
    for t in range(x.shape[1]):
        gh = h @ p["wh"] + p["bh"]
        r, z = sig(gx[:, t, :H] + gh[:, :H]), sig(gx[:, t, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gx[:, t, 2 * H:] + r * gh[:, 2 * H:])
        cache.append((h, r, z, n, gh[:, 2 * H:]))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, 1), cache


def gru_bwd(p, x, cache, dhs, dh):
    """From d outputs (B,T,H) and d final carry: (dx, d initial carry, grads)."""
    g = {"wh": np.zeros_like(p["wh"]), "bh": np.zeros_like(p["bh"])}
    dgx = np.empty(x.shape[:2] + (3 * H,), np.float32)
    for t in reversed(range(x.shape[1])):
        h, r, z, n, ghn = cache[t]
        dh = dh + dhs[:, t]
        dan = dh * (1 - z) * (1 - n * n)
        dar, daz = dan * ghn * r * (1 - r), dh * (h - n) * z * (1 - z)
        dgh = np.concatenate([dar, daz, dan * r], 1)
        dgx[:, t] = np.concatenate([dar, daz, dan], 1)
        g["wh"] += h.T @ dgh
        g["bh"] += dgh.sum(0)
        dh = dh * z + dgh @ p["wh"].T
    g["wi"], g["bi"] = x.reshape(-1, x.shape[2]).T @ dgx.reshape(-1, 3 * H), dgx.sum((0, 1))
    return dgx @ p["wi"].T, dh, g


def forward(p, src, tin):
    b = src.shape[0]
    zero = np.zeros((b, H), np.float32)
    es = p["src_emb"][src]
    hf, cf = gru_fwd(p["enc_f"], es, zero)
    hb, cb = gru_fwd(p["enc_b"], es[:, ::-1], zero)
    enc = np.concatenate([hf, hb[:, ::-1]], -1)
    et = p["tgt_emb"][tin]
    dec, cd = gru_fwd(p["dec"], et, hf[:, -1])
    q = dec @ p["attn"]["w"]
    s = np.where((src != translate.PAD)[:, None, :], q @ enc.transpose(0, 2, 1), LOWEST)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    cat = np.concatenate([a @ enc, dec], -1)
    o = np.tanh(cat @ p["comb"]["w"] + p["comb"]["b"])
    return o @ p["out"]["w"] + p["out"]["b"], (es, cf, cb, enc, et, cd, dec, q, a, cat, o)


def flat(x):
    return x.reshape(-1, x.shape[-1])


def grads(p, src, tgt):
    tin = tgt[:, :-1]
    logits, (es, cf, cb, enc, et, cd, dec, q, a, cat, o) = forward(p, src, tin)
    loss, dl = ce_fwd_bwd(logits, tgt[:, 1:], translate.PAD)
    g = {"out": {"w": flat(o).T @ flat(dl), "b": flat(dl).sum(0)}}
    dpre = (dl @ p["out"]["w"].T) * (1 - o * o)
    g["comb"] = {"w": flat(cat).T @ flat(dpre), "b": flat(dpre).sum(0)}
    dcat = dpre @ p["comb"]["w"].T
    dctx, ddec = dcat[..., :2 * H], dcat[..., 2 * H:]
    da = dctx @ enc.transpose(0, 2, 1)
    ds = a * (da - (da * a).sum(-1, keepdims=True))
    denc = a.transpose(0, 2, 1) @ dctx + ds.transpose(0, 2, 1) @ q
    g["attn"] = {"w": flat(dec).T @ flat(ds @ enc)}
    ddec = ddec + (ds @ enc) @ p["attn"]["w"].T
    det, dlast, g["dec"] = gru_bwd(p["dec"], et, cd, ddec, 0)
    des, _, g["enc_f"] = gru_bwd(p["enc_f"], es, cf, denc[..., :H], dlast)
    desb, _, g["enc_b"] = gru_bwd(p["enc_b"], es[:, ::-1], cb, denc[:, ::-1, H:], 0)
    g["src_emb"], g["tgt_emb"] = np.zeros_like(p["src_emb"]), np.zeros_like(p["tgt_emb"])
    np.add.at(g["src_emb"], src, des + desb[:, ::-1])
    np.add.at(g["tgt_emb"], tin, det)
    return loss, g


def main():
    a = data.options("Seq2seq translation with attention (NumPy, backward by hand)")
    src, tgt, vsrc, vtgt, steps = translate.problem(a)
    train = NumpyTrainer(data.init(a), a.lr, grads, src, tgt)
    tut.train_epochs(a, steps, train, translate.line)
    translate.report(translate.greedy(lambda tin: forward(train.p, vsrc, tin)[0], len(vsrc)), vtgt)


main()
