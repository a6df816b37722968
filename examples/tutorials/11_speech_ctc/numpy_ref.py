"""11_speech_ctc in NumPy: the same 1-D convolution (as im2col and a matmul), bidirectional
GRU and dense layer, their backward passes through time written by hand, the CTC loss and
its gradient by the forward-backward algorithm (common/ctc.py), and Adam as Optax computes
it (common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
import ctc  # noqa: I100
from optim import NumpyAdam
import tut

H, F, KW, CONV = data.H, data.F, data.KW, data.CONV


def sig(z):
    return 1 / (1 + np.exp(-z))


def im2col(x):
    """x (B,T,F) -> (B,T,KW*F): the SAME-padded windows, ordered (k, f) as the kernel."""
    t, pad = x.shape[1], (KW - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, KW - 1 - pad), (0, 0)))
    return np.concatenate([xp[:, k:k + t] for k in range(KW)], -1)


def gru(p, x, reverse):
    """x (B,T,I) -> (outputs (B,T,H), cache for gru_back)."""
    b, t = x.shape[:2]
    xp = x @ p["wi"] + p["bi"]
    h = np.zeros((b, H), np.float32)
    hs, cache = np.empty((b, t, H), np.float32), []
    for i in (range(t - 1, -1, -1) if reverse else range(t)):
        hh = h @ p["wh"]
        r = sig(xp[:, i, :H] + hh[:, :H])
        z = sig(xp[:, i, H:2 * H] + hh[:, H:2 * H])
        n = np.tanh(xp[:, i, 2 * H:] + r * hh[:, 2 * H:])
        cache.append((i, h, hh, r, z, n))
        h = hs[:, i] = (1 - z) * n + z * h
    return hs, cache


def gru_back(p, x, cache, dhs):
    """Gradients of the GRU's parameters and its input x from dhs (B,T,H)."""
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dxp = np.empty(x.shape[:2] + (3 * H,), np.float32)
    dh = np.zeros_like(dhs[:, 0])
    for i, hp, hh, r, z, n in reversed(cache):
        dh = dh + dhs[:, i]
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hh[:, 2 * H:] * r * (1 - r)
        dz = dh * (hp - n) * z * (1 - z)
        dxp[:, i] = np.concatenate([dr, dz, dn], 1)
        dhh = np.concatenate([dr, dz, dn * r], 1)
        g["wh"] += hp.T @ dhh
        dh = dh * z + dhh @ p["wh"].T
    flat = dxp.reshape(-1, 3 * H)
    g["wi"], g["bi"] = x.reshape(-1, x.shape[2]).T @ flat, flat.sum(0)
    return g, dxp @ p["wi"].T


def forward(p, x):
    cols = im2col(x)
    a = cols @ p["conv"] + p["conv_b"]
    h = np.maximum(a, 0)
    hf, cf = gru(p["fwd"], h, False)
    hb, cb = gru(p["bwd"], h, True)
    hc = np.concatenate([hf, hb], -1)
    return hc @ p["out_w"] + p["out_b"], (cols, a, h, cf, cb, hc)


def grads(p, x, labels, lengths):
    logits, (cols, a, h, cf, cb, hc) = forward(p, x)
    loss, dlogits = ctc.loss_and_grad(logits, labels, lengths)
    g = {"out_w": hc.reshape(-1, 2 * H).T @ dlogits.reshape(-1, data.C), "out_b": dlogits.sum((0, 1))}
    dhc = dlogits @ p["out_w"].T
    g["fwd"], dh1 = gru_back(p["fwd"], h, cf, dhc[..., :H])
    g["bwd"], dh2 = gru_back(p["bwd"], h, cb, dhc[..., H:])
    da = ((dh1 + dh2) * (a > 0)).reshape(-1, CONV)
    g["conv"], g["conv_b"] = cols.reshape(-1, KW * F).T @ da, da.sum(0)
    return loss, g


def main():
    a = data.options("Speech recognition with CTC (NumPy, backpropagation through time by hand)")
    (x, lab, ln), (xt, labt, lnt), steps = data.problem(a)
    p = data.init(a.seed)
    adam = NumpyAdam(p, a.lr)

    def train(sl):
        nonlocal p
        loss, g = grads(p, x[sl], lab[sl], ln[sl])
        p = adam(p, g)
        return loss

    tut.train_epochs(a, steps, train, lambda e, m: print(f"epoch {e + 1}: mean CTC loss {m:.4f}"))
    data.report(ctc.greedy(forward(p, xt)[0]), labt, lnt)


main()
