"""The sentence pairs, options and initial parameters of 05_transformer_translation, as
transformer_translation.c makes them."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import transformer  # noqa: E402
import translate  # noqa: E402
import tut  # noqa: E402

D, HEADS, FF = 64, 4, 128


def options(about):
    return translate.options(about, 2e-3, lambda p: p.add_argument("--layers", type=int, default=1))


def init(a):
    """init_params of the C program: the same tree, the same numbers."""
    s, v = a.seed + 10, translate.VOCAB
    p = {"src_emb": tut.weights(s, v, D, 1.0), "tgt_emb": tut.weights(s + 1, v, D, 1.0)}
    transformer.stack_init(p, "enc", a.layers, D, HEADS, FF, False, s + 100)
    transformer.stack_init(p, "dec", a.layers, D, HEADS, FF, True, s + 200)
    p["out"] = {"w": transformer.kernel(s + 2, D, v), "b": np.zeros(v, np.float32)}
    return p

