"""The reviews, masks and initial parameters of 21_bert_sentiment, as bert_sentiment.c
makes them: the same generated reviews (common/sentiment.py), the same masked positions
for the pre-training, the same initial weights."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import sentiment  # noqa: E402
import tut  # noqa: E402

T, D, HEADS, F, LAYERS = 21, 32, 2, 64, 2  # tokens ([cls] + 20), width, heads, MLP width, blocks
HD = D // HEADS
MASK_RATE = 0.15


def options(about):
    def extra(p):
        p.add_argument("--pretrain", type=int, default=4000)
        p.add_argument("--pretrain-epochs", type=int, default=3)
        p.add_argument("--train", type=int, default=1500)
    return tut.parse(about, epochs=5, batch=32, lr=2e-3, extra=extra)


def problem(a):
    """(vocab, unlabelled ids (P,T), labelled ids (N,T), labels, test ids, test labels):
    [cls] then the review, right-padded."""
    if a.quick:
        a.pretrain, a.pretrain_epochs, a.train, a.epochs = 2000, 3, 400, 2
    if a.limit:
        a.train = min(a.train, a.limit)
    texts, y = sentiment.corpus(a.train, a.seed + 1)
    ttexts, ty = sentiment.corpus(1000, a.seed + 2)
    ptexts, _ = sentiment.corpus(a.pretrain, a.seed + 3)
    v = sentiment.Vocab(ptexts)  # the pre-training corpus is the larger: its words

    def enc(t):
        ids = v.encode(t, T - 1, left=False)
        return np.concatenate([np.full((len(t), 1), sentiment.CLS, np.int32), ids], axis=1)
    return v, enc(ptexts), enc(texts), y, enc(ttexts), ty


def masked(ids, seed, epoch):
    """(inputs, targets) of one pre-training epoch: each word is masked with probability
    0.15 (tut.uniform(seed + 100 + epoch) < 0.15), replaced by <mask> in the inputs; the
    targets are the masked words' ids and -1 elsewhere."""
    u = tut.uniform(seed + 100 + epoch, ids.size).reshape(ids.shape)
    m = (u < np.float32(MASK_RATE)) & (ids >= len(sentiment.SPECIALS))
    return np.where(m, sentiment.MASK, ids).astype(np.int32), np.where(m, ids, -1).astype(np.int32)


def init(seed, vocab):
    """{tok (V,D), pos (T,D), l0..: {ln1, att, ln2, mlp1, mlp2}, lnf, mlm_b (V), cls: {w, b}}."""
    def w(s, r, c, scale):
        return tut.weights(seed + s, r, c, scale)

    p = {"tok": w(10, vocab, D, 0.5), "pos": w(11, T, D, 0.1)}
    for i in range(LAYERS):
        s = 20 + 10 * i
        p[f"l{i}"] = {
            "ln1_s": np.ones(D, np.float32), "ln1_b": np.zeros(D, np.float32),
            "wq": w(s, D, D, D ** -0.5).reshape(D, HEADS, HD), "bq": np.zeros((HEADS, HD), np.float32),
            "wk": w(s + 1, D, D, D ** -0.5).reshape(D, HEADS, HD), "bk": np.zeros((HEADS, HD), np.float32),
            "wv": w(s + 2, D, D, D ** -0.5).reshape(D, HEADS, HD), "bv": np.zeros((HEADS, HD), np.float32),
            "wo": w(s + 3, D, D, D ** -0.5).reshape(HEADS, HD, D), "bo": np.zeros(D, np.float32),
            "ln2_s": np.ones(D, np.float32), "ln2_b": np.zeros(D, np.float32),
            "w1": w(s + 4, D, F, D ** -0.5), "b1": np.zeros(F, np.float32),
            "w2": w(s + 5, F, D, F ** -0.5), "b2": np.zeros(D, np.float32),
        }
    p["lnf_s"], p["lnf_b"] = np.ones(D, np.float32), np.zeros(D, np.float32)
    p["mlm_b"] = np.zeros(vocab, np.float32)
    p["cls"] = {"w": w(90, D, 2, D ** -0.5), "b": np.zeros(2, np.float32)}
    return p


def pretrain_line(e, loss):
    print(f"pre-training epoch {e + 1}: mean masked-token loss {loss:.4f}")
    return loss


def epoch_line(e, loss):
    print(f"fine-tuning epoch {e + 1}: mean training loss {loss:.4f}")


def report(pre_logits, scratch_logits, y):
    acc = float((np.asarray(pre_logits).argmax(1) == y).mean())
    base = float((np.asarray(scratch_logits).argmax(1) == y).mean())
    print(f"test accuracy {100 * acc:.2f}% pre-trained and fine-tuned, {100 * base:.2f}% trained from scratch")
    tut.metric("test_accuracy", acc)
