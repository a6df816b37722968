"""The options and initial parameters of 25_seq2seq_attention, as seq2seq_attention.c
makes them (the sentence pairs: common/translate.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import translate  # noqa: E402
from transformer import kernel  # noqa: E402  normal / sqrt(fan in), as tfm_kernel
import tut  # noqa: E402

E, H = 32, 64


def options(about):
    return translate.options(about, 3e-3)


def _gru(seed):
    return {"wi": kernel(seed, E, 3 * H), "bi": np.zeros(3 * H, np.float32),
            "wh": kernel(seed + 1, H, 3 * H), "bh": np.zeros(3 * H, np.float32)}


def init(a):
    s, v = a.seed + 10, translate.VOCAB
    return {"src_emb": tut.weights(s, v, E, 1.0), "tgt_emb": tut.weights(s + 1, v, E, 1.0),
            "enc_f": _gru(s + 2), "enc_b": _gru(s + 4), "dec": _gru(s + 6),
            "attn": {"w": kernel(s + 8, H, 2 * H)},
            "comb": {"w": kernel(s + 9, 3 * H, H), "b": np.zeros(H, np.float32)},
            "out": {"w": kernel(s + 10, H, v), "b": np.zeros(v, np.float32)}}
