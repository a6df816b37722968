"""ctc.py: Connectionist Temporal Classification for the tutorials' Python references, as
common/ctc.h does it in C: the loss by the forward-backward algorithm in log space with its
gradient with respect to the logits (NumPy, by hand), greedy decoding (best path: the
argmax per frame, repeats merged, blanks dropped) and the label error rate (edit distance
over reference length). Blank is class 0; labels (B,L) are padded with 0 after lengths."""
import numpy as np

NEG = np.float32(-1e30)  # log(0) that stays finite, as ctc.c's


def _lse(*xs):
    m = np.maximum.reduce(xs)
    return m + np.log(sum(np.exp(x - m) for x in xs))


def extend(labels):
    """(ext (B,2L+1): blank, l1, blank, l2, ..., blank; skip (B,2L+1) bool: s may be
    reached from s-2, a label differing from the one before it)."""
    b, n = labels.shape
    ext = np.zeros((b, 2 * n + 1), np.int32)
    ext[:, 1::2] = labels
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != 0) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def loss_and_grad(logits, labels, lengths):
    """logits (B,T,C) f32 -> (mean over the batch of -log p(labels | x), d mean / d logits)."""
    b, t, _ = logits.shape
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    ext, skip = extend(labels)
    s = ext.shape[1]
    e = np.take_along_axis(logp, np.broadcast_to(ext[:, None, :], (b, t, s)), 2)  # (B,T,S)
    skipm = np.where(skip, 0, NEG).astype(np.float32)
    alpha = np.empty((t, b, s), np.float32)
    prev = np.full((b, s), NEG, np.float32)
    prev[:, 0] = 0
    for i in range(t):
        sh1 = np.concatenate([np.full((b, 1), NEG, np.float32), prev[:, :-1]], 1)
        sh2 = np.concatenate([np.full((b, 2), NEG, np.float32), prev[:, :-2]], 1) + skipm
        prev = alpha[i] = _lse(prev, sh1, sh2) + e[:, i]
    pos = np.arange(s)[None, :]
    final = np.where((pos == 2 * lengths[:, None]) | (pos == 2 * lengths[:, None] - 1), 0, NEG).astype(np.float32)
    a = alpha[-1] + final
    m = a.max(1)
    ll = m + np.log(np.exp(a - m[:, None]).sum(1))  # log p(labels | x) per sequence
    # beta_t(s): log p of the frames after t given state s at t (without t's emission)
    beta = np.empty((t, b, s), np.float32)
    nxt = final
    skipn = np.concatenate([skipm[:, 2:], np.full((b, 2), NEG, np.float32)], 1)  # may s+2 be reached from s
    for i in range(t - 1, -1, -1):
        beta[i] = nxt
        if i:
            v = nxt + e[:, i]
            sh1 = np.concatenate([v[:, 1:], np.full((b, 1), NEG, np.float32)], 1)
            sh2 = np.concatenate([v[:, 2:], np.full((b, 2), NEG, np.float32)], 1) + skipn
            nxt = _lse(v, sh1, sh2)
    gamma = np.exp(alpha + beta - ll[None, :, None]).transpose(1, 0, 2)  # (B,T,S) state occupancy
    onehot = (ext[:, :, None] == np.arange(logits.shape[2])[None, None, :]).astype(np.float32)
    grad = (np.exp(logp) - gamma @ onehot) / b
    return float(-ll.mean()), grad.astype(np.float32)


def greedy(logits):
    """Best-path decoding of logits (B,T,C): a list of B label lists."""
    out = []
    for path in logits.argmax(-1):
        seq, prev = [], 0
        for k in path:
            if k != prev and k != 0:
                seq.append(int(k))
            prev = k
        out.append(seq)
    return out


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
    return d[len(b)]


def label_error_rate(decoded, labels, lengths):
    """Total edit distance of the decoded sequences to the references over their total length."""
    err = sum(edit_distance(d, list(labels[i, :lengths[i]])) for i, d in enumerate(decoded))
    return err / float(lengths.sum())
