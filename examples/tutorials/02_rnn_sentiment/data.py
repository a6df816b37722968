"""The reviews, token ids and initial parameters of 02_rnn_sentiment, as
rnn_sentiment.c makes them."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import sentiment  # noqa: E402
import tut  # noqa: E402

T, E, H = 20, 16, 32  # tokens per review (left-padded), embedding size, GRU units


def options(about):
    return tut.parse(about, epochs=5, batch=64, lr=1e-2,
                     extra=lambda p: p.add_argument("--train", type=int, default=4000))


def problem(a):
    """(vocab, train ids (N,T), labels, test ids, labels); --quick and --limit as the C
    program applies them."""
    if a.quick:
        a.epochs, a.train = 3, 2000
    if a.limit:
        a.train = min(a.train, a.limit)
    texts, y = sentiment.corpus(a.train, a.seed + 1)
    ttexts, ty = sentiment.corpus(1000, a.seed + 2)
    v = sentiment.Vocab(texts)
    return v, v.encode(texts, T), y, v.encode(ttexts, T), ty


def init(seed, vocab):
    """{emb (V,E), gru: {wi (E,3H), bi, wh (H,3H), bh}, head: {w (H,2), b}}."""
    return {
        "emb": tut.weights(seed + 10, vocab, E, 1.0),
        "wi": tut.weights(seed + 11, E, 3 * H, 1 / np.sqrt(E)),
        "bi": np.zeros(3 * H, np.float32),
        "wh": tut.weights(seed + 12, H, 3 * H, 1 / np.sqrt(H)),
        "bh": np.zeros(3 * H, np.float32),
        "hw": tut.weights(seed + 13, H, 2, 1 / np.sqrt(H)),
        "hb": np.zeros(2, np.float32),
    }


def epoch_line(e, loss):
    print(f"epoch {e + 1}: mean training loss {loss:.4f}")


def report(logits, y):
    acc = float((np.asarray(logits).argmax(1) == y).mean())
    print(f"test accuracy {100 * acc:.2f}% over {len(y)} reviews")
    tut.metric("test_accuracy", acc)
    return acc
