"""sentiment.py: the generated movie-review corpus of the text tutorials (02, 21) and
examples/text_classify, as common/sentiment.c makes it: the same sentences, labels,
vocabulary and token ids. See sentiment.h for the grammar and why order matters."""
import numpy as np

import tut

NOUNS = ["movie", "film", "plot", "acting", "story", "music", "ending", "cast", "script", "dialogue"]
VERBS = ["was", "is"]
NEGATORS = ["not", "never"]
INTENSIFIERS = ["very", "really", "quite", "truly", "so"]
POSITIVE = ["good", "great", "fun", "moving", "brilliant", "charming", "clever", "superb"]
NEGATIVE = ["bad", "boring", "dull", "awful", "weak", "silly", "poor", "terrible"]
PREFIXES = ["honestly ,", "overall ,", "i think", "to be fair ,", "i did not expect much ,",
            "i never read the book ,", "after a long week ,", "in the end ,"]
PER_SENTENCE = 18  # uniforms drawn per sentence
FLIP = 0.05  # the share of labels flipped: reviewers whose words and scores disagree
SPECIALS = ["<pad>", "<unk>", "<cls>", "<mask>"]
PAD, UNK, CLS, MASK = 0, 1, 2, 3


def _pick(u, words):
    return words[int(float(u) * len(words))]


def _clause(u, want=0):
    """u: 7 uniforms -> (words, sentiment +1 or -1); want (+-1) forces the sentiment (the
    adjective's polarity then follows from the negation, and u[5] is not used)."""
    negated = u[2] < 0.35
    pos = u[5] < 0.5 if want == 0 else (want > 0) != negated
    words = ["the", _pick(u[0], NOUNS), _pick(u[1], VERBS)]
    if negated:
        words.append("not" if u[2] < 0.25 else "never")
    if u[3] < 0.4:
        words.append(_pick(u[4], INTENSIFIERS))
    words.append(_pick(u[6], POSITIVE if pos else NEGATIVE))
    return words, (1 if pos else -1) * (-1 if negated else 1)


def corpus(n, seed):
    """(texts: n strings, labels: int32 (n,), 1 positive): sentence i from uniforms
    [18 i, 18 i + 18) of tut.uniform(seed), compared and scaled in double as in C."""
    u = tut.uniform(seed, n * PER_SENTENCE).reshape(n, PER_SENTENCE)
    texts, labels = [], np.empty(n, np.int32)
    for i in range(n):
        r = [float(x) for x in u[i]]
        words = [] if r[1] < 0.4 else _pick(r[16], PREFIXES).split()
        first, s = _clause(r[2:9])
        words += first
        if r[0] >= 0.5:
            second, s = _clause(r[9:16], -s)  # "but" turns: the second clause opposes the first
            words += ["but"] + second
        texts.append(" ".join(words))
        labels[i] = (1 if s > 0 else 0) ^ (1 if r[17] < FLIP else 0)
    return texts, labels


class Vocab:
    """The training texts' words by falling count (ties: alphabetical) after SPECIALS,
    those seen at least min_count times."""

    def __init__(self, texts, min_count=1):
        counts = {}
        for t in texts:
            for w in t.split():
                counts[w] = counts.get(w, 0) + 1
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        self.words = SPECIALS + kept
        self.ids = {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    def encode(self, texts, length, left=True):
        """int32 (len(texts), length): each text's ids, unknown words UNK, padded with PAD
        on the left (left=True, for a recurrent model's last state) or the right; a longer
        text keeps its last `length` tokens."""
        out = np.full((len(texts), length), PAD, np.int32)
        for i, t in enumerate(texts):
            ids = [self.ids.get(w, UNK) for w in t.split()][-length:]
            if left:
                out[i, length - len(ids):] = ids
            else:
                out[i, :len(ids)] = ids
        return out
