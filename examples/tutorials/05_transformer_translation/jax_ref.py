"""05_transformer_translation in JAX: the same Transformer (common/transformer.py's
jax_stack), jax.value_and_grad and Adam in one jitted step; greedy decoding through a
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
        mem = tf.jax_stack(p, "enc", layers, p["src_emb"][src] + pos[:src.shape[1]], keys)
        causal = jnp.tril(jnp.ones((tin.shape[1], tin.shape[1]), bool))
        y = tf.jax_stack(p, "dec", layers, p["tgt_emb"][tin] + pos[:tin.shape[1]], causal, mem, keys)
        return y @ p["out"]["w"] + p["out"]["b"]
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
