"""11_speech_ctc in NumPy: the same 1-D convolution (as im2col and a matmul), bidirectional
GRU (common/gru.py) and dense layer, their backward passes written by hand, the CTC loss and
its gradient by the forward-backward algorithm (common/ctc.py), and Adam as Optax computes
it (common/optim.py)."""
import numpy as np

import data  # first: it puts ../common on the path
import ctc  # noqa: I100
import gru
from fit import numpy_fit

H, F, KW, CONV = data.H, data.F, data.KW, data.CONV


def im2col(x):
    """x (B,T,F) -> (B,T,KW*F): the SAME-padded windows, ordered (k, f) as the kernel."""
    t, pad = x.shape[1], (KW - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, KW - 1 - pad), (0, 0)))
    return np.concatenate([xp[:, k:k + t] for k in range(KW)], -1)


def forward(p, x):
    cols = im2col(x)
    a = cols @ p["conv"] + p["conv_b"]
    h = np.maximum(a, 0)
    hf, cf = gru.forward(p["fwd"], h)
    hb, cb = gru.forward(p["bwd"], h, reverse=True)
    hc = np.concatenate([hf, hb], -1)
    return hc @ p["out_w"] + p["out_b"], (cols, a, h, cf, cb, hc)


def grads(p, x, labels, lengths):
    logits, (cols, a, h, cf, cb, hc) = forward(p, x)
    loss, dlogits = ctc.loss_and_grad(logits, labels, lengths)
    g = {"out_w": hc.reshape(-1, 2 * H).T @ dlogits.reshape(-1, data.C), "out_b": dlogits.sum((0, 1))}
    dhc = dlogits @ p["out_w"].T
    g["fwd"], dh1, _ = gru.backward(p["fwd"], h, cf, dhc[..., :H])
    g["bwd"], dh2, _ = gru.backward(p["bwd"], h, cb, dhc[..., H:])
    da = ((dh1 + dh2) * (a > 0)).reshape(-1, CONV)
    g["conv"], g["conv_b"] = cols.reshape(-1, KW * F).T @ da, da.sum(0)
    return loss, g


def main():
    a = data.options("Speech recognition with CTC (NumPy, backpropagation through time by hand)")
    (x, lab, ln), (xt, labt, lnt), steps = data.problem(a)
    p = numpy_fit(a, data.init(a.seed), grads, (x, lab, ln), steps, "CTC loss")
    data.report(ctc.greedy(forward(p, xt)[0]), labt, lnt)


main()
