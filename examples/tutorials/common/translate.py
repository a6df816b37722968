"""translate.py: common/translate.h's synthetic translation task for the Python
references of tutorials 05 and 25: the same sentence pairs from the same stream, greedy
decoding and the token accuracy."""
import numpy as np

import tut

PAD, BOS, EOS = 0, 1, 2
NOUNS, VERBS, ADJS = 12, 6, 10
NOUN0, VERB0 = 3, 3 + NOUNS
ADJ0 = VERB0 + VERBS
PART0 = ADJ0 + ADJS
VOCAB, SRC, TGT = PART0 + 2, 8, 11
TD = TGT - 1


def _pick(u, n):
    return int(float(u) * n)


def _phrase(u):
    na = _pick(u[0], 3)
    adj = [ADJ0 + _pick(u[1], ADJS), ADJ0 + _pick(u[2], ADJS)][:na]
    noun = NOUN0 + _pick(u[3], NOUNS)
    return adj + [noun], [noun] + adj[::-1]


def generate(seed, n):
    """(src (n, SRC), tgt (n, TGT)) int32, as tr_generate."""
    u = tut.uniform(seed, 9 * n).reshape(n, 9)
    src, tgt = np.zeros((n, SRC), np.int32), np.zeros((n, TGT), np.int32)
    for k in range(n):
        s1, t1 = _phrase(u[k, :4])
        s2, t2 = _phrase(u[k, 5:])
        verb = VERB0 + _pick(u[k, 4], VERBS)
        s = s1 + [verb] + s2 + [EOS]
        t = [BOS] + t2 + [PART0] + t1 + [PART0 + 1, verb, EOS]
        src[k, :len(s)], tgt[k, :len(t)] = s, t
    return src, tgt


def greedy(logits_fn, n):
    """tr_greedy: logits_fn(decoder inputs (n, TD)) -> logits (n, TD, VOCAB), called TD times."""
    inp = np.zeros((n, TD), np.int32)
    inp[:, 0] = BOS
    out = np.zeros((n, TD), np.int32)
    for t in range(TD):
        out[:, t] = np.asarray(logits_fn(inp))[:, t].argmax(-1)
        if t + 1 < TD:
            inp[:, t + 1] = out[:, t]
    return out


def accuracy(out, tgt):
    """(token accuracy, share of whole sentences right) as tr_accuracy."""
    ref = tgt[:, 1:]
    keep = ref != PAD
    right = (out == ref) & keep
    return right.sum() / keep.sum(), float(np.mean((right | ~keep).all(1)))


def report(out, tgt):
    acc, exact = accuracy(out, tgt)
    print(f"greedy decoding of {len(tgt)} test sentences: token accuracy {100 * acc:.2f}%, "
          f"whole sentences right {100 * exact:.2f}%")
    tut.metric("token_accuracy", acc)
