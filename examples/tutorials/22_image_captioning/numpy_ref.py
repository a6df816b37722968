"""22_image_captioning in NumPy: the same encoder (its stride-equals-kernel convolutions as
patch reshapes and matmuls), GRU decoder under teacher forcing (common/gru.py) and masked
cross-entropy, the backward pass written by hand, and Adam as Optax computes it
(common/optim.py); greedy decoding one word at a time."""
import numpy as np

import data  # first: it puts ../common on the path
import gru  # noqa: I100
from fit import numpy_fit

H, L, V = data.H, data.L, data.V


def patches(x, k):
    """x (B,N,N,C) -> (B,N/k,N/k,k*k*C): the non-overlapping k x k windows, ordered (ky, kx, c)
    as an HWIO kernel; unpatch is its inverse."""
    b, n, _, c = x.shape
    return x.reshape(b, n // k, k, n // k, k, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, n // k, n // k, k * k * c)


def unpatch(d, k, c):
    b, m = d.shape[:2]
    return d.reshape(b, m, m, k, k, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, m * k, m * k, c)


def encode(p, x):
    p1 = patches(x, 4)
    a1 = p1 @ p["conv1"] + p["conv1_b"]
    p2 = patches(np.maximum(a1, 0), 2)
    a2 = p2 @ p["conv2"] + p["conv2_b"]
    f = np.maximum(a2, 0).reshape(len(x), -1)
    return np.tanh(f @ p["enc"] + p["enc_b"]), (p1, a1, p2, a2, f)


def grads(p, x, inputs, targets):
    h0, (p1, a1, p2, a2, f) = encode(p, x)
    emb = p["embed"][inputs]
    hs, cache = gru.forward(p["gru"], emb, h0=h0)
    logits = hs @ p["out_w"] + p["out_b"]
    z = logits - logits.max(-1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    mask = (targets != data.PAD).astype(np.float32)
    n = mask.sum()
    picked = np.take_along_axis(prob, targets[..., None], -1)[..., 0]
    loss = float(-(np.log(picked) * mask).sum() / n)
    dlog = prob.copy()
    np.put_along_axis(dlog, targets[..., None], np.take_along_axis(dlog, targets[..., None], -1) - 1, -1)
    dlog *= mask[..., None] / n
    g = {"out_w": hs.reshape(-1, H).T @ dlog.reshape(-1, V), "out_b": dlog.sum((0, 1))}
    g["gru"], demb, dh0 = gru.backward(p["gru"], emb, cache, dlog @ p["out_w"].T)
    g["embed"] = np.zeros_like(p["embed"])
    np.add.at(g["embed"], inputs.reshape(-1), demb.reshape(-1, data.E))
    da = dh0 * (1 - h0 * h0)
    g["enc"], g["enc_b"] = f.T @ da, da.sum(0)
    da2 = (da @ p["enc"].T).reshape(a2.shape) * (a2 > 0)
    g["conv2"], g["conv2_b"] = p2.reshape(-1, 64).T @ da2.reshape(-1, 32), da2.sum((0, 1, 2))
    da1 = unpatch(da2 @ p["conv2"].T, 2, 16) * (a1 > 0)
    g["conv1"], g["conv1_b"] = p1.reshape(-1, 48).T @ da1.reshape(-1, 16), da1.sum((0, 1, 2))
    return loss, g


def greedy(p, x):
    h, _ = encode(p, x)
    g, w, out = p["gru"], np.full(len(x), data.BOS), []
    for _ in range(L):
        h = gru.forward(g, p["embed"][w][:, None], h0=h)[0][:, 0]
        w = np.argmax(h @ p["out_w"] + p["out_b"], -1)
        out.append(w)
    return np.stack(out, 1)


def main():
    a = data.options("Image captioning: CNN encoder, GRU decoder (NumPy, backward pass by hand)")
    (x, cap), (xt, capt), steps = data.problem(a)
    p = numpy_fit(a, data.init(a.seed), grads, (x, data.teacher(cap), cap), steps, "cross-entropy")
    data.report(greedy(p, xt), capt)


main()
