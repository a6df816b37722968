"""05_transformer_translation in JAX: the same Transformer (common/transformer.py's
jax_block), jax.value_and_grad and Adam in one jitted step; greedy decoding through a
jitted forward."""
import jax
import jax.numpy as jnp
import numpy as np

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import transformer as tf
import translate
import tut


def make_forward(layers, pos):
    def forward(p, src, tin):
        keys = (src != translate.PAD)[:, None, None, :]
        x = p["src_emb"][src] + pos[:src.shape[1]]
        for l in range(layers):
            x = tf.jax_block(p[f"enc{l}"], x, keys)
        mem = tf.jax_ln(p["enc_ln"], x)
        y = p["tgt_emb"][tin] + pos[:tin.shape[1]]
        causal = jnp.tril(jnp.ones((tin.shape[1], tin.shape[1]), bool))
        for l in range(layers):
            y = tf.jax_block(p[f"dec{l}"], y, causal, mem, keys)
        return tf.jax_ln(p["dec_ln"], y) @ p["out"]["w"] + p["out"]["b"]
    return forward


def main():
    a = data.options("Transformer translation (JAX)")
    src, tgt, vsrc, vtgt, steps = translate.problem(a)
    forward = make_forward(a.layers, jnp.asarray(tf.positions(translate.TGT, data.D)))

    def loss_fn(p, src, tgt):
        return translate.masked_ce(forward(p, src, tgt[:, :-1]), tgt[:, 1:])

    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a)), a.lr, loss_fn, src, tgt, a.batch)
    tut.train_epochs(a, steps, train, translate.line)
    fwd = jax.jit(forward)
    out = translate.greedy(lambda tin: np.asarray(fwd(train.p, vsrc, tin)), len(vsrc))
    translate.report(out, vtgt)


main()
