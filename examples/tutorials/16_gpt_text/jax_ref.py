"""16_gpt_text in JAX: the same GPT (common/transformer.py's jax_stack), jax.value_and_grad
and Adam in one jitted step, a jitted forward for the test text and for sampling."""
import jax
import jax.numpy as jnp

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import transformer as tf
import tut


def make_forward(layers, pos):
    def forward(p, x):
        causal = jnp.tril(jnp.ones((x.shape[1], x.shape[1]), bool))
        h = tf.jax_stack(p, "block", layers, p["tok_emb"][x] + pos[:x.shape[1]], causal)
        return h @ p["head"]["w"] + p["head"]["b"]
    return forward


def main():
    a = data.options("Character-level GPT (JAX)")
    c = data.Corpus(a)
    forward = make_forward(a.layers, jnp.asarray(tf.positions(data.CTX, data.D)))

    def loss_fn(p, x, y):
        logits = forward(p, x)
        return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[..., None], -1)[..., 0])

    train = JaxTrainer(jax.tree.map(jnp.asarray, data.init(a, c.vocab)), a.lr, loss_fn, c.x, c.y, a.batch)
    tut.train_epochs(a, c.steps, data.Stepper(train, a.batch), data.line)
    ce = float(jax.jit(loss_fn)(train.p, c.tx, c.ty))
    fwd = jax.jit(forward)
    data.report(c, ce, lambda w: fwd(train.p, w), a.seed)


main()
