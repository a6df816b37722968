"""gru.py: a GRU layer in NumPy with its backward pass through time written by hand, for
the tutorials' NumPy references (11_speech_ctc, 22_image_captioning): flax's GRUCell
(gates r, z, n fused, order r z n) without a recurrent bias, as jx_nn_rnn runs it with
bh = JX_NONE. Parameters {wi (I,3H), bi (3H), wh (H,3H)}."""
import numpy as np


def _sig(z):
    return 1 / (1 + np.exp(-z))


def forward(p, x, reverse=False, h0=None):
    """x (B,T,I) -> (outputs h_t (B,T,H) in input order, cache for backward)."""
    b, t = x.shape[:2]
    hdim = p["wh"].shape[0]
    xp = x @ p["wi"] + p["bi"]
    h = np.zeros((b, hdim), np.float32) if h0 is None else h0
    hs, cache = np.empty((b, t, hdim), np.float32), []
    for i in (range(t - 1, -1, -1) if reverse else range(t)):
        hh = h @ p["wh"]
        r = _sig(xp[:, i, :hdim] + hh[:, :hdim])
        z = _sig(xp[:, i, hdim:2 * hdim] + hh[:, hdim:2 * hdim])
        n = np.tanh(xp[:, i, 2 * hdim:] + r * hh[:, 2 * hdim:])
        cache.append((i, h, hh, r, z, n))
        h = hs[:, i] = (1 - z) * n + z * h
    return hs, cache


def backward(p, x, cache, dhs):
    """From dhs (B,T,H), the loss's gradient on the outputs: (parameter gradients, dx
    (B,T,I), dh0 (B,H))."""
    hdim = p["wh"].shape[0]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dxp = np.empty(x.shape[:2] + (3 * hdim,), np.float32)
    dh = np.zeros_like(dhs[:, 0])
    for i, hp, hh, r, z, n in reversed(cache):
        dh = dh + dhs[:, i]
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hh[:, 2 * hdim:] * r * (1 - r)
        dz = dh * (hp - n) * z * (1 - z)
        dxp[:, i] = np.concatenate([dr, dz, dn], 1)
        dhh = np.concatenate([dr, dz, dn * r], 1)
        g["wh"] += hp.T @ dhh
        dh = dh * z + dhh @ p["wh"].T
    flat = dxp.reshape(-1, 3 * hdim)
    g["wi"], g["bi"] = x.reshape(-1, x.shape[2]).T @ flat, flat.sum(0)
    return g, dxp @ p["wi"].T, dh
