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


def options(about, lr, extra=None):
    """The translation tutorials' options: --pairs (6,400 training pairs), 2 epochs of
    batches of 64; --quick 2,560 pairs; --limit caps the pairs."""
    def more(p):
        p.add_argument("--pairs", type=int, default=6400)
        if extra:
            extra(p)
    a = tut.parse(about, epochs=2, batch=64, lr=lr, extra=more)
    if a.quick:
        a.pairs, a.epochs = 2560, 2
    if 0 < a.limit < a.pairs:
        a.pairs = a.limit
    return a


def problem(a):
    """(train src, train tgt, test src, test tgt, steps per epoch), as the C programs draw them."""
    src, tgt = generate(a.seed + 1, a.pairs)
    vsrc, vtgt = generate(a.seed + 2, 200 if a.quick else 1000)
    print(f"{a.pairs} training pairs, {len(vsrc)} test pairs")
    return src, tgt, vsrc, vtgt, a.pairs // a.batch


def line(e, loss):
    print(f"epoch {e + 1}: mean train cross-entropy {loss:.4f}")


def masked_ce(logits, tgt_out):
    """JAX: jx_loss_softmax_ce_int_mean with PAD ignored."""
    import jax
    import jax.numpy as jnp
    ce = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, tgt_out[..., None], -1)[..., 0]
    keep = tgt_out != PAD
    return jnp.sum(ce * keep) / jnp.maximum(keep.sum(), 1)


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
