"""21_bert_sentiment in JAX: the same pre-LN encoder (Flax's attention and layer-norm
formulas), masked-token pre-training with the embedding tied to the output, then
fine-tuning on [cls]; jax.value_and_grad and Adam (Optax's formulas, common/optim.py),
each step jitted."""
import jax
import jax.numpy as jnp
import optax

import data  # first: it puts ../common on the path
from optim import JaxTrainer  # noqa: I100
import sentiment
import tut

D, HD = data.D, data.HD


def ln(x, s, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) * jax.lax.rsqrt(v + 1e-6) * s + b


def encode(p, ids):
    """(B,T) ids -> (B,T,D) states."""
    x = p["tok"][ids] + p["pos"]
    keep = (ids != sentiment.PAD)[:, None, None, :]  # (B,1,1,T): no attention to padding
    for i in range(data.LAYERS):
        q = p[f"l{i}"]
        h = ln(x, q["ln1_s"], q["ln1_b"])
        qq = jnp.einsum("btd,dhk->bthk", h, q["wq"]) + q["bq"]
        kk = jnp.einsum("btd,dhk->bthk", h, q["wk"]) + q["bk"]
        vv = jnp.einsum("btd,dhk->bthk", h, q["wv"]) + q["bv"]
        s = jnp.einsum("bqhk,bthk->bhqt", qq, kk) / jnp.sqrt(HD)
        s = jnp.where(keep, s, jnp.finfo(jnp.float32).min)
        a = jnp.einsum("bhqt,bthk->bqhk", jax.nn.softmax(s, -1), vv)
        x = x + jnp.einsum("bqhk,hkd->bqd", a, q["wo"]) + q["bo"]
        h = ln(x, q["ln2_s"], q["ln2_b"])
        x = x + jax.nn.gelu(h @ q["w1"] + q["b1"]) @ q["w2"] + q["b2"]
    return ln(x, p["lnf_s"], p["lnf_b"])


def mlm_loss(p, ids, targets):
    logits = encode(p, ids) @ p["tok"].T + p["mlm_b"]  # the output tied to the embedding
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(targets, 0))
    m = targets >= 0
    return jnp.sum(jnp.where(m, ce, 0)) / jnp.maximum(m.sum(), 1)


def classify(p, ids):
    return encode(p, ids)[:, 0] @ p["cls"]["w"] + p["cls"]["b"]


def cls_loss(p, ids, y):
    return optax.softmax_cross_entropy_with_integer_labels(classify(p, ids), y).mean()


def fine_tune(a, p, x, y):
    train = JaxTrainer(p, a.lr, cls_loss, x, y, a.batch)
    tut.train_epochs(a, len(x) // a.batch, train, data.epoch_line)
    return train.p


def main():
    a = data.options("BERT-style sentiment: masked-token pre-training, then fine-tuning (JAX)")
    v, px, x, y, xt, yt = data.problem(a)
    p0 = jax.tree_util.tree_map(jnp.asarray, data.init(a.seed, len(v)))
    inputs, targets = data.masked(px, a.seed, 0)
    pre = JaxTrainer(p0, a.lr, mlm_loss, inputs, targets, a.batch)
    with tut.timed("pre-training"):
        for e in range(a.pretrain_epochs):
            pre.x, pre.y = data.masked(px, a.seed, e)
            total = sum(float(pre(slice(s * a.batch, (s + 1) * a.batch))) for s in range(len(px) // a.batch))
            data.pretrain_line(e, total / (len(px) // a.batch))
    tuned = fine_tune(a, pre.p, x, y)
    scratch = fine_tune(a, p0, x, y)
    data.report(jax.jit(classify)(tuned, xt), jax.jit(classify)(scratch, xt), yt)


if __name__ == "__main__":
    main()
