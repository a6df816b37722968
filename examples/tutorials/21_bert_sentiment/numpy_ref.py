"""21_bert_sentiment in NumPy: the same pre-LN encoder, its backward pass written by hand
(layer norm, masked multi-head attention, gelu, the tied output), masked-token
pre-training then fine-tuning on [cls], with Adam as Optax computes it (common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
from optim import NumpyTrainer  # noqa: I100
import sentiment
import tut

HEADS, HD = data.HEADS, data.HD
C = np.float32(np.sqrt(2 / np.pi))


def ln(x, s, b):
    m = x.mean(-1, keepdims=True)
    r = 1 / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + np.float32(1e-6))
    xh = (x - m) * r
    return xh * s + b, (xh, r, s)


def ln_back(dy, cache):
    xh, r, s = cache
    dxh = dy * s
    dx = r * (dxh - dxh.mean(-1, keepdims=True) - xh * (dxh * xh).mean(-1, keepdims=True))
    return dx, (dy * xh).sum((0, 1)), dy.sum((0, 1))


def softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def encode(p, ids):
    """(B,T,D) states and the caches of the backward pass."""
    x = p["tok"][ids] + p["pos"]
    keep = (ids != sentiment.PAD)[:, None, None, :]
    caches = []
    for i in range(data.LAYERS):
        q = p[f"l{i}"]
        h, c1 = ln(x, q["ln1_s"], q["ln1_b"])
        qq = np.einsum("btd,dhk->bthk", h, q["wq"]) + q["bq"]
        kk = np.einsum("btd,dhk->bthk", h, q["wk"]) + q["bk"]
        vv = np.einsum("btd,dhk->bthk", h, q["wv"]) + q["bv"]
        s = np.einsum("bqhk,bthk->bhqt", qq, kk) / np.float32(np.sqrt(HD))
        pr = softmax(np.where(keep, s, np.finfo(np.float32).min))
        a = np.einsum("bhqt,bthk->bqhk", pr, vv)
        x = x + np.einsum("bqhk,hkd->bqd", a, q["wo"]) + q["bo"]
        h2, c2 = ln(x, q["ln2_s"], q["ln2_b"])
        u = h2 @ q["w1"] + q["b1"]
        t = np.tanh(C * (u + np.float32(0.044715) * u ** 3))
        g = np.float32(0.5) * u * (1 + t)
        x = x + g @ q["w2"] + q["b2"]
        caches.append((c1, h, qq, kk, vv, pr, a, c2, h2, u, t, g))
    z, cf = ln(x, p["lnf_s"], p["lnf_b"])
    return z, (ids, caches, cf)


def encode_back(p, dz, cache, g):
    """Adds the encoder's gradients to g, from dz (B,T,D)."""
    ids, caches, cf = cache
    dx, g["lnf_s"], g["lnf_b"] = ln_back(dz, cf)
    for i in reversed(range(data.LAYERS)):
        q, gq = p[f"l{i}"], g[f"l{i}"]
        c1, h, qq, kk, vv, pr, a, c2, h2, u, t, gl = caches[i]
        gq["w2"], gq["b2"] = np.einsum("btf,btd->fd", gl, dx), dx.sum((0, 1))
        dg = dx @ q["w2"].T
        du = dg * (np.float32(0.5) * (1 + t) + np.float32(0.5) * u * (1 - t * t) * C * (1 + np.float32(3 * 0.044715) * u * u))
        gq["w1"], gq["b1"] = np.einsum("btd,btf->df", h2, du), du.sum((0, 1))
        dh2, gq["ln2_s"], gq["ln2_b"] = ln_back(du @ q["w1"].T, c2)
        dx = dx + dh2
        gq["wo"], gq["bo"] = np.einsum("bqhk,bqd->hkd", a, dx), dx.sum((0, 1))
        da = np.einsum("bqd,hkd->bqhk", dx, q["wo"])
        dp = np.einsum("bqhk,bthk->bhqt", da, vv)
        dv = np.einsum("bhqt,bqhk->bthk", pr, da)
        ds = pr * (dp - (dp * pr).sum(-1, keepdims=True)) / np.float32(np.sqrt(HD))  # 0 where masked
        dq = np.einsum("bhqt,bthk->bqhk", ds, kk)
        dk = np.einsum("bhqt,bqhk->bthk", ds, qq)
        dh = 0
        for name, d in (("q", dq), ("k", dk), ("v", dv)):
            gq["w" + name], gq["b" + name] = np.einsum("btd,bthk->dhk", h, d), d.sum((0, 1))
            dh = dh + np.einsum("bthk,dhk->btd", d, q["w" + name])
        dh1, gq["ln1_s"], gq["ln1_b"] = ln_back(dh, c1)
        dx = dx + dh1
    g["pos"] = dx.sum(0)
    np.add.at(g["tok"], ids, dx)  # rows of the table, summed over repeats


def zeros(p):
    return {k: zeros(v) if isinstance(v, dict) else np.zeros_like(v) for k, v in p.items()}


def ce(logits, labels):
    """Per-row cross-entropy and its gradient with respect to the logits."""
    pr = softmax(logits)
    loss = -np.log(pr[np.arange(len(labels)), labels])
    pr[np.arange(len(labels)), labels] -= 1
    return loss, pr


def mlm_grads(p, ids, targets):
    z, cache = encode(p, ids)
    logits = z @ p["tok"].T + p["mlm_b"]
    m = (targets >= 0).reshape(-1)
    loss, d = ce(logits.reshape(-1, logits.shape[-1]), np.maximum(targets, 0).reshape(-1))
    n = max(int(m.sum()), 1)
    d *= (m / np.float32(n))[:, None].astype(np.float32)
    g = zeros(p)
    zf = z.reshape(-1, z.shape[-1])
    g["tok"] += d.T @ zf
    g["mlm_b"] = d.sum(0)
    encode_back(p, (d @ p["tok"]).reshape(z.shape), cache, g)
    return float((loss * m).sum() / n), g


def classify(p, ids):
    return encode(p, ids)[0][:, 0] @ p["cls"]["w"] + p["cls"]["b"]


def cls_grads(p, ids, y):
    z, cache = encode(p, ids)
    loss, d = ce(z[:, 0] @ p["cls"]["w"] + p["cls"]["b"], y)
    d /= len(y)
    g = zeros(p)
    g["cls"] = {"w": z[:, 0].T @ d, "b": d.sum(0)}
    dz = np.zeros_like(z)
    dz[:, 0] = d @ p["cls"]["w"].T
    encode_back(p, dz, cache, g)
    return float(loss.mean()), g


def fine_tune(a, p, x, y):
    train = NumpyTrainer(p, a.lr, cls_grads, x, y)
    tut.train_epochs(a, len(x) // a.batch, train, data.epoch_line)
    return train.p


def main():
    a = data.options("BERT-style sentiment: masked-token pre-training, then fine-tuning (NumPy, gradients by hand)")
    v, px, x, y, xt, yt = data.problem(a)
    p0 = data.init(a.seed, len(v))
    pre = NumpyTrainer(p0, a.lr, mlm_grads, *data.masked(px, a.seed, 0))
    steps = len(px) // a.batch
    with tut.timed("pre-training"):
        for e in range(a.pretrain_epochs):
            pre.x, pre.y = data.masked(px, a.seed, e)
            data.pretrain_line(e, sum(pre(slice(s * a.batch, (s + 1) * a.batch)) for s in range(steps)) / steps)
    tuned = fine_tune(a, pre.p, x, y)
    scratch = fine_tune(a, p0, x, y)
    data.report(classify(tuned, xt), classify(scratch, xt), yt)


main()
