"""25_seq2seq_attention in JAX: the same GRUs as lax.scan, the attention in jnp,
jax.value_and_grad and Adam in one jitted step; greedy decoding through a jitted forward."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
from transformer import LOWEST
import translate
import tut

H = data.H


def gru(p, x, h, reverse=False):
    """x (B,T,I), initial h (B,H) -> (outputs (B,T,H) in input order, final h)."""
    gx = x @ p["wi"] + p["bi"]

    def cell(h, g):
        gh = h @ p["wh"] + p["bh"]
        r, z = jax.nn.sigmoid(g[:, :H] + gh[:, :H]), jax.nn.sigmoid(g[:, H:2 * H] + gh[:, H:2 * H])
        n = jnp.tanh(g[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h, h

    h, hs = jax.lax.scan(cell, h, jnp.swapaxes(gx, 0, 1), reverse=reverse)
    return jnp.swapaxes(hs, 0, 1), h


def forward(p, src, tin):
    zero = jnp.zeros((src.shape[0], H), jnp.float32)
    es = p["src_emb"][src]
    hf, last = gru(p["enc_f"], es, zero)
    hb, _ = gru(p["enc_b"], es, zero, reverse=True)
    enc = jnp.concatenate([hf, hb], -1)
    dec, _ = gru(p["dec"], p["tgt_emb"][tin], last)
    s = jnp.where((src != translate.PAD)[:, None, :], jnp.einsum("btd,bsd->bts", dec @ p["attn"]["w"], enc), LOWEST)
    ctx = jnp.einsum("bts,bsd->btd", jax.nn.softmax(s, -1), enc)
    o = jnp.tanh(jnp.concatenate([ctx, dec], -1) @ p["comb"]["w"] + p["comb"]["b"])
    return o @ p["out"]["w"] + p["out"]["b"]


def loss_fn(p, src, tgt):
    return translate.masked_ce(forward(p, src, tgt[:, :-1]), tgt[:, 1:])


def main():
    a = data.options("Seq2seq translation with attention (JAX)")
    src, tgt, vsrc, vtgt, steps = translate.problem(a)
    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a)), a.lr, loss_fn, src, tgt, a.batch)
    tut.train_epochs(a, steps, train, translate.line)
    fwd = jax.jit(forward)
    translate.report(translate.greedy(lambda tin: np.asarray(fwd(train.p, vsrc, tin)), len(vsrc)), vtgt)


main()
