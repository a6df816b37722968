"""11_speech_ctc in JAX: the same 1-D convolution, bidirectional GRU (two lax.scans) and
dense layer, optax.ctc_loss, jax.value_and_grad and Adam (Optax's formulas) in one jitted
step; greedy decoding on the host."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

import data  # first: it puts ../common on the path
import ctc  # noqa: I100
from fit import jax_fit

H, F, KW, CONV = data.H, data.F, data.KW, data.CONV


def gru(p, x, reverse):
    """x (B,T,I) -> (B,T,H), flax's GRUCell without a recurrent bias."""
    xp = x @ p["wi"] + p["bi"]

    def cell(h, xt):
        hh = h @ p["wh"]
        r = jax.nn.sigmoid(xt[:, :H] + hh[:, :H])
        z = jax.nn.sigmoid(xt[:, H:2 * H] + hh[:, H:2 * H])
        n = jnp.tanh(xt[:, 2 * H:] + r * hh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h, h

    _, hs = jax.lax.scan(cell, jnp.zeros((x.shape[0], H), x.dtype), jnp.swapaxes(xp, 0, 1), reverse=reverse)
    return jnp.swapaxes(hs, 0, 1)


def logits_fn(p, x):
    w = p["conv"].reshape(KW, 1, F, CONV)
    h = jax.lax.conv_general_dilated(x[:, :, None, :], w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    h = jax.nn.relu(h[:, :, 0, :] + p["conv_b"])
    h = jnp.concatenate([gru(p["fwd"], h, False), gru(p["bwd"], h, True)], -1)
    return h @ p["out_w"] + p["out_b"]


def loss_fn(p, x, labels, lengths):
    pad = (jnp.arange(labels.shape[1])[None, :] >= lengths[:, None]).astype(jnp.float32)
    logits = logits_fn(p, x)
    return optax.ctc_loss(logits, jnp.zeros(logits.shape[:2]), labels, pad).mean()


def main():
    a = data.options("Speech recognition with CTC (JAX)")
    (x, lab, ln), (xt, labt, lnt), steps = data.problem(a)
    p = jax_fit(a, data.init(a.seed), loss_fn, (x, lab, ln), steps, "CTC loss")
    data.report(ctc.greedy(np.asarray(jax.jit(logits_fn)(p, xt))), labt, lnt)


main()
