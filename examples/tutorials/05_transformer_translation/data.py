"""The sentence pairs, options and initial parameters of 05_transformer_translation, as
transformer_translation.c makes them."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import transformer  # noqa: E402
import translate  # noqa: E402
import tut  # noqa: E402

D, HEADS, FF = 64, 4, 128


def options(about):
    def extra(p):
        p.add_argument("--pairs", type=int, default=6400)
        p.add_argument("--layers", type=int, default=1)
    a = tut.parse(about, epochs=2, batch=64, lr=2e-3, extra=extra)
    if a.quick:
        a.pairs, a.epochs = 2560, 2
    if 0 < a.limit < a.pairs:
        a.pairs = a.limit
    return a


def problem(a):
    """(train src, train tgt, test src, test tgt, steps per epoch)."""
    src, tgt = translate.generate(a.seed + 1, a.pairs)
    vsrc, vtgt = translate.generate(a.seed + 2, 200 if a.quick else 1000)
    print(f"{a.pairs} training pairs, {len(vsrc)} test pairs")
    return src, tgt, vsrc, vtgt, a.pairs // a.batch


def init(a):
    """init_params of the C program: the same tree, the same numbers."""
    s, v = a.seed + 10, translate.VOCAB
    p = {"src_emb": tut.weights(s, v, D, 1.0), "tgt_emb": tut.weights(s + 1, v, D, 1.0)}
    for l in range(a.layers):
        p[f"enc{l}"] = transformer.block_init(D, HEADS, FF, False, s + 100 + 16 * l)
        p[f"dec{l}"] = transformer.block_init(D, HEADS, FF, True, s + 200 + 16 * l)
    p["enc_ln"], p["dec_ln"] = transformer.ln_init(D), transformer.ln_init(D)
    p["out"] = {"w": transformer.kernel(s + 2, D, v), "b": tut.np.zeros(v, tut.np.float32)}
    return p


def line(e, loss):
    print(f"epoch {e + 1}: mean train cross-entropy {loss:.4f}")
